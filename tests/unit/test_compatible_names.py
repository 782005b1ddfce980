"""Other import APIs' names for our options and fields (compatible_names): each means ours,
wherever it is used; an unknown name is still refused."""

from __future__ import annotations

import pytest

from contacts_import.compatible_names import FIELD_NAMES, OPTION_NAMES
from contacts_import.errors import InvalidOptions
from contacts_import.models import ImportOptions
from contacts_import.pipeline.fields import KNOWN_FIELDS, field_for_header, parse_target
from tests.unit.helpers import run


@pytest.mark.parametrize(("theirs", "ours"), sorted(FIELD_NAMES.items()))
def test_their_field_names_are_ours_as_header_mapping_target_and_positional_header(theirs, ours):
    assert ours in KNOWN_FIELDS
    assert field_for_header(theirs) == ours
    assert parse_target(theirs) == ours
    assert ImportOptions.parse({"headers": ["phone", theirs]}).headers == ("phone", ours)


def test_a_business_column_is_the_company_of_the_contact():
    result, contacts, _, _ = run(b"name,phone_number,business,tags\nJane Doe,(212) 736-5000,Acme,vip\n")
    assert result.counts.created == 1
    (stored,) = contacts.items.values()
    assert (stored["name"], stored["company"], stored["tags"]) == ("Jane Doe", "Acme", ["vip"])


@pytest.mark.parametrize(
    ("theirs", "value", "ours"),
    [
        ("folder_id", "folder_abc123", {"list_id": "folder_abc123"}),
        ("campaign_id", "42", {"list_id": "42"}),
        ("column_mappings", '{"Tel": "phone_number"}', {"mapping": {"Tel": "phone"}}),
        ("overwrite_existing", True, {"on_existing": "update"}),
        ("overwrite_existing", "false", {"on_existing": "skip"}),
        ("update_existing", "true", {"on_existing": "update"}),
        ("update_existing", False, {"on_existing": "skip"}),
    ],
)
def test_their_option_names_mean_ours(theirs, value, ours):
    assert theirs in OPTION_NAMES
    # A string is a query parameter or form field (read as ours is); a boolean, a JSON member.
    given = (
        ImportOptions.parse({}, text={theirs: value})
        if isinstance(value, str)
        else ImportOptions.parse({theirs: value})
    )
    assert given == ImportOptions.parse(ours)


def test_their_flags_are_json_booleans_in_a_json_body():
    with pytest.raises(InvalidOptions, match="'update_existing' must be true or false"):
        ImportOptions.parse({"update_existing": "true"})


def test_every_option_name_of_theirs_is_one_of_ours():
    assert set(OPTION_NAMES.values()) <= set(ImportOptions.model_fields)


@pytest.mark.parametrize("nothing", [None, ""])
def test_a_null_folder_is_the_default_list(nothing):
    assert ImportOptions.parse({"folder_id": nothing}).list_id == "default"


@pytest.mark.parametrize(
    ("options", "named"),
    [
        ({"folder_id": "a", "list_id": "b"}, "'folder_id' and 'list_id'"),
        ({"folder_id": "a", "campaign_id": "b"}, "'folder_id' and 'campaign_id'"),
        ({"overwrite_existing": True, "on_existing": "skip"}, "'overwrite_existing' and 'on_existing'"),
        ({"overwrite_existing": "maybe"}, "'overwrite_existing' must be true or false"),
        ({"folder_idd": "a"}, "folder_idd: Extra inputs are not permitted"),
        ({"headers": ["phone", "bussiness"]}, "unknown field 'bussiness'"),
    ],
)
def test_unknown_and_ambiguous_names_still_fail_loudly(options, named):
    with pytest.raises(InvalidOptions, match=named):
        ImportOptions.parse(options)
