"""What the engine needs of the stores a runner gives it: the list's contacts and where row errors go.
The service's are DynamoDB tables (``store.contacts``, ``store.row_errors``); the in-process runner's
a list in memory, or a new list that keeps nothing (``in_process``)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from contacts_import.models import RowError

if TYPE_CHECKING:
    from contacts_import.pipeline.journal import JournalEntry


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


class ChangeJournal(Protocol):
    """Where a reduce records what it decided (``pipeline.journal``), before it writes."""

    def record(self, entries: Sequence[JournalEntry]) -> None: ...
