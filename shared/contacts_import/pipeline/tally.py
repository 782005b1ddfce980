"""A job's counts while they are counted: one task's, or all of a job's tasks added up."""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

from contacts_import.models import Counts
from contacts_import.pipeline.outcomes import Outcome


@dataclass(slots=True)
class Tally:
    """Counts while they are counted: plain ints (a pydantic model per increment costs a row's time).
    One run of the whole file, one task of a chunked import, or all of a job's tasks added up."""

    total_rows: int = 0
    invalid: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
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
        decided = self.created + self.updated + self.unchanged + self.skipped_existing + self.skipped_duplicates
        return Counts(
            total_rows=self.total_rows,
            processed_rows=self.invalid + decided,
            created=self.created,
            updated=self.updated,
            unchanged=self.unchanged,
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
