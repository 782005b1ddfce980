"""One import run over a CSV stream: every record read once, in order, in bounded memory.

The run is the same for the S3-triggered processor (contacts in DynamoDB) and for the offline
validator (an empty list, nothing written); they differ only in the interfaces passed in.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from contacts_import.errors import EmptyFile, FileRejected, ImportCancelled, NotCsv, TruncatedFile
from contacts_import.models import Counts, ImportOptions, RowError
from contacts_import.pipeline.containers import RecordSource
from contacts_import.pipeline.mapping import ColumnPlan, plan_columns
from contacts_import.pipeline.normalize import ContactDraft, RowNormalizer, is_blank_record
from contacts_import.pipeline.outcomes import (
    ContactRepository,
    Decision,
    ExistingContact,
    RowErrorSink,
    RunContext,
    Tally,
    decide,
)
from contacts_import.pipeline.phone_set import PhoneSet
from contacts_import.pipeline.reading import Record

# BatchGetItem takes at most 100 keys: one lookup per batch of new phones.
LOOKUP_BATCH = 100
PROGRESS_EVERY_ROWS = 2000


class ProgressSink(Protocol):
    def report(self, counts: Counts, bytes_read: int) -> None:
        """Called every few thousand rows; raises ImportCancelled to stop the run."""


@dataclass
class ImportResult:
    counts: Counts
    column_names: tuple[str, ...]
    encoding: str
    delimiter: str
    seen_phones: PhoneSet = field(default_factory=PhoneSet)
    # A file refused part-way (bad encoding after the first rows, say): what was read stays counted.
    failure: FileRejected | None = None
    cancelled: bool = False


class EmptyListRepository:
    """A list with no contacts that keeps nothing: what the offline validator imports into."""

    keeps_contacts = False

    def find_existing(self, phones: Sequence[str]) -> dict[str, ExistingContact]:
        return {}

    def write(self, items: Sequence[dict[str, Any]]) -> None:
        return None


def run_import(
    source: RecordSource,
    options: ImportOptions,
    context: RunContext,
    contacts: ContactRepository,
    row_errors: RowErrorSink,
    progress: ProgressSink,
    *,
    progress_every: int = PROGRESS_EVERY_ROWS,
    workers: int = 1,
) -> ImportResult:
    """Run an import over ``source``. With ``workers`` > 1, rows are normalized in that many worker
    processes (the offline validator's use); the outcome is the same as with one."""
    records = source.records()
    plan, first_data = _plan(records, options)
    run = _Run(RowNormalizer(plan, options), options, context, contacts, row_errors)
    failure: FileRejected | None = None
    cancelled = False
    data_records = _chain(first_data, records)
    normalized = None
    if workers > 1:
        # Imported only here: multiprocessing is the offline validator's, not a Lambda's cold start.
        from contacts_import.pipeline.parallel import normalized_in_workers

        normalized = normalized_in_workers(data_records, plan, options, workers)
    try:
        run.read(data_records, lambda: progress.report(run.counts, source.bytes_read), progress_every, normalized)
    except TruncatedFile:
        raise  # refused whole, as the processor's plan refuses it (pipeline.chunks)
    except FileRejected as rejection:
        failure = rejection
    except ImportCancelled:
        cancelled = True
    run.settle()
    return ImportResult(
        counts=run.counts,
        column_names=plan.column_names,
        encoding=source.encoding,
        delimiter=source.delimiter,
        seen_phones=run.seen,
        failure=failure,
        cancelled=cancelled,
    )


class _Run:
    """The state of one run: counts so far, phones seen, drafts waiting for their lookup batch."""

    def __init__(
        self,
        normalizer: RowNormalizer,
        options: ImportOptions,
        context: RunContext,
        contacts: ContactRepository,
        row_errors: RowErrorSink,
    ) -> None:
        self._tally = Tally()
        self.seen = PhoneSet()
        self._pending: list[ContactDraft] = []
        self._normalizer = normalizer
        self._options = options
        self._context = context
        self._contacts = contacts
        self._row_errors = row_errors

    def read(
        self,
        records: Iterable[Record | RowError],
        report: Callable[[], None],
        every: int,
        normalized: Iterable[tuple[Record | RowError, ContactDraft | RowError]] | None = None,
    ) -> None:
        if normalized is None:
            normalized = self._normalized_here(records)
        since_report = 0
        for record, result in normalized:
            self._take(record, result)
            since_report += 1
            if since_report >= every:
                # Counts are settled before they are reported, so a poller never sees a half batch.
                self.settle()
                report()
                since_report = 0

    @property
    def counts(self) -> Counts:
        return self._tally.as_counts()

    def _normalized_here(
        self, records: Iterable[Record | RowError]
    ) -> Iterator[tuple[Record | RowError, ContactDraft | RowError]]:
        normalize = self._normalizer.normalize
        for record in records:
            if isinstance(record, RowError):
                yield record, record
            elif not is_blank_record(record.fields):
                yield record, normalize(record.row, record.fields)

    def _take(self, record: Record | RowError, result: ContactDraft | RowError) -> None:
        counts = self._tally
        counts.total_rows += 1
        if isinstance(result, RowError):
            counts.invalid += 1
            self._row_errors.add(result, record.fields if isinstance(record, Record) else None)
        elif not self.seen.add(result.phone):
            counts.skipped_duplicates += 1
        else:
            self._pending.append(result)
            if len(self._pending) >= LOOKUP_BATCH:
                self._settle_pending()

    def settle(self) -> None:
        self._settle_pending()
        self._row_errors.flush()

    def _settle_pending(self) -> None:
        if self._pending:
            for decision in _decide_batch(self._pending, self._contacts, self._options, self._context):
                self._tally.count(decision.outcome)
            self._pending.clear()


def _plan(records: Iterable[Record | RowError], options: ImportOptions) -> tuple[ColumnPlan, list[Record | RowError]]:
    """The column plan, and the records read to make it that are data (none when there is a header)."""
    iterator = iter(records)
    first = next(iterator, None)
    while isinstance(first, Record) and not first.fields:
        first = next(iterator, None)  # leading empty lines
    if isinstance(first, RowError):
        raise NotCsv(f"The first row is not readable CSV: {first.message}", details={"row": first.row})
    if first is None:
        raise EmptyFile("The file has no rows.")
    if options.has_header:
        width = max(len(first.fields), len(options.headers or ()))
        return plan_columns(first.fields, width, options), []
    width = len(options.headers) if options.headers else len(first.fields)
    return plan_columns(None, width, options), [first]


def _chain(first: list[Record | RowError], rest: Iterable[Record | RowError]) -> Iterable[Record | RowError]:
    yield from first
    yield from rest


def _decide_batch(
    drafts: list[ContactDraft], contacts: ContactRepository, options: ImportOptions, context: RunContext
) -> list[Decision]:
    existing = contacts.find_existing([draft.phone for draft in drafts])
    # Items are built only for a list that keeps them (not the offline validator's, not a dry run).
    build_items = not options.dry_run and getattr(contacts, "keeps_contacts", True)
    decisions = [
        decide(
            draft,
            existing.get(draft.phone),
            job_id=context.job_id,
            on_existing=options.on_existing,
            list_id=context.list_id,
            now=context.now,
            build_items=build_items,
        )
        for draft in drafts
    ]
    if not options.dry_run:
        writes = [decision.write for decision in decisions if decision.write is not None]
        if writes:
            contacts.write(writes)
    return decisions
