"""The contact items a decision writes: a new contact, or a stored one updated from a row."""

from __future__ import annotations

from typing import Any

from contacts_import.pipeline.normalize import ContactDraft


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


def merged_contact_item(stored: dict[str, Any], draft: ContactDraft, *, job_id: str, now: str) -> dict[str, Any]:
    """An update: values in the file replace stored ones, empty cells erase nothing, tags and
    custom fields are merged, creation facts are kept."""
    item = dict(stored)
    _put_values(item, draft)
    item["tags"] = sorted(set(stored.get("tags") or ()) | set(draft.tags))
    item["custom_fields"] = {**(stored.get("custom_fields") or {}), **draft.custom_fields}
    item["updated_at"] = now
    item["import_job_id"] = job_id
    return item


def _put_values(item: dict[str, Any], draft: ContactDraft) -> None:
    for name in ("phone_extension", "name", "first_name", "last_name", "email", "company"):
        value = getattr(draft, name)
        if value:
            item[name] = value
    if draft.tags:
        item["tags"] = sorted(draft.tags)
    if draft.custom_fields:
        item["custom_fields"] = dict(draft.custom_fields)
