"""The import engine run in this process and a pool of its own: the plan, map and reduce that the
service runs as Lambda tasks (docs/architecture.md), with local stand-ins for what the service
keeps in AWS. ``contacts-import validate`` runs it, and so do the unit tests.

- **The work area** is a local directory (a temporary one, deleted at the end): the staged text of
  a file that needs staging, and each chunk's run and row errors, one file each, written by the
  task that makes them, as the service writes them under ``work/<account>/<job>/``.
- **The contacts** are a list held in this process (any ``ContactRepository``), or ``NewList``: a
  new list that keeps nothing, which the offline validator imports into.
- **The scheduler** runs the map tasks on ``workers`` processes (one: here, one after another), then
  the reduce tasks: on the workers too when the list is a ``NewList``, which answers the same in
  every process, and here for a list held in this process.

Nothing here decides anything about a row: that is the engine's (``chunks``, ``fanout``, ``runs``, ``reduce``,
``outcomes``). Whatever the workers, chunk size and range size, the answer is the same; the tests
hold it to an oracle of their own.
"""

from __future__ import annotations

import io
import json
import multiprocessing
import tempfile
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Executor, Future, ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from functools import cached_property
from pathlib import Path
from typing import IO, Any, TypeVar

from contacts_import.errors import ContactsImportError, FileRejected
from contacts_import.models import Counts, ImportOptions, RowError
from contacts_import.pipeline.chunks import FilePlan, plan_chunks, read_chunk
from contacts_import.pipeline.fanout import DEFAULT_ROWS_PER_RANGE, map_chunk, split_ranges
from contacts_import.pipeline.mapping import ColumnPlan, plan_file_columns
from contacts_import.pipeline.normalize import RowNormalizer
from contacts_import.pipeline.outcomes import RunContext
from contacts_import.pipeline.reduce import reduce_range
from contacts_import.pipeline.runs import KeyRange, RunIndex, decode_run
from contacts_import.pipeline.shards import LEGACY
from contacts_import.pipeline.stores import ContactRepository, ExistingContact, RowErrorSink
from contacts_import.pipeline.tally import Tally

# (counts so far, the share of the work done from 0 to 1): maps are the first half, reduces the second.
ProgressCallback = Callable[[Counts, float], None]
# Smaller than the service's chunks (chunks.DEFAULT_CHUNK_BYTES): a few cores share the chunks out
# evenly only when there are many more chunks than cores, and a chunk is what a map holds in memory.
LOCAL_CHUNK_BYTES = 1024 * 1024
MAX_FILE_BYTES = 1024**3  # what the planner reads of a gzip's inflated text or a workbook at most

_Result = TypeVar("_Result")


class NewList:
    """A new list that keeps nothing: no phone is in it yet, and what is written to it is dropped."""

    def find_existing(self, phones: Sequence[str]) -> dict[str, ExistingContact]:
        return {}

    def write(self, items: Sequence[dict[str, Any]]) -> None:
        return None


@dataclass(frozen=True)
class LocalImport:
    """What an import run here ended with: the job's counts and what the plan found."""

    counts: Counts
    column_names: tuple[str, ...]
    encoding: str
    delimiter: str
    chunks: int
    ranges: int
    # A file refused part-way (bytes that are not its encoding, say): the rows before are counted.
    failure: FileRejected | None = None


def import_in_process(
    source: Path | bytes,
    options: ImportOptions,
    context: RunContext,
    row_errors: RowErrorSink,
    *,
    contacts: ContactRepository | None = None,
    workers: int = 1,
    chunk_bytes: int = LOCAL_CHUNK_BYTES,
    rows_per_range: int = DEFAULT_ROWS_PER_RANGE,
    shards: int = LEGACY,
    on_progress: ProgressCallback | None = None,
) -> LocalImport:
    """Import ``source`` (a file, or its bytes) into ``contacts`` (None: a ``NewList``) as the
    service would: row errors reach ``row_errors`` in row order, once each. Raises what the planner
    raises for a file that cannot be imported at all, and what the column plan raises for options
    that do not fit it, before any row is mapped."""
    with tempfile.TemporaryDirectory(prefix="contacts-import-work-") as directory:
        work = Path(directory)
        if isinstance(source, bytes):
            path = work / "source"
            path.write_bytes(source)
            source = path
        with _scheduler(workers) as scheduler:
            maps = _Maps(scheduler, _Tasks(source, work, options, context, shards))
            plan = maps.plan(source, chunk_bytes)
            progress = _Progress(on_progress, len(plan.chunks))
            indexes = maps.results(row_errors, progress)
            ranges = split_ranges(indexes, rows_per_range=rows_per_range, shards=shards)
            progress.reduces = len(ranges)
            # A list held here is reduced here; a new list that keeps nothing is the same anywhere.
            reducer: Executor = scheduler
            target: ContactRepository = NewList()
            if contacts is not None and not isinstance(contacts, NewList):
                reducer, target = _ThisProcess(), contacts
            tasks = maps.tasks
            reduced = [reducer.submit(tasks.reduce, keys, _spans(indexes, keys), target) for keys in ranges]
            for future in reduced:
                progress.reduced(future.result())
    assert tasks.columns is not None
    return LocalImport(
        counts=progress.total.as_counts(),
        column_names=tasks.columns.column_names,
        encoding=plan.encoding,
        delimiter=plan.delimiter,
        chunks=len(plan.chunks),
        ranges=len(ranges),
        failure=plan.failure,
    )


class _ColumnsDoNotFit(Exception):
    """Carries the column plan's refusal out of the planner, which would take a FileRejected raised
    inside it for a file refused part-way."""

    def __init__(self, refusal: ContactsImportError) -> None:
        self.refusal = refusal


class _Maps:
    """The map tasks, sent to the scheduler as the planner cuts their chunks: the file is mapped
    while it is planned, as the service maps it once planned."""

    def __init__(self, scheduler: Executor, tasks: _Tasks) -> None:
        self._scheduler = scheduler
        self.tasks = tasks
        self._mapped: list[Future[tuple[Tally, RunIndex]]] = []
        self._staging: IO[bytes] | None = None

    def plan(self, source: Path, chunk_bytes: int) -> FilePlan:
        """The service's plan of the file (``process_import``); what it stages goes into the work area."""
        options = self.tasks.options
        try:
            with source.open("rb") as stream:
                return plan_chunks(
                    stream,
                    has_header=options.has_header,
                    encoding=options.encoding,
                    delimiter=options.delimiter,
                    chunk_bytes=chunk_bytes,
                    max_bytes=MAX_FILE_BYTES,
                    stage=self._stage,
                    on_chunk=self._chunk_cut,
                )
        except _ColumnsDoNotFit as columns:
            raise columns.refusal from None
        finally:
            if self._staging is not None:
                self._staging.close()

    def results(self, row_errors: RowErrorSink, progress: _Progress) -> list[RunIndex]:
        """Every chunk's run index, in chunk order. Row errors are handed on chunk by chunk, in
        order: chunks are in file order, so the errors are in row order."""
        indexes = []
        for number, future in enumerate(self._mapped):
            tally, index = future.result()
            for error, raw in self.tasks.row_errors_of(number):
                row_errors.add(error, raw)
            indexes.append(index)
            progress.mapped(tally)
        row_errors.flush()
        return indexes

    def _stage(self) -> IO[bytes]:
        self.tasks.readable = self.tasks.work / _STAGED
        self._staging = self.tasks.readable.open("wb")
        return self._staging

    def _chunk_cut(self, plan: FilePlan) -> None:
        if self.tasks.columns is None:
            try:
                self.tasks.columns = plan_file_columns(plan.first_record, self.tasks.options)
                self.tasks.context = _with_blanks(self.tasks.context, self.tasks.columns, self.tasks.options)
            except ContactsImportError as refusal:
                raise _ColumnsDoNotFit(refusal) from None
        if self._staging is not None:
            self._staging.flush()  # the chunk's bytes, where its map reads them
        self._mapped.append(self._scheduler.submit(self.tasks.map, plan, len(plan.chunks) - 1))


_STAGED = "staged"


def _with_blanks(context: RunContext, columns: ColumnPlan, options: ImportOptions) -> RunContext:
    """The run's context with the fields a blank cell empties (``on_blank=clear`` on update)."""
    if options.on_blank != "clear" or options.on_existing != "update":
        return context
    return replace(context, clear=columns.blankable_fields())


def _spans(indexes: Sequence[RunIndex], keys: KeyRange) -> list[tuple[int, int, int]]:
    """(chunk, first byte, end) of every run's part that may hold the range's contact keys."""
    spans = []
    for number, index in enumerate(indexes):
        span = index.span(keys)
        if span is not None:
            spans.append((number, *span))
    return spans


@dataclass
class _Tasks:
    """What every task of the import needs, sent to the workers with each task: small (the plan a
    map takes with it is a list of chunk boundaries)."""

    readable: Path  # the file the chunks are byte ranges of: the file itself, or its staged text
    work: Path
    options: ImportOptions
    context: RunContext
    shards: int
    columns: ColumnPlan | None = None  # decided from the plan's first record

    @cached_property
    def normalizer(self) -> RowNormalizer:
        assert self.columns is not None
        return RowNormalizer(self.columns, self.options)

    def map(self, plan: FilePlan, number: int) -> tuple[Tally, RunIndex]:
        """The map task of the plan's chunk ``number``: its run and its row errors into the work area."""
        chunk = plan.chunks[number]
        with self.readable.open("rb") as stream, self._errors_path(number).open("w", encoding="utf-8") as spool:
            stream.seek(chunk.start)
            records = read_chunk(_ByteRange(stream, chunk.end - chunk.start), plan, chunk)
            mapped = map_chunk(records, self.normalizer, _SpooledErrors(spool), shards=self.shards)
        self._run_path(number).write_bytes(mapped.run)
        return mapped.tally, mapped.index

    def reduce(self, keys: KeyRange, spans: list[tuple[int, int, int]], contacts: ContactRepository) -> Tally:
        """The reduce task of a range: the parts of the runs that hold it, merged and decided."""
        runs = [decode_run(self._read_run(number, start, end), keys, self.shards) for number, start, end in spans]
        tally, _ = reduce_range(runs, contacts, self.options, self.context, shards=self.shards)
        return tally

    def row_errors_of(self, number: int) -> Iterator[tuple[RowError, list[str] | None]]:
        with self._errors_path(number).open(encoding="utf-8") as spool:
            for line in spool:
                row, code, message, column, value, raw = json.loads(line)
                # Written above from a RowError: nothing to validate again (a model a row error costs).
                yield RowError.model_construct(row=row, code=code, message=message, column=column, value=value), raw

    def _read_run(self, number: int, start: int, end: int) -> bytes:
        with self._run_path(number).open("rb") as run:
            run.seek(start)
            return run.read(end - start)

    def _run_path(self, number: int) -> Path:
        return self.work / f"run-{number:06d}.jsonl"

    def _errors_path(self, number: int) -> Path:
        return self.work / f"errors-{number:06d}.jsonl"


class _ByteRange(io.RawIOBase):
    """The next ``size`` bytes of a file, streamed: what ``read_chunk`` reads a chunk from (the
    service's ranged GET of the object)."""

    def __init__(self, stream: IO[bytes], size: int) -> None:
        self._stream = stream
        self._left = size

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        data = self._stream.read(min(len(buffer), self._left))
        buffer[: len(data)] = data
        self._left -= len(data)
        return len(data)


_encode_error = json.JSONEncoder(ensure_ascii=False).encode  # one encoder, not one an error


@dataclass
class _SpooledErrors:
    """A map task's RowErrorSink: each error a JSON line in the work area, with its cells."""

    spool: IO[str]

    def add(self, error: RowError, raw: list[str] | None) -> None:
        line = [error.row, error.code, error.message, error.column, error.value, raw]
        self.spool.write(_encode_error(line) + "\n")

    def flush(self) -> None:
        return None  # the spool is closed by the task; nothing waits on it before


@dataclass
class _Progress:
    callback: ProgressCallback | None
    maps: int
    reduces: int = 0
    total: Tally = field(default_factory=Tally)
    _maps_done: int = 0
    _reduces_done: int = 0

    def mapped(self, tally: Tally) -> None:
        self._maps_done += 1
        self._add(tally)

    def reduced(self, tally: Tally) -> None:
        self._reduces_done += 1
        self._add(tally)

    def _add(self, tally: Tally) -> None:
        self.total.add(tally)
        if self.callback is not None:
            done = 0.5 * self._maps_done / self.maps + (0.5 * self._reduces_done / self.reduces if self.reduces else 0)
            self.callback(self.total.as_counts(), done)


class _ThisProcess(Executor):
    """The scheduler of one process: a task runs when it is submitted."""

    def submit(self, fn: Callable[..., _Result], /, *args: Any, **kwargs: Any) -> Future[_Result]:
        future: Future[_Result] = Future()
        future.set_result(fn(*args, **kwargs))
        return future


@contextmanager
def _scheduler(workers: int) -> Iterator[Executor]:
    if workers <= 1:
        yield _ThisProcess()
        return
    # fork starts workers in milliseconds and shares the loaded modules; spawn where fork is absent.
    methods = multiprocessing.get_all_start_methods()
    context = multiprocessing.get_context("fork" if "fork" in methods else "spawn")
    with ProcessPoolExecutor(workers, mp_context=context) as pool:
        yield pool
