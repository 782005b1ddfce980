"""The change journal: what a job's reduce decided, row by row, written by the task that writes the
contacts and before it writes them (docs/architecture.md, The change journal).

- In a dry run it is the plan: every row's phone and outcome, and each update's changed fields
  with their stored and new values (``GET /imports/{id}/plan``).
- In an import it is what an undo needs that the contacts do not say themselves: the before-image
  of every contact the job updated. A contact the job created carries ``created_job_id`` itself,
  so creations cost the journal nothing.

Entries are keyed by job and row: a task run again writes the same entry for the same row, and a
row its earlier run already wrote (a contact carrying this job's id) yields no entry, so the one
written before the contact stays.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from contacts_import.pipeline.normalize import ContactDraft
from contacts_import.pipeline.outcomes import Decision, Outcome


@dataclass(frozen=True, slots=True)
class JournalEntry:
    row: int
    phone: str
    outcome: Outcome
    changes: dict[str, dict[str, Any]] | None = None  # an update's: field -> {"from", "to"}
    before: dict[str, Any] | None = None  # an import's update: the contact as it was stored

    def to_json(self) -> dict[str, Any]:
        entry: dict[str, Any] = {"row": self.row, "phone": self.phone, "outcome": self.outcome.value}
        if self.changes is not None:
            entry["changes"] = self.changes
        if self.before is not None:
            entry["before"] = self.before
        return entry


def plan_entries(decisions: Iterable[Decision], repeats: Iterable[ContactDraft]) -> list[JournalEntry]:
    """A dry run's entries: every decided row, and every later row of a phone (a duplicate)."""
    entries = [JournalEntry(d.draft.row, d.draft.phone, d.outcome, d.changes) for d in decisions]
    entries.extend(JournalEntry(r.row, r.phone, Outcome.SKIPPED_DUPLICATES) for r in repeats)
    return entries


def undo_entries(decisions: Iterable[Decision]) -> list[JournalEntry]:
    """An import's entries: each update this run writes, with the contact's before-image."""
    return [
        JournalEntry(d.draft.row, d.draft.phone, d.outcome, d.changes, d.before)
        for d in decisions
        if d.outcome is Outcome.UPDATED and d.write is not None and d.before is not None
    ]
