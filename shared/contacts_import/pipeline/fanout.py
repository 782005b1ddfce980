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
   (``outcomes.decide``), from reads taken while the task holds the leases of its shards
   (``reduce.reduce_range``). Runs and ranges are written and read by ``runs``.
4. **Prune** (mirror mode, one task per range): the list's contacts in the range that no run holds.

Nothing here is remembered between tasks but what they store: runs are rewritten identically by a
repeated map, outcomes are derived from the contacts (``created_job_id``/``import_job_id``), and
ranges are a function of the runs. Memory is bounded by a chunk (map) or a range (reduce, prune).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from itertools import pairwise

from contacts_import.models import RowError
from contacts_import.pipeline.normalize import ContactDraft, RowNormalizer, is_blank_record
from contacts_import.pipeline.reading import Record
from contacts_import.pipeline.runs import KeyRange, RunIndex, encode_run
from contacts_import.pipeline.shards import LEGACY, contact_key, shard_of_key, shard_start
from contacts_import.pipeline.stores import RowErrorSink
from contacts_import.pipeline.tally import Tally

DEFAULT_ROWS_PER_RANGE = 10_000
DEFAULT_MAX_RANGES = 1000

# ------------------------------------------------------------------------------ map


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
            continue  # not a row: a blank line, or one of only delimiters
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


# ------------------------------------------------------------------------------ ranges


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
