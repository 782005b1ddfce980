"""Pure-pipeline test helpers: run an import over bytes into an in-memory list."""

from __future__ import annotations

import io
from collections.abc import Sequence
from typing import Any

from contacts_import.models import Counts, ImportOptions, RowError
from contacts_import.pipeline.containers import open_records
from contacts_import.pipeline.importer import ImportResult, RunContext, run_import
from contacts_import.pipeline.outcomes import ExistingContact


class MemoryList:
    """A contacts list in a dict, with the same contract as the DynamoDB store."""

    def __init__(self) -> None:
        self.items: dict[str, dict[str, Any]] = {}
        self.lookups = 0

    def find_existing(self, phones: Sequence[str]) -> dict[str, ExistingContact]:
        assert len(phones) <= 100, "a lookup batch is one BatchGetItem: at most 100 keys"
        self.lookups += 1
        return {
            p: ExistingContact(
                p, self.items[p].get("created_job_id"), self.items[p].get("import_job_id"), self.items[p]
            )
            for p in phones
            if p in self.items
        }

    def write(self, items: Sequence[dict[str, Any]]) -> None:
        for item in items:
            self.items[item["phone"]] = dict(item)


class CollectedErrors:
    def __init__(self) -> None:
        self.errors: list[tuple[RowError, list[str] | None]] = []

    def add(self, error: RowError, raw: list[str] | None) -> None:
        self.errors.append((error, raw))

    def flush(self) -> None:
        pass

    def codes(self) -> list[tuple[int, str]]:
        return [(e.row, e.code) for e, _ in self.errors]


class Progress:
    def __init__(self) -> None:
        self.reports: list[tuple[Counts, int]] = []

    def report(self, counts: Counts, bytes_read: int) -> None:
        self.reports.append((counts.model_copy(), bytes_read))


def run(
    data: bytes,
    *,
    contacts: MemoryList | None = None,
    job_id: str = "job-1",
    progress_every: int = 2000,
    **options: Any,
) -> tuple[ImportResult, MemoryList, CollectedErrors, Progress]:
    contacts = contacts if contacts is not None else MemoryList()
    errors, progress = CollectedErrors(), Progress()
    parsed = ImportOptions.parse({}, text=options)  # as a query gives them (strings), or already typed
    result = run_import(
        open_records(io.BytesIO(data), encoding=parsed.encoding, delimiter=parsed.delimiter),
        parsed,
        RunContext(job_id=job_id, list_id=parsed.list_id, now="2026-11-21T00:00:00.000Z"),
        contacts,
        errors,
        progress,
        progress_every=progress_every,
    )
    return result, contacts, errors, progress
