"""The tests' oracle: an import as one reader of the whole file does it, row after row, written to
be read, not to be fast. It shares the engine's reader, column plan, row normalizer and outcome
rules (each tested on its own); what it does its own way is everything the engine spreads over
chunks, runs and ranges: the order of rows, first occurrence wins, and the counts.

The engine must end exactly as the oracle does, for any file, chunk size and range size
(``test_engine.py``)."""

from __future__ import annotations

import io
import itertools
from dataclasses import dataclass, field

from contacts_import.errors import EmptyFile, FileRejected, NotCsv
from contacts_import.models import Counts, ImportOptions, RowError
from contacts_import.pipeline.containers import open_records
from contacts_import.pipeline.mapping import plan_file_columns
from contacts_import.pipeline.normalize import RowNormalizer, is_blank_record
from contacts_import.pipeline.outcomes import RunContext, decide
from contacts_import.pipeline.reading import Record
from tests.unit.helpers import MemoryList


@dataclass
class OracleAnswer:
    counts: Counts = field(default_factory=Counts)
    # (row error, the record's cells) in row order
    errors: list[tuple[RowError, list[str] | None]] = field(default_factory=list)
    failure: FileRejected | None = None

    def errors_by_row(self) -> dict[int, tuple[str, str, str | None, str | None, list[str] | None]]:
        return {e.row: (e.code, e.message, e.column, e.value, raw) for e, raw in self.errors}


def oracle_import(data: bytes, options: ImportOptions, context: RunContext, contacts: MemoryList) -> OracleAnswer:
    """Import ``data`` into ``contacts``; raises what the engine raises for a file refused whole."""
    records = iter(open_records(io.BytesIO(data), encoding=options.encoding, delimiter=options.delimiter).records())
    first = next(records, None)
    while isinstance(first, Record) and not first.fields:
        first = next(records, None)  # leading empty lines are not the header
    if first is None:
        raise EmptyFile("The file has no rows.")
    if isinstance(first, RowError):
        raise NotCsv(f"The first row is not readable CSV: {first.message}")
    columns = plan_file_columns(first.fields, options)
    normalizer = RowNormalizer(columns, options)
    clear = columns.blankable_fields() if options.on_blank == "clear" and options.on_existing == "update" else None
    answer = OracleAnswer()
    counts = answer.counts
    seen: set[str] = set()
    pending = [] if options.has_header else [first]
    try:
        for record in itertools.chain(pending, records):
            if isinstance(record, Record) and is_blank_record(record.fields):
                continue  # not a row
            counts.total_rows += 1
            result = record if isinstance(record, RowError) else normalizer.normalize(record.row, record.fields)
            if isinstance(result, RowError):
                counts.invalid += 1
                answer.errors.append((result, record.fields if isinstance(record, Record) else None))
                continue
            if result.phone in seen:
                counts.skipped_duplicates += 1  # the first valid row of a phone wins
                continue
            seen.add(result.phone)
            stored = contacts.find_existing([result.phone]).get(result.phone)
            decision = decide(
                result,
                stored,
                job_id=context.job_id,
                on_existing=options.on_existing,
                list_id=context.list_id,
                now=context.now,
                clear=clear or frozenset(),
            )
            setattr(counts, decision.outcome.value, getattr(counts, decision.outcome.value) + 1)
            if decision.write is not None and not options.dry_run:
                contacts.write([decision.write])
    except FileRejected as rejection:
        answer.failure = rejection  # refused part-way: the rows before it stay counted
    counts.processed_rows = counts.total_rows
    return answer
