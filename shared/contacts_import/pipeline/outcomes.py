"""Each row's outcome (contract §3), decided from the file so far and what the list already holds.

Outcomes are derived from stored state, never remembered: a contact written by this job carries
``created_job_id`` or ``import_job_id`` equal to the job, so a run repeated after a crash or a
duplicate event counts every row exactly as the first run would have.

Both ways of running an import, one reader of the whole file (``importer``) and tasks over chunks
and phone ranges (``fanout``), decide with ``decide``, count with ``Tally``, and reach the list and
the row-error store through the same two interfaces.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, fields
from enum import StrEnum
from typing import Any, Protocol

from contacts_import.models import Counts, RowError
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


class ContactRepository(Protocol):
    def find_existing(self, phones: Sequence[str]) -> dict[str, ExistingContact]: ...

    def write(self, items: Sequence[dict[str, Any]]) -> None: ...


class RowErrorSink(Protocol):
    def add(self, error: RowError, raw: list[str] | None) -> None: ...

    def flush(self) -> None: ...


@dataclass(frozen=True)
class RunContext:
    """What every decision of a job shares: ``now`` is the job's start, so that a task repeated later
    writes the very item the first attempt wrote."""

    job_id: str
    list_id: str
    now: str


@dataclass(slots=True)
class Tally:
    """Counts while they are counted: plain ints (a pydantic model per increment costs a row's time).
    One run of the whole file, one task of a chunked import, or all of a job's tasks added up."""

    total_rows: int = 0
    invalid: int = 0
    created: int = 0
    updated: int = 0
    skipped_existing: int = 0
    skipped_duplicates: int = 0
    deleted: int = 0
    errors_not_stored: int = 0  # row errors counted but past the job's cap on stored ones

    def add(self, other: Tally) -> None:
        for name in _TALLY_FIELDS:
            setattr(self, name, getattr(self, name) + getattr(other, name))

    def count(self, outcome: Outcome) -> None:
        name = _TALLY_NAME[outcome]  # an enum member's .value is a slow lookup, and this runs per row
        setattr(self, name, getattr(self, name) + 1)

    def as_counts(self) -> Counts:
        decided = self.created + self.updated + self.skipped_existing + self.skipped_duplicates
        return Counts(
            total_rows=self.total_rows,
            processed_rows=self.invalid + decided,
            created=self.created,
            updated=self.updated,
            skipped_existing=self.skipped_existing,
            skipped_duplicates=self.skipped_duplicates,
            invalid=self.invalid,
            deleted=self.deleted,
        )

    def to_json(self) -> dict[str, int]:
        return {name: getattr(self, name) for name in _TALLY_FIELDS}

    @classmethod
    def from_json(cls, value: dict[str, Any] | None) -> Tally:
        return cls(**{name: int((value or {}).get(name, 0)) for name in _TALLY_FIELDS})


_TALLY_FIELDS = tuple(f.name for f in fields(Tally))

_TALLY_NAME = {outcome: outcome.value for outcome in Outcome}


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
