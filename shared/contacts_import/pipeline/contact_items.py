"""The contact items a decision writes: a new contact, or a stored one updated from a row; and what
an update changes, field by field (docs/api.md: blank cells, tags, the plan's changes)."""

from __future__ import annotations

from typing import Any

from contacts_import.pipeline.normalize import ContactDraft

# The fields a row sets one value of; tags and custom fields are merged (see merged_contact_item).
VALUE_FIELDS = ("phone_extension", "name", "first_name", "last_name", "email", "company")
CUSTOM = "custom:"  # a custom field's name in a set of fields and in a plan's changes: custom:<key>


def new_contact_item(draft: ContactDraft, *, job_id: str, list_id: str, now: str) -> dict[str, Any]:
    item: dict[str, Any] = {
        "phone": draft.phone,
        "list_id": list_id,
        "created_at": now,
        "updated_at": now,
        "import_job_id": job_id,
        "created_job_id": job_id,
    }
    _put_values(item, draft)
    return item


def merged_contact_item(
    stored: dict[str, Any], draft: ContactDraft, *, job_id: str, now: str, clear: frozenset[str] = frozenset()
) -> dict[str, Any]:
    """An update: values in the file replace stored ones, tags are added to the stored ones (a tag
    is never taken away by an import), custom fields are merged key by key, creation facts are kept.

    A blank cell erases nothing, unless its field is in ``clear`` (``on_blank=clear``: the fields the
    file has a column for, custom ones as ``custom:<key>``): then the stored value goes."""
    item = dict(stored)
    _put_values(item, draft)
    item["tags"] = sorted(set(stored.get("tags") or ()) | set(draft.tags))
    custom = {**(stored.get("custom_fields") or {}), **draft.custom_fields}
    if clear:
        for name in VALUE_FIELDS:
            if name in clear and not getattr(draft, name):
                item.pop(name, None)
        for name in clear:
            if name.startswith(CUSTOM) and name[len(CUSTOM) :] not in draft.custom_fields:
                custom.pop(name[len(CUSTOM) :], None)
    item["custom_fields"] = custom
    item["updated_at"] = now
    item["import_job_id"] = job_id
    return item


def contact_values(item: dict[str, Any] | None) -> dict[str, Any]:
    """A contact's values as the plan and the change journal name them: each set field, ``tags``
    as a sorted list, each custom field as ``custom:<key>``; empty values left out (the store
    keeps none)."""
    if item is None:
        return {}
    values: dict[str, Any] = {name: item[name] for name in VALUE_FIELDS if item.get(name)}
    tags = item.get("tags")
    if tags:
        values["tags"] = sorted(tags)
    for key, value in (item.get("custom_fields") or {}).items():
        if value:
            values[CUSTOM + key] = value
    return values


def changed_fields(stored: dict[str, Any], merged: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Every field ``merged`` changes: ``{"from": stored value or None, "to": new value or None}``,
    in field order. Empty means the row is ``unchanged``."""
    before, after = contact_values(stored), contact_values(merged)
    return {
        name: {"from": before.get(name), "to": after.get(name)}
        for name in sorted(before.keys() | after.keys(), key=_field_order)
        if before.get(name) != after.get(name)
    }


def _field_order(name: str) -> tuple[int, str]:
    if name in VALUE_FIELDS:
        return VALUE_FIELDS.index(name), ""
    return (len(VALUE_FIELDS), "") if name == "tags" else (len(VALUE_FIELDS) + 1, name)


def _put_values(item: dict[str, Any], draft: ContactDraft) -> None:
    for name in VALUE_FIELDS:
        value = getattr(draft, name)
        if value:
            item[name] = value
    if draft.tags:
        item["tags"] = sorted(draft.tags)
    if draft.custom_fields:
        item["custom_fields"] = dict(draft.custom_fields)
