"""Saved mappings: what a profile may hold, which mapping an import takes, and when headers match."""

from __future__ import annotations

import pytest

from contacts_import.errors import InvalidOptions
from contacts_import.models import ImportOptions
from contacts_import.profiles import MappingProfile, apply_profile, checked_profile, matching_profile


def _profile(name: str, mapping: dict[str, str], **options: object) -> MappingProfile:
    return MappingProfile(name=name, mapping=mapping, options=options, created_at="t", updated_at="t")


def test_a_profile_is_checked_as_an_import_checks_its_options():
    mapping, options = checked_profile({"mapping": {"Handy": "mobile", "Wer": "name"}, "options": {"tags": "a,b"}})
    assert mapping == {"Handy": "phone", "Wer": "name"} and options == {"tags": ["a", "b"]}
    for body in (
        {"mapping": {"Handy": "favourite_colour"}},
        {"mapping": {}},
        {"mapping": {"a": "phone", " a": "name"}},
        {"mapping": {"a": "phone"}, "options": {"list_id": "x"}},
        {"mapping": {"a": "phone"}, "options": {"update_existing": True}},  # their name, not ours
        {"mapping": {"a": "phone"}, "options": None},
        {"mapping": {"a": "phone"}, "extra": 1},
        [],
    ):
        with pytest.raises(InvalidOptions):
            checked_profile(body)


def test_precedence_explicit_mapping_then_the_profile_then_detection():
    profile = _profile("p", {"Tel": "phone", "Who": "name"}, tags=["p"], on_existing="update")
    taken = apply_profile(ImportOptions.parse({"list_id": "l"}), profile)
    assert taken.mapping == {"Tel": "phone", "Who": "name"} and taken.tags == ("p",)
    assert (taken.on_existing, taken.list_id, taken.mapping_profile) == ("update", "l", "p")
    mine = apply_profile(ImportOptions.parse({"mapping": {"Who": "company"}, "on_existing": "skip"}), profile)
    assert mine.mapping == {"Who": "company"} and mine.on_existing == "skip"  # what the request says wins
    matched = apply_profile(ImportOptions(), _profile("q", {"Tel": "phone"}, delimiter=";"), matched=True)
    assert matched.delimiter is None  # a file matched by its headers keeps detection's reading


def test_headers_match_exactly_in_any_order():
    profiles = [_profile("b", {"Tel": "phone", "Who": "name"}), _profile("a", {"\ufeffWho ": "name", "Tel": "phone"})]
    assert matching_profile(["Who", "Tel"], profiles).name == "a"  # of two, the first by name
    assert matching_profile(["Who", "Tel", ""], profiles) is not None  # a blank header cell aside
    assert matching_profile(["Who", "Tel", "More"], profiles) is None
    assert matching_profile(["Tel"], profiles) is None
    assert matching_profile([], profiles) is None
