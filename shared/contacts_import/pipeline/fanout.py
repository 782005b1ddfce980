"""An import as many small tasks that may run in any order, on any number of workers, any number
of times, and still count every row exactly as one reader of the whole file would.

1. **Map** (one task per chunk, see ``chunks``): every record of the chunk is normalized; a row
   error is stored under its row number; the valid rows become a *run*: drafts sorted by (contact
   key, row), one JSON line each, with a sparse index of (contact key, byte offset). A contact key
   is the phone's shard of the list, then the phone (``shards``).
2. **Ranges**: once every chunk is mapped, the contact keys are cut into ranges of about equal size
   from the runs' indexes (``split_ranges``), never across the edge of a shard that is cut itself:
   a range is part of one shard, or whole shards.
3. **Reduce** (one task per range): the parts of every run that fall in the range are merged by
   (contact key, row). The first row of a phone is its first valid occurrence in the whole file,
   whichever chunk it came from and whenever that chunk was mapped; the others are
   ``skipped_duplicates``. The winners are decided against the list as a single reader decides them
   (``outcomes.decide``), from reads taken while the task holds the leases of its shards.
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
import operator
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, fields
from itertools import groupby, pairwise
from typing import Any

from contacts_import.models import ImportOptions, RowError
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
from contacts_import.pipeline.reading import Record
from contacts_import.pipeline.shards import LEGACY, contact_key, shard_of, shard_of_key, shard_start

# A BatchGetItem takes at most 100 keys: winners are decided 100 at a time.
DECIDE_BATCH = 100
# A run's index has an entry every RUN_INDEX_EVERY lines, or more often in a small run, so that it
# has RUN_INDEX_AT_LEAST entries: a run sorted by contact key starts in its lowest shards, so an index
# of its first line alone would tell the ranges nothing of the shards above.
RUN_INDEX_EVERY = 256
RUN_INDEX_AT_LEAST = 64
DEFAULT_ROWS_PER_RANGE = 10_000
DEFAULT_MAX_RANGES = 1000
_DRAFT_FIELDS = tuple(f.name for f in fields(ContactDraft))
# A run line is a draft's fields in order, as a JSON list. One encoder and one getter for every line:
# json.dumps with options builds an encoder per call, which cost a map more than its sort.
_draft_values = operator.attrgetter(*_DRAFT_FIELDS)
_encode_line = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode


# ------------------------------------------------------------------------------ map


@dataclass(frozen=True)
class RunIndex:
    """Where a run's contact keys are: (key, byte offset) of every ``every``-th line, the first
    line's included; ``size`` is the run's length in bytes and ``lines`` its number of drafts."""

    entries: tuple[tuple[str, int], ...]
    size: int
    lines: int
    every: int = RUN_INDEX_EVERY

    def weights(self) -> Iterator[tuple[str, int]]:
        """(key, lines from it to the next entry) of every entry."""
        for position, (key, _) in enumerate(self.entries):
            yield key, min(self.every, self.lines - position * self.every)

    def span(self, keys: KeyRange) -> tuple[int, int] | None:
        """The bytes of the run that hold every draft in the range (and perhaps a few more)."""
        if not self.lines:
            return None
        indexed = [key for key, _ in self.entries]
        start = 0
        if keys.lo is not None:
            before = bisect.bisect_left(indexed, keys.lo) - 1  # the last indexed line below the range
            start = self.entries[before][1] if before >= 0 else 0
        end = self.size
        if keys.hi is not None:
            after = bisect.bisect_left(indexed, keys.hi)  # the first indexed line at or past its end
            end = self.entries[after][1] if after < len(indexed) else self.size
        return (start, end) if start < end else None

    def to_json(self) -> dict[str, Any]:
        return {"entries": [list(e) for e in self.entries], "size": self.size, "lines": self.lines, "every": self.every}

    @classmethod
    def from_json(cls, value: dict[str, Any]) -> RunIndex:
        entries = tuple((str(key), int(offset)) for key, offset in value["entries"])
        return cls(entries, int(value["size"]), int(value["lines"]), int(value.get("every", RUN_INDEX_EVERY)))


@dataclass
class MappedChunk:
    tally: Tally
    run: bytes
    index: RunIndex


def map_chunk(
    records: Iterable[Record | RowError], normalizer: RowNormalizer, row_errors: RowErrorSink, *, shards: int = LEGACY
) -> MappedChunk:
    """Normalize a chunk: row errors go to ``row_errors`` (keyed by row, so a repeat overwrites),
    valid rows become the chunk's run, in the order of a list of ``shards`` shards."""
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
    drafts.sort(key=lambda draft: (contact_key(draft.phone, shards), draft.row))
    run, index = encode_run(drafts, shards)
    return MappedChunk(tally, run, index)


def encode_run(drafts: Sequence[ContactDraft], shards: int = LEGACY) -> tuple[bytes, RunIndex]:
    """``drafts``, already in (contact key, row) order, as a run and its index."""
    lines: list[bytes] = []
    entries: list[tuple[str, int]] = []
    offset = 0
    every = max(1, min(RUN_INDEX_EVERY, len(drafts) // RUN_INDEX_AT_LEAST))
    for position, draft in enumerate(drafts):
        line = (_encode_line(_draft_values(draft)) + "\n").encode("utf-8")
        if position % every == 0:
            entries.append((contact_key(draft.phone, shards), offset))
        lines.append(line)
        offset += len(line)
    return b"".join(lines), RunIndex(tuple(entries), offset, len(drafts), every)


def decode_run(data: bytes, keys: KeyRange | None = None, shards: int = LEGACY) -> Iterator[ContactDraft]:
    """The drafts of (part of) a run, in order; with ``keys``, only those in the range."""
    # Every line is a JSON list and none holds a line break (JSON escapes it): the lines joined by
    # commas are one JSON array, parsed in one call instead of one a line.
    lines = json.loads(b"[" + data.strip(b"\n").replace(b"\n", b",") + b"]")
    for values in lines:
        # ContactDraft's fields in order: a field added to it without a place here fails loudly.
        row, phone, extension, name, first_name, last_name, email, company, tags, custom_fields = values
        if keys is None or keys.contains(contact_key(phone, shards)):
            yield ContactDraft(
                row, phone, extension, name, first_name, last_name, email, company, tuple(tags), custom_fields
            )


# ------------------------------------------------------------------------------ ranges


@dataclass(frozen=True, slots=True)
class KeyRange:
    """Contact keys ``lo <= key < hi``; None is open-ended."""

    lo: str | None
    hi: str | None

    def contains(self, key: str) -> bool:
        return (self.lo is None or key >= self.lo) and (self.hi is None or key < self.hi)

    def to_json(self) -> list[str | None]:
        return [self.lo, self.hi]

    @classmethod
    def from_json(cls, value: Sequence[str | None]) -> KeyRange:
        return cls(value[0], value[1])


def split_ranges(
    indexes: Iterable[RunIndex],
    *,
    rows_per_range: int = DEFAULT_ROWS_PER_RANGE,
    max_ranges: int = DEFAULT_MAX_RANGES,
    shards: int = LEGACY,
) -> list[KeyRange]:
    """Ranges of about ``rows_per_range`` drafts each (at most ``max_ranges``, and a few more where a
    shard's edges are cut), from the runs' indexes alone: every index entry stands for the
    RUN_INDEX_EVERY lines that follow it.

    A shard that a cut falls inside is also cut at its own edges, so a range is part of one shard or
    whole shards. A task on part of a shard then needs only that shard's lease, and two jobs can never
    each hold one shard of a pair that both of their tasks need (``store.leases``)."""
    indexes = list(indexes)
    total = sum(index.lines for index in indexes)
    parts = max(1, min(max_ranges, math.ceil(total / max(rows_per_range, 1))))
    weighted = sorted(weight for index in indexes for weight in index.weights())
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
    if shards > 1 and weighted:
        first_key = weighted[0][0]
        edges = {shard_start(shard_of_key(key)) for key in splitters} | {
            shard_start(shard_of_key(key) + 1) for key in splitters if shard_of_key(key) + 1 < shards
        }
        splitters = sorted({*splitters, *(edge for edge in edges if edge > first_key)})
    bounds: list[str | None] = [None, *splitters, None]
    return [KeyRange(lo, hi) for lo, hi in pairwise(bounds)]


# ------------------------------------------------------------------------------ reduce


def first_occurrences(
    runs: Iterable[Iterable[ContactDraft]], shards: int = LEGACY
) -> Iterator[tuple[ContactDraft, int]]:
    """Each phone's first valid row over all runs (each in contact-key order), with how many later
    rows repeat it."""
    merged = heapq.merge(*runs, key=lambda draft: (contact_key(draft.phone, shards), draft.row))
    for _, group in groupby(merged, key=lambda draft: draft.phone):
        first = next(group)
        repeats = sum(1 for _ in group)  # noqa: B031 (the rest of the group, once)
        yield first, repeats


def interleaved_first_occurrences(
    runs: Iterable[Iterable[ContactDraft]], shards: int = LEGACY
) -> Iterator[tuple[ContactDraft, int]]:
    """``first_occurrences`` of a range, taken from its shards in turn: a range of several shards
    then writes every batch over all of them at once (each shard is a partition key with a write
    limit of its own), instead of one shard after another."""
    if shards <= 1:
        yield from first_occurrences(runs, shards)
        return
    slices: dict[int, list[list[ContactDraft]]] = {}
    for run in runs:
        for shard, drafts in groupby(run, key=lambda draft: shard_of(draft.phone, shards)):
            slices.setdefault(shard, []).append(list(drafts))
    streams = [first_occurrences(slices[shard], shards) for shard in sorted(slices)]
    while streams:
        still = []
        for stream in streams:
            taken = next(stream, None)
            if taken is not None:
                yield taken
                still.append(stream)
        streams = still


def reduce_range(
    runs: Iterable[Iterable[ContactDraft]],
    contacts: ContactRepository,
    options: ImportOptions,
    context: RunContext,
    *,
    shards: int = LEGACY,
    stop: Callable[[], bool] = lambda: False,
    check_every: int = 20,
) -> tuple[Tally, bool]:
    """Decide every phone of a range and write what is to be written; the tally, and whether it
    stopped early. ``stop`` is asked every ``check_every`` batches (a cancelled job stops): the tally
    then counts what was decided and written so far. The caller holds the range's shards: nobody
    else writes these contacts between a batch's read and its write."""
    tally = Tally()
    pending: list[ContactDraft] = []
    batches = 0
    for first, repeats in interleaved_first_occurrences(runs, shards):
        tally.skipped_duplicates += repeats
        pending.append(first)
        if len(pending) >= DECIDE_BATCH:
            _decide(pending, contacts, options, context, tally)
            pending = []
            batches += 1
            if batches % check_every == 0 and stop():
                return tally, True
    if pending:
        _decide(pending, contacts, options, context, tally)
    return tally, False


def _decide(
    drafts: list[ContactDraft], contacts: ContactRepository, options: ImportOptions, context: RunContext, tally: Tally
) -> None:
    existing = contacts.find_existing([draft.phone for draft in drafts])
    decisions = [_decision(draft, existing.get(draft.phone), options, context) for draft in drafts]
    writes = [decision.write for decision in decisions if decision.write is not None]
    if writes and not options.dry_run:
        contacts.write(writes)
    for decision in decisions:
        tally.count(decision.outcome)


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
        build_items=not options.dry_run,  # a dry run writes nothing: its items would be thrown away
    )


# ------------------------------------------------------------------------------ prune


def missing_from_file(stored: Iterable[str], in_file: Iterable[str]) -> Iterator[str]:
    """The stored contact keys the file lacks; both in ascending order (the file's may repeat)."""
    file_phones = iter(in_file)
    current = next(file_phones, None)
    for phone in stored:
        while current is not None and current < phone:
            current = next(file_phones, None)
        if current != phone:
            yield phone
