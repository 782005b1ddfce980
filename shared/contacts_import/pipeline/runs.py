"""The run file format: a map's valid rows, one JSON line a draft in (contact key, row) order, with
a sparse index of where its contact keys are; and the ranges of contact keys that reduces take.

A run is rewritten identically by a repeated map (the same drafts, the same bytes), so a task that
runs twice overwrites its own output with the same content.
"""

from __future__ import annotations

import bisect
import json
import json.encoder
import operator
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, fields
from typing import Any

from contacts_import.pipeline.normalize import ContactDraft
from contacts_import.pipeline.shards import LEGACY, contact_key

# A run's index has an entry every RUN_INDEX_EVERY lines, or more often in a small run, so that it
# has RUN_INDEX_AT_LEAST entries: a run sorted by contact key starts in its lowest shards, so an index
# of its first line alone would tell the ranges nothing of the shards above.
RUN_INDEX_EVERY = 256
RUN_INDEX_AT_LEAST = 64
DECODE_BLOCK_BYTES = 16 * 1024
_DRAFT_FIELDS = tuple(f.name for f in fields(ContactDraft))
# A run line is a draft's fields in order, as a JSON list. One encoder and one getter for every line:
# json.dumps with options builds an encoder per call, which cost a map more than its sort.
_draft_values = operator.attrgetter(*_DRAFT_FIELDS)
_LINE_ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))
# The C encoder that encode() builds anew on every call, built once: the same text for a third less
# of a line's cost (tests hold the two equal).
_C_ENCODE = (
    json.encoder.c_make_encoder(
        None, _LINE_ENCODER.default, json.encoder.encode_basestring, None, ":", ",", False, False, True
    )
    if json.encoder.c_make_encoder is not None
    else None
)


def _encode_line(values: tuple[Any, ...]) -> str:
    if _C_ENCODE is None:
        return _LINE_ENCODER.encode(values)
    return "".join(_C_ENCODE(values, 0))


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
    # Every line is a JSON list and none holds a line break (JSON escapes it): a block of lines joined
    # by commas is one JSON array, parsed in one call instead of one a line. A block at a time, so
    # that a reduce merging many runs holds a block of each, not each run decoded whole.
    start = 0
    while start < len(data):
        end = data.find(b"\n", start + DECODE_BLOCK_BYTES)
        end = len(data) if end < 0 else end + 1
        block = data[start:end].strip(b"\n")
        start = end
        for values in json.loads(b"[" + block.replace(b"\n", b",") + b"]"):
            # ContactDraft's fields in order: a field added to it without a place here fails loudly.
            row, phone, extension, name, first_name, last_name, email, company, tags, custom_fields = values
            if keys is None or keys.contains(contact_key(phone, shards)):
                yield ContactDraft(
                    row, phone, extension, name, first_name, last_name, email, company, tuple(tags), custom_fields
                )


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
