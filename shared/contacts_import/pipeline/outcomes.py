"""Each row's outcome, decided from the file so far and what the list already holds (docs/api.md:
the counts of a job).

Outcomes are derived from stored state, never remembered: a contact written by this job carries
``created_job_id`` or ``import_job_id`` equal to the job, so a task repeated after a crash or a
duplicate event counts every row exactly as the first run would have.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from contacts_import.pipeline.contact_items import changed_fields, merged_contact_item, new_contact_item
from contacts_import.pipeline.normalize import ContactDraft
from contacts_import.pipeline.stores import ExistingContact


class Outcome(StrEnum):
    CREATED = "created"
    UPDATED = "updated"
    UNCHANGED = "unchanged"
    SKIPPED_EXISTING = "skipped_existing"
    SKIPPED_DUPLICATES = "skipped_duplicates"
    INVALID = "invalid"


@dataclass(frozen=True)
class RunContext:
    """What every decision of a job shares: ``now`` is the job's start, so that a task repeated later
    writes the very item the first attempt wrote."""

    job_id: str
    list_id: str
    now: str
    # on_blank=clear: the fields a blank cell empties (ColumnPlan.blankable_fields); none with keep.
    clear: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class Decision:
    draft: ContactDraft
    outcome: Outcome
    # The contact item to write, or None when nothing is to be written (skipped, or already written
    # by an earlier run of this same job).
    write: dict[str, Any] | None
    # An update's changes, field -> {"from", "to"} (contact_items.changed_fields); None when this
    # run does not know them (not an update, or one written by an earlier run of this job).
    changes: dict[str, dict[str, Any]] | None = None
    # What the row found stored, for the change journal's before-image of an update.
    before: dict[str, Any] | None = None


def decide(
    draft: ContactDraft,
    existing: ExistingContact | None,
    *,
    job_id: str,
    on_existing: str,
    list_id: str,
    now: str,
    build_items: bool = True,
    clear: frozenset[str] = frozenset(),
) -> Decision:
    """``build_items`` False decides the outcome only (a dry run, or a list that keeps nothing).
    ``clear``: the fields a blank cell empties (``on_blank=clear``)."""
    if existing is None:
        item = new_contact_item(draft, job_id=job_id, list_id=list_id, now=now) if build_items else None
        return Decision(draft, Outcome.CREATED, item)
    if existing.created_job_id == job_id:
        return Decision(draft, Outcome.CREATED, None)  # written by an earlier run of this job
    if on_existing != "update":
        return Decision(draft, Outcome.SKIPPED_EXISTING, None)
    if existing.import_job_id == job_id:
        return Decision(draft, Outcome.UPDATED, None)  # updated by an earlier run of this job
    # Built even in a dry run: whether the row changes anything is the outcome.
    item = merged_contact_item(existing.item, draft, job_id=job_id, now=now, clear=clear)
    changes = changed_fields(existing.item, item)
    if not changes:
        # Nothing written, so updated_at and import_job_id stay; a repeat decides the same again.
        return Decision(draft, Outcome.UNCHANGED, None)
    return Decision(draft, Outcome.UPDATED, item if build_items else None, changes, existing.item)
