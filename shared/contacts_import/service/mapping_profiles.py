"""Saved mappings as the API serves them: store, read, list and delete an account's profiles, and
resolve the one an import names (``contacts_import.profiles`` has the rules)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

from contacts_import.clock import utc_now
from contacts_import.errors import InvalidOptions, NotFound
from contacts_import.models import ImportOptions
from contacts_import.profiles import MappingProfile, apply_profile, checked_profile, matching_profile
from contacts_import.store.mapping_profiles import MappingProfileStore


def put_profile(account_id: str, name: str, body: Any, store: MappingProfileStore) -> MappingProfile:
    mapping, options = checked_profile(body)
    now = utc_now()
    existing = store.get(account_id, name)
    profile = MappingProfile(
        name=name,
        mapping=mapping,
        options=options,
        created_at=existing.created_at if existing else now,
        updated_at=now,
    )
    store.put(account_id, profile)
    return profile


def get_profile(account_id: str, name: str, store: MappingProfileStore) -> MappingProfile:
    profile = store.get(account_id, name)
    if profile is None:
        raise NotFound(f"No mapping profile {name!r}.")
    return profile


def delete_profile(account_id: str, name: str, store: MappingProfileStore) -> None:
    if not store.delete(account_id, name):
        raise NotFound(f"No mapping profile {name!r}.")


def with_named_profile(account_id: str, options: ImportOptions, store: MappingProfileStore) -> ImportOptions:
    """The options of an import that names a profile (``mapping_profile``), with it applied; an
    unknown name is a 400 naming it."""
    if options.mapping_profile is None:
        return options
    profile = store.get(account_id, options.mapping_profile)
    if profile is None:
        problem = f"no mapping profile named {options.mapping_profile!r} in this account"
        raise InvalidOptions(
            f"Invalid options: mapping_profile: {problem}.",
            details={"errors": [{"option": "mapping_profile", "problem": problem}]},
        )
    return apply_profile(options, profile)


def takes_matching_profile(options: ImportOptions) -> bool:
    """Whether an import is open to a profile its headers match: it names no mapping of its own."""
    return (
        options.has_header and options.mapping is None and options.headers is None and options.mapping_profile is None
    )


def with_matching_profile(
    options: ImportOptions, first_record: Sequence[str], profiles: Callable[[], Iterable[MappingProfile]]
) -> ImportOptions:
    """The options with the profile whose headers are exactly the file's (read only when the
    import names no mapping of its own), or as they are."""
    if not takes_matching_profile(options):
        return options
    profile = matching_profile(first_record, profiles())
    return apply_profile(options, profile, matched=True) if profile else options
