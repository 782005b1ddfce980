"""Normalizing records on several cores, in order.

Reading (C), duplicate detection and outcomes stay in one process; normalization (phones and emails,
most of a row's cost) runs in worker processes over batches of records. At most a few batches are in
flight, so memory stays bounded however long the file. Used by the offline validator on machines
with more than one core; a Lambda function has one vCPU at the memory we give it, and runs serially.

The main process is the narrow part (it reads, and takes every result in order), so results cross
between processes as plain tuples: unpickling a dataclass or a pydantic model per row costs the
main process more than building it again from a tuple.
"""

from __future__ import annotations

import multiprocessing
from collections import deque
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor

from contacts_import.models import ImportOptions, RowError
from contacts_import.pipeline.mapping import ColumnPlan
from contacts_import.pipeline.normalize import ContactDraft, RowNormalizer, is_blank_record
from contacts_import.pipeline.reading import Record

BATCH_ROWS = 2000
_worker_normalizer: RowNormalizer | None = None


def _start_worker(plan: ColumnPlan, options: ImportOptions) -> None:
    global _worker_normalizer
    _worker_normalizer = RowNormalizer(plan, options)


# On the wire: a draft is its fields in order (ten), a row error its five, a blank record None.
_Wire = tuple | None
_DRAFT_FIELDS = len(ContactDraft.__slots__)


def _to_wire(result: ContactDraft | RowError) -> tuple:
    if isinstance(result, ContactDraft):
        return (
            result.row,
            result.phone,
            result.phone_extension,
            result.name,
            result.first_name,
            result.last_name,
            result.email,
            result.company,
            result.tags,
            result.custom_fields,
        )
    return (result.row, result.code, result.message, result.column, result.value)


def _from_wire(wire: tuple) -> ContactDraft | RowError:
    if len(wire) == _DRAFT_FIELDS:
        return ContactDraft(*wire)
    row, code, message, column, value = wire
    return RowError(row=row, code=code, message=message, column=column, value=value)


def _normalize_batch(batch: list[tuple[int, list[str]]]) -> list[_Wire]:
    """Each record's normalization; None for a blank record (no row at all)."""
    assert _worker_normalizer is not None
    normalize = _worker_normalizer.normalize
    return [None if is_blank_record(fields) else _to_wire(normalize(row, fields)) for row, fields in batch]


def normalized_in_workers(
    records: Iterable[Record | RowError], plan: ColumnPlan, options: ImportOptions, workers: int
) -> Iterator[tuple[Record | RowError, ContactDraft | RowError]]:
    """(record, its normalization) for every non-blank record, in file order. A record the reader
    could not take (a RowError) is its own result."""
    # fork starts workers in milliseconds and shares the loaded modules; spawn where fork is absent.
    methods = multiprocessing.get_all_start_methods()
    context = multiprocessing.get_context("fork" if "fork" in methods else "spawn")
    with ProcessPoolExecutor(workers, mp_context=context, initializer=_start_worker, initargs=(plan, options)) as pool:
        in_flight: deque[tuple[list[Record | RowError], Future[list[_Wire]] | None]] = deque()

        def drain(keep: int) -> Iterator[tuple[Record | RowError, ContactDraft | RowError]]:
            while len(in_flight) > keep:
                batch, future = in_flight.popleft()
                results = future.result() if future is not None else []
                position = 0
                for record in batch:
                    if isinstance(record, RowError):
                        yield record, record
                    else:
                        wire = results[position]
                        position += 1
                        if wire is not None:
                            yield record, _from_wire(wire)

        batch: list[Record | RowError] = []
        rows: list[tuple[int, list[str]]] = []
        for record in records:
            if isinstance(record, Record):
                rows.append((record.row, record.fields))
            batch.append(record)
            if len(batch) >= BATCH_ROWS:
                in_flight.append((batch, pool.submit(_normalize_batch, rows) if rows else None))
                batch, rows = [], []
                yield from drain(keep=2 * workers)
        if batch:
            in_flight.append((batch, pool.submit(_normalize_batch, rows) if rows else None))
        yield from drain(keep=0)
