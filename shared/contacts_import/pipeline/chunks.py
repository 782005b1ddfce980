"""Planning a file into chunks that workers read in parallel, and reading one chunk.

A chunk is a byte range that starts and ends on a record boundary, with the spreadsheet row number
of its first record. The planner reads the file once, with the reader the workers use
(``reading.numbered_records``, csv.reader fed one line at a time, so that the bytes of every
record are known): a line break inside a quoted field is never a boundary, and a worker that starts
reading at a chunk's first byte sees exactly the records, numbers and row errors a single reader of
the whole file sees there. Chunks are cut by size in bytes; a small file is one chunk.

Files whose records cannot be found by byte offset in the object itself are *staged*: the planner
writes the text it reads to a staging object as UTF-8 CSV (or, for gzip around an ASCII-compatible
encoding, the decompressed bytes as they are) and plans byte ranges of that object instead:

- gzip: a compressed stream has no byte offsets a worker could start from;
- Excel ``.xlsx``: the first sheet's rows are written out as JSON lines, each with its row number
  (a zip is read from its end, not in ranges; rows a sheet lacks are not written at all);
- encodings in which a line break is not the byte ``\\n`` (UTF-16, EBCDIC...): transcoded to UTF-8.

The planner also settles what the single reader decides while it streams: the ``AUTO`` encoding
(UTF-8, or Windows-1252 when the first non-ASCII bytes say so) is resolved over the whole file, so
every chunk is decoded the same way. A file refused part-way (bytes that are not the file's
encoding, a gzip that is damaged or grows too large) is planned up to the last whole record before
that point, with the refusal kept as the plan's ``failure``: the rows before it are imported, as a
single reader would have imported them, and the job then ends failed. A file cut off (a gzip
without its trailer, ``TruncatedFile``) is refused whole instead: its rows are a prefix of the file
the sender meant, and its last row was cut in two.
"""

from __future__ import annotations

import codecs
import csv
import io
import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from itertools import accumulate
from typing import Any, BinaryIO, Protocol

from contacts_import.errors import EmptyFile, FileRejected, NotCsv, TruncatedFile
from contacts_import.models import RowError
from contacts_import.pipeline import reading
from contacts_import.pipeline.containers import GZIP_MAGIC, ZIP_MAGIC, XlsxSource, _BoundedGunzip, _seekable, is_xlsx
from contacts_import.pipeline.encodings import AUTO, errors_for
from contacts_import.pipeline.reading import (
    MAX_RECORD_CHARS,
    READ_BUFFER_BYTES,
    TEXT_BLOCK_CHARS,
    CountingReader,
    Record,
    TextFormat,
    decide_format,
    line_pieces,
    numbered_records,
    read_head,
    text_records,
    whole_lines,
)

DEFAULT_CHUNK_BYTES = 4 * 1024 * 1024
# What the planner decodes and splits at a time (``_WholeBlocks``): its lines cost a few times this.
PLAN_BLOCK_BYTES = 256 * 1024
# Called with the plan so far, each time a chunk is cut (``plan_chunks``).
ChunkCallback = Callable[["FilePlan"], None]
_ASCII = bytes(range(128))
# A chunk up to this size is read whole into memory (a map holds its records' drafts anyway).
MAX_WHOLE_CHUNK_BYTES = 16 * 1024 * 1024
# Codecs whose text is the same decoded whole or piece by piece, by codecs.lookup's names.
_STATELESS_CODECS = frozenset({"utf-8", "utf-8-sig", "cp1252", "iso8859-1", "iso8859-15", "ascii"})


class StagingSink(Protocol):
    """Where a staged file's bytes go (an S3 multipart upload in the service)."""

    def write(self, data: bytes) -> object: ...


@dataclass(frozen=True, slots=True)
class Chunk:
    start: int  # first byte, in the object the workers read
    end: int  # one past the last byte
    first_row: int  # spreadsheet row number of the first record
    lines_before: int = 0  # lines of the file before the chunk (row errors name file lines)

    def to_json(self) -> list[int]:
        return [self.start, self.end, self.first_row, self.lines_before]

    @classmethod
    def from_json(cls, value: list[int]) -> Chunk:
        return cls(*(int(v) for v in value))


@dataclass(frozen=True)
class FilePlan:
    """What the workers need to read a file in chunks, and what the run needs to map its columns."""

    staged: bool  # the chunks are ranges of the staging object, not of the uploaded one
    encoding: str  # the codec every chunk is decoded with (never AUTO)
    errors: str
    delimiter: str
    first_record: tuple[str, ...]  # the header, or without a header the first record (its width)
    chunks: tuple[Chunk, ...]
    failure: FileRejected | None = None
    sheet_rows: bool = False  # the staged object holds a workbook's rows as JSON lines, not CSV

    @property
    def text_format(self) -> TextFormat:
        return TextFormat(self.encoding, self.errors, self.delimiter)

    def to_json(self) -> dict[str, Any]:
        """The plan as the workers read it back (the failure is the job's to keep)."""
        return {
            "staged": self.staged,
            "encoding": self.encoding,
            "errors": self.errors,
            "delimiter": self.delimiter,
            "first_record": list(self.first_record),
            "chunks": [chunk.to_json() for chunk in self.chunks],
            "sheet_rows": self.sheet_rows,
        }

    @classmethod
    def from_json(cls, value: dict[str, Any]) -> FilePlan:
        return cls(
            staged=bool(value["staged"]),
            encoding=str(value["encoding"]),
            errors=str(value["errors"]),
            delimiter=str(value["delimiter"]),
            first_record=tuple(str(v) for v in value["first_record"]),
            chunks=tuple(Chunk.from_json(chunk) for chunk in value["chunks"]),
            sheet_rows=bool(value.get("sheet_rows", False)),
        )


def ascii_compatible(codec: str) -> bool:
    """Whether every ASCII byte is that character in this codec, with no state across lines: then
    ``\\r`` and ``\\n`` bytes are line breaks wherever they appear, and a chunk can start after one."""
    if codec == AUTO:
        return True
    try:
        return _ASCII.decode(codec) == _ASCII.decode("ascii")
    except (UnicodeDecodeError, LookupError):
        return False


def plan_chunks(
    stream: BinaryIO,
    *,
    has_header: bool,
    encoding: str | None = None,
    delimiter: str | None = None,
    chunk_bytes: int = DEFAULT_CHUNK_BYTES,
    max_bytes: int = 1024**3,
    stage: Callable[[], StagingSink] | None = None,
    on_chunk: ChunkCallback | None = None,
) -> FilePlan:
    """Read ``stream`` once and cut it into chunks of about ``chunk_bytes``.

    ``stage`` opens the staging object for the formats that need one (see the module docstring); a
    file that needs staging without it is refused as ``not_csv``. Raises what the single reader
    raises for a file that cannot be imported at all (empty, not a CSV, an unreadable first record).

    ``on_chunk`` is called with the plan so far each time a chunk is cut, so that it can be mapped
    while the rest is planned; the chunk is the plan's last, and its bytes are all handed to the
    staging sink by then. The plan so far decodes it as the whole plan will: while the ``AUTO``
    encoding is unresolved, everything read so far was ASCII, which either choice decodes alike.
    """
    head = read_head(stream)
    if head.startswith(GZIP_MAGIC):
        inflated = _BoundedGunzip(CountingReader(head, stream), max_bytes)
        inner_head = read_head(inflated)
        text_format = decide_format(inner_head, encoding=encoding, delimiter=delimiter)
        lines = _decoded_lines(CountingReader(inner_head, inflated), text_format, transcode=not _in_place(text_format))
        return _plan(lines, text_format, has_header, chunk_bytes, _open(stage), on_chunk, staged=True)
    if head.startswith(ZIP_MAGIC):
        workbook = _seekable(head, stream, max_bytes)
        if not is_xlsx(workbook):
            raise NotCsv("The file is a zip archive, not a CSV or an .xlsx workbook.", details={"detected": "zip"})
        return _plan_sheet(XlsxSource(workbook), has_header, chunk_bytes, _open(stage), on_chunk)
    text_format = decide_format(head, encoding=encoding, delimiter=delimiter)
    if _in_place(text_format):
        source = CountingReader(head, stream)
        if _read_in_blocks(text_format):
            blocks = _WholeBlocks(source, text_format, PLAN_BLOCK_BYTES)
            return _planned(
                blocks.records(),
                blocks.position,
                blocks.resolved,
                text_format,
                has_header,
                chunk_bytes,
                on_chunk,
                False,
            )
        lines = _decoded_lines(source, text_format, transcode=False)
        return _plan(lines, text_format, has_header, chunk_bytes, None, on_chunk, staged=False)
    lines = _decoded_lines(CountingReader(head, stream), text_format, transcode=True)
    return _plan(lines, text_format, has_header, chunk_bytes, _open(stage), on_chunk, staged=True)


def read_chunk(stream: BinaryIO, plan: FilePlan, chunk: Chunk) -> Iterator[Record | RowError]:
    """The records of one chunk; ``stream`` holds exactly its bytes."""
    if plan.sheet_rows:
        return sheet_records(stream)
    encoding = plan.encoding
    if encoding == "utf-8-sig" and chunk.start > 0:
        encoding = "utf-8"  # the mark is at the start of the file only; a chunk further on has none
    if chunk.end - chunk.start <= MAX_WHOLE_CHUNK_BYTES and codecs.lookup(encoding).name in _STATELESS_CODECS:
        # A chunk is decoded whole and its lines read from one list (``text_records``): the same
        # records as the stream below, without a call a line. Bytes that are not the encoding are
        # left to the stream, which says where they are.
        data = stream.read()
        stream = io.BytesIO(data)
        if not _short_lines(data, len(data)):  # which whole_lines would not take: read as a stream
            try:
                text = data.decode(encoding, plan.errors)
            except UnicodeError:
                pass
            else:
                return text_records(text, plan.delimiter, plan.encoding, chunk.first_row, chunk.lines_before)
    counter = CountingReader(b"", stream)
    text = io.TextIOWrapper(
        io.BufferedReader(counter, READ_BUFFER_BYTES), encoding=encoding, errors=plan.errors, newline=""
    )
    return numbered_records(
        line_pieces(text.read, TEXT_BLOCK_CHARS),
        plan.delimiter,
        plan.encoding,
        lambda: chunk.start + counter.bytes_read,
        chunk.first_row,
        chunk.lines_before,
    )


# ------------------------------------------------------------------------------ lines


def _short_lines(data: bytes, end: int) -> bool:
    """Lines shorter on average than ``whole_lines`` takes, said of the bytes before they are decoded."""
    return (data.count(b"\n", 0, end) + data.count(b"\r", 0, end)) * reading.WHOLE_TEXT_MIN_LINE_CHARS > end


def _read_in_blocks(text_format: TextFormat) -> bool:
    """Whether the planner reads the file in blocks (``_WholeBlocks``): a codec whose text is the
    same decoded whole or line by line."""
    return text_format.encoding == AUTO or codecs.lookup(text_format.encoding).name in _STATELESS_CODECS


def _in_place(text_format: TextFormat) -> bool:
    return ascii_compatible(text_format.encoding)


def _open(stage: Callable[[], StagingSink] | None) -> StagingSink:
    if stage is None:
        raise NotCsv("This file must be staged to be read in parts, and nowhere was given to stage it.")
    return stage()


@dataclass(frozen=True)
class _Lines:
    """Text lines for the reader, each with the bytes it takes in the object the workers will read;
    ``resolved`` answers the codec and error handler the workers decode with, once every line has
    been handed out (the AUTO encoding is settled by the file's first non-ASCII bytes)."""

    lines: Iterator[tuple[str, bytes]]
    resolved: Callable[[], tuple[str, str]]


def _decoded_lines(
    stream: BinaryIO, text_format: TextFormat, *, transcode: bool, decoder: codecs.IncrementalDecoder | None = None
) -> _Lines:
    if not transcode:
        if decoder is None:
            decoder = codecs.getincrementaldecoder(text_format.encoding)(text_format.errors)

        def in_place() -> Iterator[tuple[str, bytes]]:
            for raw in line_pieces(stream.read):
                yield decoder.decode(raw), raw
            tail = decoder.decode(b"", final=True)  # a character cut short at the end of the file
            if tail:
                yield tail, b""

        def resolved() -> tuple[str, str]:
            if text_format.encoding != AUTO:
                return text_format.encoding, text_format.errors
            chosen = getattr(decoder, "chosen", None) or "utf-8"
            return chosen, errors_for(chosen)

        return _Lines(in_place(), resolved)

    text = io.TextIOWrapper(
        io.BufferedReader(stream, READ_BUFFER_BYTES),  # type: ignore[arg-type]
        encoding=text_format.encoding,
        errors=text_format.errors,
        newline="",
    )
    return _Lines(
        ((piece, piece.encode("utf-8")) for piece in line_pieces(text.read, TEXT_BLOCK_CHARS)),
        lambda: ("utf-8", "strict"),
    )


def sheet_records(stream: BinaryIO) -> Iterator[Record | RowError]:
    """A staged sheet's rows back, as ``_plan_sheet`` wrote them: ``[row, [cells]]`` for a record,
    ``[row, code, message]`` for a row refused as it was read."""
    for line in io.BufferedReader(stream, READ_BUFFER_BYTES):  # type: ignore[arg-type]
        if line.strip():
            yield _sheet_row(json.loads(line))


def _sheet_row(value: list[Any]) -> Record | RowError:
    if isinstance(value[1], list):
        return Record(int(value[0]), [str(cell) for cell in value[1]])
    return RowError(row=int(value[0]), code=str(value[1]), message=str(value[2]))


def _sheet_line(record: Record | RowError) -> bytes:
    value = [record.row, record.fields] if isinstance(record, Record) else [record.row, record.code, record.message]
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode("utf-8") + b"\n"


# ------------------------------------------------------------------------------ the plan


class _Feed:
    """Hands the reader its lines one at a time, counting (and staging) the bytes handed out."""

    def __init__(self, lines: Iterator[tuple[str, bytes]], sink: StagingSink | None) -> None:
        self._lines = lines
        self._sink = sink
        self.consumed = 0
        self.lines = 0

    def __iter__(self) -> Iterator[str]:
        sink = self._sink
        for text, raw in self._lines:
            if sink is not None and raw:
                sink.write(raw)
            self.consumed += len(raw)
            if text.endswith(("\n", "\r")):
                self.lines += 1
            yield text


def _plan(
    lines: _Lines,
    text_format: TextFormat,
    has_header: bool,
    chunk_bytes: int,
    sink: StagingSink | None,
    on_chunk: ChunkCallback | None,
    staged: bool,
) -> FilePlan:
    feed = _Feed(lines.lines, sink)
    records = numbered_records(feed, text_format.delimiter, text_format.encoding, lambda: feed.consumed)
    position = lambda: (feed.consumed, feed.lines)  # noqa: E731
    return _planned(records, position, lines.resolved, text_format, has_header, chunk_bytes, on_chunk, staged)


def _planned(
    records: Iterator[Record | RowError],
    position: Callable[[], tuple[int, int]],
    resolved: Callable[[], tuple[str, str]],
    text_format: TextFormat,
    has_header: bool,
    chunk_bytes: int,
    on_chunk: ChunkCallback | None,
    staged: bool,
) -> FilePlan:
    def plan(first: tuple[str, ...], chunks: tuple[Chunk, ...], failure: FileRejected | None) -> FilePlan:
        encoding, errors = resolved()
        return FilePlan(
            staged=staged,
            encoding=encoding,
            errors=errors,
            delimiter=text_format.delimiter,
            first_record=first,
            chunks=chunks,
            failure=failure,
        )

    cut = None if on_chunk is None else lambda first, chunks: on_chunk(plan(first, chunks, None))
    return plan(*_cut(records, position, has_header, chunk_bytes, cut))


class _WholeBlocks:
    """The planner's records of a file read in place, a block at a time: each block of whole lines
    decoded in one call and its lines handed to csv.reader in one list, where the line-by-line
    reader (``_decoded_lines`` and ``numbered_records``) takes a call a line for both.

    A block's last record may go on in the next block: it is read again with the next block, and
    the records before it are whole. At the first thing in the file the line-by-line reader itself
    must decide (bytes that are not the encoding, a record over MAX_RECORD_CHARS or a quote that
    never closes, csv.reader's errors, lines without ``\\n``, a block of a single record), the rest
    of the file from the last whole record on is read line by line, as a reader started at a record
    boundary reads it: the records, rows and positions are those of the line-by-line reader
    (the planner's tests hold the two equal)."""

    def __init__(self, source: CountingReader, text_format: TextFormat, block_bytes: int) -> None:
        self._source = source
        self._block_bytes = block_bytes
        self._format = text_format
        self._decoder = codecs.getincrementaldecoder(text_format.encoding)(text_format.errors)
        self._bytes = 0  # up to the end of the last record handed out
        self._lines = 0
        self._feed: _Feed | None = None  # the line-by-line reader's, once it reads the rest

    def position(self) -> tuple[int, int]:
        if self._feed is not None:
            return self._bytes + self._feed.consumed, self._lines + self._feed.lines
        return self._bytes, self._lines

    def resolved(self) -> tuple[str, str]:
        if self._format.encoding != AUTO:
            return self._format.encoding, self._format.errors
        chosen = getattr(self._decoder, "chosen", None) or "utf-8"
        return chosen, errors_for(chosen)

    def records(self) -> Iterator[Record | RowError]:
        delimiter = self._format.delimiter
        carry, row = b"", 0
        base_bytes, base_lines = 0, 0  # where the carried bytes start: the end of a whole record
        while True:
            data = self._source.read(self._block_bytes)
            block = carry + data
            cut = block.rfind(b"\n") + 1
            if not data or not cut:
                carry = block
                break
            if _short_lines(block, cut):
                carry = block
                break
            body = block[:cut]
            try:
                text = self._decoder.decode(body)
            except UnicodeError:  # the decoder is left as it was: the line-by-line reader says where
                carry = block
                break
            lines = whole_lines(text)
            raw_lines = _RAW_LINES.findall(body)
            if lines is None or len(lines) != len(raw_lines):
                carry = block
                break
            offsets = [0, *accumulate(map(len, raw_lines))]
            del raw_lines, body
            taken, pending, stopped = 0, None, False  # taken: the lines read into whole records
            reader = csv.reader(lines, delimiter=delimiter, quotechar='"', doublequote=True)
            while True:
                try:
                    fields = next(reader)
                except StopIteration:
                    break
                except csv.Error:
                    stopped = True
                    break
                end = reader.line_num
                if end - taken > 1:
                    spanned = lines[taken:end]
                    if sum(map(len, spanned)) > MAX_RECORD_CHARS or "".join(spanned).count('"') % 2:
                        stopped = True
                        break
                if pending is not None:  # whole: csv.reader has read past it
                    row += 1
                    self._bytes, self._lines = base_bytes + offsets[taken], base_lines + taken
                    yield Record(row, pending)
                pending, pending_start = fields, taken
                taken = end
            if stopped:
                if pending is not None:  # whole: the record after it began
                    row += 1
                    self._bytes, self._lines = base_bytes + offsets[taken], base_lines + taken
                    yield Record(row, pending)
                start = taken
            else:
                start = pending_start if pending is not None else 0  # the last one, read again
            carry = block[offsets[start] :]
            base_bytes, base_lines = base_bytes + offsets[start], base_lines + start
            if stopped or start == 0:
                break
        if base_bytes == 0:
            # Nothing handed out: the line-by-line reader starts from the file's first byte, with a
            # decoder that has seen nothing (a byte-order mark is the first block's alone).
            self._decoder = codecs.getincrementaldecoder(self._format.encoding)(self._format.errors)
        rest = _decoded_lines(
            CountingReader(carry, self._source),  # type: ignore[arg-type]
            self._format,
            transcode=False,
            decoder=self._decoder,
        )
        self._bytes, self._lines = base_bytes, base_lines
        self._feed = feed = _Feed(rest.lines, None)
        yield from numbered_records(
            feed, delimiter, self._format.encoding, lambda: self.position()[0], row + 1, base_lines
        )


_RAW_LINES = re.compile(rb"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+")


def _plan_sheet(
    sheet: XlsxSource, has_header: bool, chunk_bytes: int, sink: StagingSink, on_chunk: ChunkCallback | None
) -> FilePlan:
    """A workbook's first sheet staged as JSON lines (see ``sheet_records``), cut into chunks."""
    written = 0

    def staged() -> Iterator[Record | RowError]:
        nonlocal written
        for record in sheet.records():
            line = _sheet_line(record)
            sink.write(line)
            written += len(line)
            yield record

    def plan(first: tuple[str, ...], chunks: tuple[Chunk, ...], failure: FileRejected | None) -> FilePlan:
        return FilePlan(
            staged=True,
            encoding="utf-8",
            errors="strict",
            delimiter=",",
            first_record=first,
            chunks=chunks,
            failure=failure,
            sheet_rows=True,
        )

    cut = None if on_chunk is None else lambda first, chunks: on_chunk(plan(first, chunks, None))
    return plan(*_cut(staged(), lambda: (written, 0), has_header, chunk_bytes, cut))


def _cut(
    records: Iterator[Record | RowError],
    position: Callable[[], tuple[int, int]],
    has_header: bool,
    chunk_bytes: int,
    cut: Callable[[tuple[str, ...], tuple[Chunk, ...]], None] | None = None,
) -> tuple[tuple[str, ...], tuple[Chunk, ...], FileRejected | None]:
    """The first record, the chunks and the refusal part-way (if any) of records; ``position``
    answers the bytes and lines read so far, which end at the record just yielded. ``cut`` is told
    of each chunk as it is cut: the first record and the chunks so far."""
    first: tuple[str, ...] | None = None
    chunks: list[Chunk] = []
    start, first_row, lines_before = 0, 1, 0
    boundary, boundary_lines = 0, 0  # the end of the last whole record, and the lines up to it
    failure: FileRejected | None = None
    try:
        for record in records:
            boundary, boundary_lines = position()
            if first is None:
                if isinstance(record, Record) and not record.fields:
                    continue  # leading empty lines: no header yet (and blank rows of chunk 0 without one)
                if isinstance(record, RowError):
                    raise NotCsv(f"The first row is not readable CSV: {record.message}", details={"row": record.row})
                first = tuple(record.fields)
                if has_header:
                    start, first_row, lines_before = boundary, record.row + 1, boundary_lines
                continue
            if boundary - start >= chunk_bytes:
                chunks.append(Chunk(start, boundary, first_row, lines_before))
                start, first_row, lines_before = boundary, record.row + 1, boundary_lines
                if cut is not None:
                    cut(first, tuple(chunks))
    except TruncatedFile:
        raise  # a prefix of the file the sender meant: nothing of it is imported
    except FileRejected as rejection:
        if first is None:
            raise
        failure = rejection  # refused part-way: what came before is planned, and imported
    if first is None:
        raise EmptyFile("The file has no rows.")
    if boundary > start or not chunks:
        chunks.append(Chunk(start, boundary, first_row, lines_before))
        if cut is not None:
            cut(first, tuple(chunks))
    return first, tuple(chunks), failure
