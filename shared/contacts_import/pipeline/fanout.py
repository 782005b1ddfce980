"""An import as many small tasks that may run in any order, on any number of workers, any number
of times, and still count every row exactly as one reader of the whole file would.

1. **Map** (one task per chunk, see ``chunks``): every record of the chunk is normalized; a row
   error is stored under its row number; the valid rows become a *run*: drafts sorted by (phone,
   row), one JSON line each, with a sparse index of (phone, byte offset).
2. **Ranges**: once every chunk is mapped, the phones are cut into ranges of about equal size from
   the runs' indexes (``split_ranges``).
3. **Reduce** (one task per range): the parts of every run that fall in the range are merged by
   (phone, row). The first row of a phone is its first valid occurrence in the whole file, whichever
   chunk it came from and whenever that chunk was mapped; the others are ``skipped_duplicates``. The
   winners are decided against the list as a single reader decides them (``outcomes.decide``).
4. **Prune** (mirror mode, one task per range): the list's contacts in the range that no run holds.

Nothing here is remembered between tasks but what they store: runs are rewritten identically by a
repeated map, outcomes are derived from the contacts (``created_job_id``/``import_job_id``), and
ranges are a function of the runs. Memory is bounded by a chunk (map) or a range (reduce, prune).
"""

from __future__ import annotations

import bisect
import heapq
import json
import math
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, fields
from itertools import groupby, pairwise
from typing import Any

from contacts_import.models import ImportOptions, RowError
from contacts_import.pipeline.mapping import ColumnPlan, plan_columns
from contacts_import.pipeline.normalize import ContactDraft, RowNormalizer, is_blank_record
from contacts_import.pipeline.outcomes import (
    ContactsKeptChanging,
    Decision,
    ExistingContact,
    GuardedWrite,
    Reducers,
    RowErrorSink,
    RunContext,
    SharedListRepository,
    Tally,
    decide,
    may_write_blind,
)
from contacts_import.pipeline.reading import Record

# A BatchGetItem takes at most 100 keys: winners are decided 100 at a time.
DECIDE_BATCH = 100
# Rounds of deciding again the contacts another job changed between our read and our write: each
# round settles at least the contacts no other job touches in between, so a batch that still has
# changes after this many is contended beyond reason, and its task is retried from the queue.
GUARDED_WRITE_ROUNDS = 10
RUN_INDEX_EVERY = 256
DEFAULT_ROWS_PER_RANGE = 10_000
DEFAULT_MAX_RANGES = 1000
_DRAFT_FIELDS = tuple(f.name for f in fields(ContactDraft))


def column_plan(first_record: Sequence[str], options: ImportOptions) -> ColumnPlan:
    """The column plan of a file from its first record: the header, or without one a data record
    that gives the width (as the single reader plans it)."""
    if options.has_header:
        width = max(len(first_record), len(options.headers or ()))
        return plan_columns(list(first_record), width, options)
    width = len(options.headers) if options.headers else len(first_record)
    return plan_columns(None, width, options)


# ------------------------------------------------------------------------------ map


@dataclass(frozen=True)
class RunIndex:
    """Where a run's phones are: (phone, byte offset) of every RUN_INDEX_EVERY-th line, the first
    line's included; ``size`` is the run's length in bytes and ``lines`` its number of drafts."""

    entries: tuple[tuple[str, int], ...]
    size: int
    lines: int

    def span(self, phones: PhoneRange) -> tuple[int, int] | None:
        """The bytes of the run that hold every draft in the range (and perhaps a few more)."""
        if not self.lines:
            return None
        keys = [phone for phone, _ in self.entries]
        start = 0
        if phones.lo is not None:
            before = bisect.bisect_left(keys, phones.lo) - 1  # the last indexed line below the range
            start = self.entries[before][1] if before >= 0 else 0
        end = self.size
        if phones.hi is not None:
            after = bisect.bisect_left(keys, phones.hi)  # the first indexed line at or past its end
            end = self.entries[after][1] if after < len(keys) else self.size
        return (start, end) if start < end else None

    def to_json(self) -> dict[str, Any]:
        return {"entries": [list(e) for e in self.entries], "size": self.size, "lines": self.lines}

    @classmethod
    def from_json(cls, value: dict[str, Any]) -> RunIndex:
        entries = tuple((str(phone), int(offset)) for phone, offset in value["entries"])
        return cls(entries, int(value["size"]), int(value["lines"]))


@dataclass
class MappedChunk:
    tally: Tally
    run: bytes
    index: RunIndex


def map_chunk(records: Iterable[Record | RowError], normalizer: RowNormalizer, row_errors: RowErrorSink) -> MappedChunk:
    """Normalize a chunk: row errors go to ``row_errors`` (keyed by row, so a repeat overwrites),
    valid rows become the chunk's run."""
    tally = Tally()
    drafts: list[ContactDraft] = []
    normalize = normalizer.normalize
    for record in records:
        if isinstance(record, RowError):
            tally.total_rows += 1
            tally.invalid += 1
            row_errors.add(record, None)
            continue
        if is_blank_record(record.fields):
            continue  # not a row (contract §3)
        tally.total_rows += 1
        result = normalize(record.row, record.fields)
        if isinstance(result, RowError):
            tally.invalid += 1
            row_errors.add(result, record.fields)
        else:
            drafts.append(result)
    row_errors.flush()
    drafts.sort(key=lambda draft: (draft.phone, draft.row))
    run, index = encode_run(drafts)
    return MappedChunk(tally, run, index)


def encode_run(drafts: Sequence[ContactDraft]) -> tuple[bytes, RunIndex]:
    lines: list[bytes] = []
    entries: list[tuple[str, int]] = []
    offset = 0
    for position, draft in enumerate(drafts):
        line = (
            json.dumps([getattr(draft, name) for name in _DRAFT_FIELDS], ensure_ascii=False, separators=(",", ":"))
            + "\n"
        ).encode("utf-8")
        if position % RUN_INDEX_EVERY == 0:
            entries.append((draft.phone, offset))
        lines.append(line)
        offset += len(line)
    return b"".join(lines), RunIndex(tuple(entries), offset, len(drafts))


def decode_run(data: bytes, phones: PhoneRange | None = None) -> Iterator[ContactDraft]:
    """The drafts of (part of) a run, in order; with ``phones``, only those in the range."""
    for line in data.split(b"\n"):
        if not line:
            continue
        values = json.loads(line)
        draft = ContactDraft(**dict(zip(_DRAFT_FIELDS, values, strict=True)))
        draft.tags = tuple(draft.tags)
        if phones is None or phones.contains(draft.phone):
            yield draft


# ------------------------------------------------------------------------------ ranges


@dataclass(frozen=True, slots=True)
class PhoneRange:
    """Phones ``lo <= phone < hi``; None is open-ended."""

    lo: str | None
    hi: str | None

    def contains(self, phone: str) -> bool:
        return (self.lo is None or phone >= self.lo) and (self.hi is None or phone < self.hi)

    def to_json(self) -> list[str | None]:
        return [self.lo, self.hi]

    @classmethod
    def from_json(cls, value: Sequence[str | None]) -> PhoneRange:
        return cls(value[0], value[1])


def split_ranges(
    indexes: Iterable[RunIndex], *, rows_per_range: int = DEFAULT_ROWS_PER_RANGE, max_ranges: int = DEFAULT_MAX_RANGES
) -> list[PhoneRange]:
    """Ranges of about ``rows_per_range`` drafts each (at most ``max_ranges``), from the runs'
    indexes alone: every index entry stands for the RUN_INDEX_EVERY lines that follow it."""
    indexes = list(indexes)
    total = sum(index.lines for index in indexes)
    parts = max(1, min(max_ranges, math.ceil(total / max(rows_per_range, 1))))
    weighted: list[tuple[str, int]] = []
    for index in indexes:
        for position, (phone, _) in enumerate(index.entries):
            weighted.append((phone, min(RUN_INDEX_EVERY, index.lines - position * RUN_INDEX_EVERY)))
    weighted.sort()
    splitters: list[str] = []
    seen = 0
    for phone, weight in weighted:
        if len(splitters) + 1 >= parts:
            break
        # A splitter is a phone where a range begins: never the smallest (its range would be
        # empty), never the same twice (all rows of a phone are in one range).
        previous = splitters[-1] if splitters else weighted[0][0]
        if seen >= total * (len(splitters) + 1) / parts and phone != previous:
            splitters.append(phone)
        seen += weight
    bounds: list[str | None] = [None, *splitters, None]
    return [PhoneRange(lo, hi) for lo, hi in pairwise(bounds)]


# ------------------------------------------------------------------------------ reduce


def first_occurrences(runs: Iterable[Iterable[ContactDraft]]) -> Iterator[tuple[ContactDraft, int]]:
    """Each phone's first valid row over all runs, with how many later rows repeat it."""
    merged = heapq.merge(*runs, key=lambda draft: (draft.phone, draft.row))
    for _, group in groupby(merged, key=lambda draft: draft.phone):
        first = next(group)
        repeats = sum(1 for _ in group)  # noqa: B031 (the rest of the group, once)
        yield first, repeats


def reduce_range(
    runs: Iterable[Iterable[ContactDraft]],
    contacts: SharedListRepository,
    options: ImportOptions,
    context: RunContext,
    *,
    stop: Callable[[], bool] = lambda: False,
    check_every: int = 20,
) -> tuple[Tally, bool]:
    """Decide every phone of a range and write what is to be written; the tally, and whether it
    stopped early. ``stop`` is asked every ``check_every`` batches (a cancelled job stops): the tally
    then counts what was decided and written so far.

    Who else reduces into the list is looked up before the first read and before every write (see
    ``may_write_blind``); the look before a write also serves as the one before the next read."""
    tally = Tally()
    pending: list[ContactDraft] = []
    batches = 0
    looked = Reducers() if options.dry_run else contacts.reducers()
    for first, repeats in first_occurrences(runs):
        tally.skipped_duplicates += repeats
        pending.append(first)
        if len(pending) >= DECIDE_BATCH:
            looked = _decide(pending, contacts, options, context, tally, looked)
            pending = []
            batches += 1
            if batches % check_every == 0 and stop():
                return tally, True
    if pending:
        _decide(pending, contacts, options, context, tally, looked)
    return tally, False


def _decide(
    drafts: list[ContactDraft],
    contacts: SharedListRepository,
    options: ImportOptions,
    context: RunContext,
    tally: Tally,
    before_read: Reducers,
) -> Reducers:
    """Decide and write a batch; who reduced into the list at the last look (before this read, or
    now if the batch was written)."""
    existing = contacts.find_existing([draft.phone for draft in drafts])
    decisions = {draft.phone: _decision(draft, existing.get(draft.phone), options, context) for draft in drafts}
    writes = [decision.write for decision in decisions.values() if decision.write is not None]
    looked = before_read
    if writes and not options.dry_run:
        # A job announces itself before its first read: another job whose reads or writes fell
        # between our read and our write is seen here, still announced or by the count.
        looked = contacts.reducers()
        if may_write_blind(before_read, looked, context.job_id):
            contacts.write(writes)
        else:
            _write_guarded(decisions, existing, contacts, options, context)
    for decision in decisions.values():
        tally.count(decision.outcome)
    return looked


def _decision(
    draft: ContactDraft, existing: ExistingContact | None, options: ImportOptions, context: RunContext
) -> Decision:
    return decide(
        draft,
        existing,
        job_id=context.job_id,
        on_existing=options.on_existing,
        list_id=context.list_id,
        now=context.now,
    )


def _write_guarded(
    decisions: dict[str, Decision],
    existing: dict[str, ExistingContact],
    contacts: SharedListRepository,
    options: ImportOptions,
    context: RunContext,
) -> None:
    """Write ``decisions`` on the condition that each contact is still as read; those another job
    changed meanwhile are read again and decided again (a contact it created is then
    ``skipped_existing``, or ``updated`` over its version), until every write holds. ``decisions``
    ends with the outcomes that were written."""
    pending = {
        phone: GuardedWrite(decision.write, existing.get(phone))
        for phone, decision in decisions.items()
        if decision.write is not None
    }
    for _ in range(GUARDED_WRITE_ROUNDS):
        changed = contacts.write_unless_changed(list(pending.values()))
        if not changed:
            return
        fresh = contacts.find_existing(sorted(changed))
        pending = {}
        for phone in sorted(changed):
            decision = _decision(decisions[phone].draft, fresh.get(phone), options, context)
            decisions[phone] = decision
            if decision.write is not None:
                pending[phone] = GuardedWrite(decision.write, fresh.get(phone))
        if not pending:
            return
    raise ContactsKeptChanging(
        f"{len(pending)} contacts of list {context.list_id!r} kept changing under job {context.job_id}; "
        "the task is retried."
    )


# ------------------------------------------------------------------------------ prune


def missing_from_file(stored: Iterable[str], in_file: Iterable[str]) -> Iterator[str]:
    """The stored phones the file lacks; both in ascending order (the file's may repeat)."""
    file_phones = iter(in_file)
    current = next(file_phones, None)
    for phone in stored:
        while current is not None and current < phone:
            current = next(file_phones, None)
        if current != phone:
            yield phone
