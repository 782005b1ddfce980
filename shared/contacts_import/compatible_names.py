"""The names other import APIs give our options and contact fields: one table, mapped once.

The five APIs this service was designed from (docs/api.md, Compatibility) spell a list
``folder_id`` or ``campaign_id``, a mapping ``column_mappings``, an update flag
``overwrite_existing`` or ``update_existing``, a company ``business`` or ``organization``.
``POST /imports`` takes their names beside ours (the options model reads ``OPTION_NAMES``), and
header matching, ``mapping`` targets and ``headers`` read ``FIELD_NAMES``, so a column called
``business`` is the company wherever it appears. A name in neither table is still refused.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

# their option -> ours
OPTION_NAMES: dict[str, str] = {
    "folder_id": "list_id",  # POST /contacts/import
    "campaign_id": "list_id",  # POST /campaigns/{campaign_id}/contacts/upload
    "column_mappings": "mapping",  # POST /campaigns/{campaign_id}/contacts/upload, a JSON string
    "overwrite_existing": "on_existing",  # POST /contacts/import, a flag: true is "update"
    "update_existing": "on_existing",  # POST /v1/import/contacts, a flag: true is "update"
}
# Options these APIs send as a flag where ours takes a word: true is the first word, false the second.
FLAG_OPTIONS: dict[str, tuple[str, str]] = {"on_existing": ("update", "skip")}

# their field (a header, a mapping target, a member of a row) -> ours
FIELD_NAMES: dict[str, str] = {
    "phone_number": "phone",
    "mobile": "phone",
    "cell": "phone",
    "full_name": "name",
    "contact_name": "name",
    "email_address": "email",
    "business": "company",
    "organization": "company",
}


def with_our_names(options: Mapping[str, Any], *, words: bool = False) -> dict[str, Any]:
    """``options`` with every name of OPTION_NAMES replaced by ours. A value they send as null or
    empty means "not given" (``folder_id: null`` is the default list). A flag is a JSON boolean, or
    with ``words`` (a query parameter, a form field) one of the words a query's booleans take.
    ValueError when one option is given two different values under two names (the same value twice
    is taken), or a flag is neither true nor false."""
    renamed: dict[str, Any] = {}
    given_as: dict[str, str] = {}
    for name, value in options.items():
        ours = OPTION_NAMES.get(name, name)
        if ours != name:
            if value is None or value == "":
                continue
            if ours in FLAG_OPTIONS:
                value = _flag_word(name, value, FLAG_OPTIONS[ours], words=words)
        if ours in renamed and renamed[ours] != value:
            raise ValueError(f"{given_as[ours]!r} and {name!r} give {ours!r} different values: send one of them")
        renamed[ours] = value
        given_as[ours] = name
    return renamed


def _flag_word(name: str, value: Any, meanings: tuple[str, str], *, words: bool) -> str:
    from contacts_import.models import BOOLEAN_WORDS

    if words and isinstance(value, str) and value in BOOLEAN_WORDS:
        value = BOOLEAN_WORDS[value]
    if value is True:
        return meanings[0]
    if value is False:
        return meanings[1]
    raise ValueError(f"{name!r} must be true or false")
