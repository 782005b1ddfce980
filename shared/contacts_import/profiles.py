"""Saved mappings ("mapping profiles"): an account's named mapping and options for a file it imports
again and again (a nightly export), and the one rule for which mapping an import takes.

Precedence (docs/api.md, Saved mappings): an explicit ``mapping`` (or ``headers``), then the
profile named by ``mapping_profile``, then, for a file that names none (the drop folder), a profile
whose headers are exactly the file's, then detection. A profile's headers are its mapping's keys:
it maps every column of the files it is for (``ignore`` for a column left out), so "the headers
match" means the file's header row holds exactly those names, in any order.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from contacts_import.errors import InvalidOptions
from contacts_import.models import PROFILE_NAME_PATTERN, ImportOptions

# Options a profile may not hold: where a file goes, how the columns are named (the profile's
# mapping does that), and what belongs to one request rather than to a kind of file.
NOT_IN_A_PROFILE = frozenset({"list_id", "mapping", "headers", "mapping_profile", "wait", "webhook_url", "dry_run"})


class MappingProfile(BaseModel):
    """A stored profile: the mapping (header -> field) and the options an import with it takes."""

    model_config = ConfigDict(frozen=True, defer_build=True)

    name: str = Field(pattern=PROFILE_NAME_PATTERN)
    mapping: dict[str, str]
    options: dict[str, Any] = Field(default_factory=dict)
    created_at: str
    updated_at: str

    @property
    def headers(self) -> frozenset[str]:
        return frozenset(header_name(column) for column in self.mapping)


def header_name(text: str) -> str:
    """A header as the engine names its column (``pipeline.mapping``): without a BOM or edge spaces."""
    return text.replace("\ufeff", "").strip()


def checked_profile(body: Any) -> tuple[dict[str, str], dict[str, Any]]:
    """The mapping and options of a ``PUT /mapping-profiles/{name}`` body, checked as an import
    checks them: a field, option or value it does not know is InvalidOptions naming it."""
    if not isinstance(body, dict) or set(body) - {"mapping", "options"}:
        raise InvalidOptions("The body must be a JSON object {'mapping': {...}, 'options': {...}}.")
    mapping, options = body.get("mapping"), body.get("options", {})
    if not isinstance(mapping, dict) or not mapping:
        raise InvalidOptions(
            "'mapping' must be a non-empty JSON object of CSV header -> field.", details={"option": "mapping"}
        )
    if not isinstance(options, dict):
        raise InvalidOptions("'options' must be a JSON object of import options.", details={"option": "options"})
    # Our option names only (not other APIs' names for them): what a profile holds is read back as is.
    refused = sorted((NOT_IN_A_PROFILE & set(options)) | (set(options) - set(ImportOptions.model_fields)))
    if refused:
        raise InvalidOptions(
            f"A profile cannot hold these options: {', '.join(refused)} (each import gives list_id, wait, "
            "webhook_url, dry_run; options go by their names in docs/api.md).",
            details={"errors": [{"option": f"options.{name}", "problem": "not a profile option"} for name in refused]},
        )
    # ImportOptions is the one check of a mapping and of options: the same messages as an import's.
    parsed = ImportOptions.parse({**options, "mapping": mapping})
    if len({header_name(column) for column in mapping}) != len(mapping):
        raise InvalidOptions("'mapping' names one header twice.", details={"option": "mapping"})
    canonical = parsed.model_dump(mode="json", include=set(parsed.model_fields_set) - {"mapping"})
    assert parsed.mapping is not None
    return parsed.mapping, canonical


# How a file is read: a file that matched a profile by its header row was read right without them.
READING_OPTIONS = frozenset({"encoding", "delimiter", "has_header"})


def apply_profile(options: ImportOptions, profile: MappingProfile, *, matched: bool = False) -> ImportOptions:
    """The options of an import that takes ``profile``: what the request said wins, then the
    profile's options; its mapping unless the request has a mapping (or positional headers). A
    profile ``matched`` by the file's headers leaves the reading options as detection chose them
    (the file was planned with them before it was matched)."""
    given = options.model_dump(mode="json", include=set(options.model_fields_set))
    kept = {k: v for k, v in profile.options.items() if not (matched and k in READING_OPTIONS)}
    combined: dict[str, Any] = {**kept, **given, "mapping_profile": profile.name}
    if options.mapping is None and options.headers is None:
        combined["mapping"] = profile.mapping
    return ImportOptions.model_validate(combined)


def matching_profile(first_record: Sequence[str], profiles: Iterable[MappingProfile]) -> MappingProfile | None:
    """The profile whose headers are exactly the file's header row (blank header cells aside); of
    several, the first by name."""
    headers = frozenset(name for name in map(header_name, first_record) if name)
    if not headers:
        return None
    return next((p for p in sorted(profiles, key=lambda p: p.name) if p.headers == headers), None)
