"""Each row's outcome (contract §3), decided from the file so far and what the list already holds.

Outcomes are derived from stored state, never remembered: a contact written by this job carries
``created_job_id`` or ``import_job_id`` equal to the job, so a run repeated after a crash or a
duplicate event counts every row exactly as the first run would have.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from contacts_import.pipeline.normalize import ContactDraft


class Outcome(StrEnum):
    CREATED = "created"
    UPDATED = "updated"
    SKIPPED_EXISTING = "skipped_existing"
    SKIPPED_DUPLICATES = "skipped_duplicates"
    INVALID = "invalid"


@dataclass(frozen=True, slots=True)
class ExistingContact:
    """What the outcome rules need of a stored contact, plus the stored item for merging."""

    phone: str
    created_job_id: str | None
    import_job_id: str | None
    item: dict[str, Any]


@dataclass(frozen=True, slots=True)
class Decision:
    draft: ContactDraft
    outcome: Outcome
    # The contact item to write, or None when nothing is to be written (skipped, or already written
    # by an earlier run of this same job).
    write: dict[str, Any] | None


def decide(
    draft: ContactDraft,
    existing: ExistingContact | None,
    *,
    job_id: str,
    on_existing: str,
    list_id: str,
    now: str,
    build_items: bool = True,
) -> Decision:
    """``build_items`` False decides the outcome only (a dry run, or a list that keeps nothing)."""
    if existing is None:
        item = new_contact_item(draft, job_id=job_id, list_id=list_id, now=now) if build_items else None
        return Decision(draft, Outcome.CREATED, item)
    if existing.created_job_id == job_id:
        return Decision(draft, Outcome.CREATED, None)  # written by an earlier run of this job
    if on_existing != "update":
        return Decision(draft, Outcome.SKIPPED_EXISTING, None)
    if existing.import_job_id == job_id:
        return Decision(draft, Outcome.UPDATED, None)  # updated by an earlier run of this job
    item = merged_contact_item(existing.item, draft, job_id=job_id, now=now) if build_items else None
    return Decision(draft, Outcome.UPDATED, item)


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
