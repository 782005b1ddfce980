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


@dataclass(frozen=True, slots=True)
class GuardedWrite:
    """A contact to write only if its stored state is still the one it was decided from: missing
    (or created by this same job) when ``seen`` is None, else still last written by the job that
    ``seen`` names."""

    item: dict[str, Any]
    seen: ExistingContact | None


@dataclass(frozen=True, slots=True)
class Reducers:
    """Who reduces into a list, as its item says: the jobs announced and not ended, and how many
    announcements the list has ever had (so that a job that came and went between two looks is
    seen too)."""

    jobs: frozenset[str] = frozenset()
    announced: int = 0

    def others_than(self, job_id: str) -> bool:
        return bool(self.jobs - {job_id})


def may_write_blind(before_read: Reducers, before_write: Reducers, job_id: str) -> bool:
    """Whether contacts decided from a read may be written without conditions: no other job reduced
    into the list when we looked before the read, none does now, and none came (and perhaps went)
    in between. Otherwise another job may have written what we read as missing or as it was."""
    return (
        not before_read.others_than(job_id)
        and not before_write.others_than(job_id)
        and before_write.announced == before_read.announced
    )


class SharedListRepository(ContactRepository, Protocol):
    """A list that other jobs may import into while this one does (the chunked reduce).

    Blind batch writes are exact while one job at a time writes a list; a job that finds another
    one reducing into the list writes on conditions instead, and decides again what changed."""

    def reducers(self) -> Reducers:
        """The list's reducing jobs, read strongly consistent (an announcement made before now is seen)."""
        ...

    def write_unless_changed(self, writes: Sequence[GuardedWrite]) -> set[str]:
        """Write every contact whose stored state is still the one it was decided from; the
        phones of those that changed meanwhile, which were not written."""
        ...


class ContactsKeptChanging(RuntimeError):
    """Raised to have the task retried from its queue: a batch's contacts were changed by other
    jobs each time they were decided again."""


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
