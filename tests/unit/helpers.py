"""Pure-pipeline test helpers: an import over bytes by the engine, into an in-memory list."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from contacts_import.models import Counts, ImportOptions, RowError
from contacts_import.pipeline.in_process import LocalImport, import_in_process
from contacts_import.pipeline.outcomes import RunContext
from contacts_import.pipeline.shards import LEGACY
from contacts_import.pipeline.stores import ExistingContact

NOW = "2026-11-21T00:00:00.000Z"


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
        self.reports: list[tuple[Counts, float]] = []

    def __call__(self, counts: Counts, done: float) -> None:
        self.reports.append((counts.model_copy(), done))


# Small enough that a test file of a few rows is several chunks and ranges: every pipeline test
# runs the map/reduce the service runs, not a special case of one chunk.
TEST_CHUNK_BYTES = 256
TEST_ROWS_PER_RANGE = 8


def run(
    data: bytes,
    *,
    contacts: MemoryList | None = None,
    job_id: str = "job-1",
    chunk_bytes: int = TEST_CHUNK_BYTES,
    rows_per_range: int = TEST_ROWS_PER_RANGE,
    shards: int = LEGACY,
    workers: int = 1,
    **options: Any,
) -> tuple[LocalImport, MemoryList, CollectedErrors, Progress]:
    """Import ``data`` with the engine (plan, map, reduce) in this process, into ``contacts``."""
    contacts = contacts if contacts is not None else MemoryList()
    errors, progress = CollectedErrors(), Progress()
    parsed = ImportOptions.parse({}, text=options)  # as a query gives them (strings), or already typed
    result = import_in_process(
        data,
        parsed,
        RunContext(job_id=job_id, list_id=parsed.list_id, now=NOW),
        errors,
        contacts=contacts,
        workers=workers,
        chunk_bytes=chunk_bytes,
        rows_per_range=rows_per_range,
        shards=shards,
        on_progress=progress,
    )
    return result, contacts, errors, progress
