"""Bytes to records, streamed: sniff the content, pick the encoding and delimiter, number the rows.

Only the first 64 KiB are looked at to decide; the rest flows through ``io.TextIOWrapper`` and
``csv.reader`` (both in C). Text is read in pieces of bounded size (``line_pieces``) and a record is
cut at ``MAX_RECORD_CHARS`` while its lines are gathered, so memory stays flat however long the
file, and however long its lines.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import AnyStr, BinaryIO

from contacts_import.errors import BadEncoding, EmptyFile, NotCsv
from contacts_import.models import RowError
from contacts_import.pipeline.encodings import AUTO, WINDOWS_1252, detect_encoding, errors_for, utf16_without_bom

HEAD_BYTES = 64 * 1024
READ_BUFFER_BYTES = 1024 * 1024
# Above this the csv module stops a field; what is longer is either a huge cell (refused as
# field_too_long) or an unclosed quote running on through the file (refused as unterminated_quote).
CSV_FIELD_LIMIT = 32 * 1024 + 1
CANDIDATE_DELIMITERS = (",", ";", "\t", "|")
# A record (all its lines) longer than this is row_too_long, cut while it is read: memory holds at
# most this much of a record, whatever the file (docs/decisions.md, Rows and values).
MAX_RECORD_CHARS = 256 * 1024
# Lines are read in pieces of at most this many characters (or bytes), so a line without end
# is never held whole.
PIECE_SIZE = 64 * 1024
# Text is decoded this much at a time (TextIOWrapper's own chunk): bytes that are not the file's
# encoding then stop the rows just before them, not a whole buffer earlier.
TEXT_BLOCK_CHARS = 8192
_BREAK_TEXT = re.compile(r"\r\n|\r|\n")
_BREAK_BYTES = re.compile(rb"\r\n|\r|\n")
_LINE_ENDS = ("\n", "\r")

# Signatures of files people send by mistake: PDF, images, archives, office binaries, executables.
_BINARY_SIGNATURES: tuple[tuple[bytes, str], ...] = (
    (b"%PDF", "a PDF document"),
    (b"\x89PNG", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"GIF87a", "a GIF image"),
    (b"GIF89a", "a GIF image"),
    (b"PK\x03\x04", "a zip archive (or an .xlsx/.docx file)"),
    (b"\x1f\x8b", "a gzip archive"),
    (b"\xd0\xcf\x11\xe0", "an old Office document (.xls/.doc)"),
    (b"MZ", "a Windows executable"),
    (b"\x7fELF", "an executable"),
    (b"Rar!", "a RAR archive"),
    (b"7z\xbc\xaf", "a 7-Zip archive"),
)

csv.field_size_limit(CSV_FIELD_LIMIT)


class CountingReader(io.RawIOBase):
    """A raw stream that replays the already-read head, then the rest, counting bytes delivered."""

    def __init__(self, head: bytes, rest: BinaryIO) -> None:
        self._head = memoryview(head)
        self._rest = rest
        self.bytes_read = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:  # type: ignore[no-untyped-def]
        if self._head:
            n = min(len(buffer), len(self._head))
            buffer[:n] = self._head[:n]
            self._head = self._head[n:]
        else:
            chunk = self._rest.read(len(buffer))
            n = len(chunk)
            buffer[:n] = chunk
        self.bytes_read += n
        return n


def read_head(stream: BinaryIO) -> bytes:
    parts, size = [], 0
    while size < HEAD_BYTES:
        chunk = stream.read(HEAD_BYTES - size)
        if not chunk:
            break
        parts.append(chunk)
        size += len(chunk)
    return b"".join(parts)


def line_pieces(read: Callable[[int], AnyStr], block: int = READ_BUFFER_BYTES) -> Iterator[AnyStr]:
    """The lines of a stream (text or bytes) split as ``newline=""`` splits text (\\r\\n, \\r or
    \\n), in pieces of at most PIECE_SIZE plus a line break: a piece that ends with \\r or \\n
    ends its line, and a \\r\\n is never split between two pieces (a \\r at the end of a block
    waits for the next block, which may begin with its \\n)."""
    carry = None
    while True:
        chunk = read(block)
        if not chunk:
            break
        data = carry + chunk if carry else chunk
        breaks = _BREAK_BYTES if isinstance(data, bytes) else _BREAK_TEXT
        position, size = 0, len(data)
        while True:
            found = breaks.search(data, position)  # type: ignore[call-overload]
            if found is None or (found.end() == size and found.group() in (b"\r", "\r")):
                break
            yield from _pieces(data[position : found.end()], found.end() - found.start())
            position = found.end()
        rest = data[position:]
        carry = None
        if len(rest) <= PIECE_SIZE:
            carry = rest or None
            continue
        # A line longer than a piece so far: out it goes, but a \r at its end, whose \n may follow.
        held = 1 if rest[-1:] in (b"\r", "\r") else 0
        yield from _pieces(rest[: len(rest) - held], 0)
        carry = rest[len(rest) - held :] or None
    if carry:
        yield from _pieces(carry, 0)


def _pieces(line: AnyStr, break_length: int) -> Iterator[AnyStr]:
    """A line (``break_length`` characters of it its line break) in pieces: the break stays with the
    last one."""
    if len(line) <= PIECE_SIZE + break_length:
        yield line
        return
    body_end = len(line) - break_length
    starts = range(0, body_end, PIECE_SIZE)
    for start in starts[:-1]:
        yield line[start : start + PIECE_SIZE]
    yield line[starts[-1] :]


def sniff_content(head: bytes) -> None:
    """Refuse what is plainly not a CSV (EmptyFile, NotCsv) from the first bytes alone."""
    body = head
    for bom in (codecs.BOM_UTF8, codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE):
        if body.startswith(bom):
            body = body[len(bom) :]
            break
    if not body.strip(b" \t\r\n\x00"):
        raise EmptyFile("The file is empty.")
    for signature, what in _BINARY_SIGNATURES:
        if head.startswith(signature):
            raise NotCsv(f"The file is {what}, not a CSV.", details={"detected": what})
    utf16 = head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)) or utf16_without_bom(head)
    if not utf16 and b"\x00" in head:
        raise NotCsv("The file holds NUL bytes: it is binary, not a CSV text file.")


def detect_delimiter(head_text: str, complete: bool = True) -> str:
    """The candidate that splits the first records into the same number of fields, most often and
    into the most fields; comma when nothing splits the header. ``complete`` is False when the text
    was cut at the end of the first block (its last record is then partial and not looked at)."""
    records = _first_records(head_text, 25)
    if not complete and len(records) > 1:
        records = records[:-1]
    if not records:
        return ","
    best, best_score = ",", (0.0, 0)
    for delimiter in CANDIDATE_DELIMITERS:
        widths = [_width(record, delimiter) for record in records]
        if widths[0] < 2:
            continue
        rest = widths[1:]
        agreeing = sum(1 for width in rest if width == widths[0]) / len(rest) if rest else 1.0
        score = (agreeing, widths[0])
        if score > best_score:
            best, best_score = delimiter, score
    return best


def _first_records(text: str, limit: int) -> list[str]:
    """Up to ``limit`` records of text, split on line breaks outside quotes; blank lines skipped."""
    records: list[str] = []
    in_quotes, start, position = False, 0, 0
    length = len(text)
    while position < length and len(records) < limit:
        char = text[position]
        if char == '"':
            in_quotes = not in_quotes
        elif char in "\r\n" and not in_quotes:
            if text[start:position].strip():
                records.append(text[start:position])
            if char == "\r" and position + 1 < length and text[position + 1] == "\n":
                position += 1
            start = position + 1
        position += 1
    if len(records) < limit and text[start:].strip():
        records.append(text[start:])
    return records


def _width(record: str, delimiter: str) -> int:
    in_quotes, count = False, 1
    for char in record:
        if char == '"':
            in_quotes = not in_quotes
        elif char == delimiter and not in_quotes:
            count += 1
    return count


@dataclass(slots=True)
class Record:
    """One CSV record: its spreadsheet row number and its fields."""

    row: int
    fields: list[str]


@dataclass(frozen=True, slots=True)
class TextFormat:
    """How a file's text is read: the codec (possibly ``AUTO``), its error handler, the delimiter."""

    encoding: str
    errors: str
    delimiter: str


def decide_format(head: bytes, *, encoding: str | None = None, delimiter: str | None = None) -> TextFormat:
    """The encoding and delimiter of a file from its first block (refusing what is plainly no CSV).

    An encoding the user named is taken strictly: bytes it cannot decode are a bad_encoding."""
    sniff_content(head)
    chosen = encoding or detect_encoding(head)
    errors = "strict" if encoding else errors_for(chosen)
    try:
        head_text = head.decode(
            WINDOWS_1252 if chosen == AUTO and not _is_utf8(head) else ("utf-8" if chosen == AUTO else chosen),
            errors="ignore",
        )
    except LookupError as error:  # already checked by the options model; be safe anyway
        raise BadEncoding(f"Unknown encoding {chosen!r}.") from error
    return TextFormat(chosen, errors, delimiter or detect_delimiter(head_text.lstrip("\ufeff"), len(head) < HEAD_BYTES))


class CsvSource:
    """A readable CSV: the decided encoding and delimiter, and the records, numbered."""

    def __init__(self, stream: BinaryIO, *, encoding: str | None = None, delimiter: str | None = None) -> None:
        head = read_head(stream)
        text_format = decide_format(head, encoding=encoding, delimiter=delimiter)
        self.encoding = text_format.encoding
        self.delimiter = text_format.delimiter
        self._counter = CountingReader(head, stream)
        self._text = io.TextIOWrapper(
            io.BufferedReader(self._counter, READ_BUFFER_BYTES),
            encoding=self.encoding,
            errors=text_format.errors,
            newline="",
        )

    @property
    def bytes_read(self) -> int:
        return self._counter.bytes_read

    def records(self) -> Iterator[Record | RowError]:
        """Every record with its row number (1-based, the header is row 1), or a RowError for a record
        the reader could not take. Blank lines are yielded too: they still use up a row number."""
        return numbered_records(
            line_pieces(self._text.read, TEXT_BLOCK_CHARS), self.delimiter, self.encoding, lambda: self.bytes_read
        )


def numbered_records(
    pieces: Iterable[str],
    delimiter: str,
    encoding: str,
    bytes_read: Callable[[], int],
    first_row: int = 1,
    lines_before: int = 0,
) -> Iterator[Record | RowError]:
    """The records of text in pieces (as ``line_pieces`` cuts it), numbered from ``first_row``;
    ``lines_before`` is how many lines of the file come before the first (for messages).

    csv.reader takes one line at a time and never reads past the end of the record it returns, so a
    reader started at any record boundary sees the records a reader of the whole file sees there.
    A record over MAX_RECORD_CHARS is row_too_long, cut as soon as it is that long: reading resumes
    at the next record (see ``RecordLines``).
    """
    lines = RecordLines(pieces)
    reader = csv.reader(lines, delimiter=delimiter, quotechar='"', doublequote=True)
    row = first_row - 1
    last_line = 0
    while True:
        try:
            fields = next(reader)
        except StopIteration:
            return
        except RecordTooLong:
            row += 1
            last_line = lines.count
            lines.next_record()
            yield RowError(
                row=row,
                code="row_too_long",
                message=(
                    f"The row is over {MAX_RECORD_CHARS} characters; reading resumed at line "
                    f"{lines_before + lines.count + 1} of the file."
                ),
            )
            continue
        except csv.Error as error:
            row += 1
            spanned = lines.count - last_line
            last_line = lines.count
            lines.next_record()
            yield _reader_error(row, spanned, lines_before + lines.count, str(error))
            continue
        except UnicodeError:  # UnicodeDecodeError, or a codec's own (UTF-16 named but without its mark)
            name = "UTF-8" if encoding in (AUTO, "utf-8-sig") else encoding
            raise BadEncoding(
                f"The file is not valid {name} near row {row + 1} (within the {READ_BUFFER_BYTES // 1024} KiB "
                f"before byte {bytes_read()}): it mixes encodings. Save it as UTF-8, or name its "
                "encoding with the encoding option.",
                details={"row": row + 1, "encoding": name, "before_byte": bytes_read()},
            ) from None
        row += 1
        spanned = lines.count - last_line
        last_line = lines.count
        if spanned > 1 and "".join(lines.record).count('"') % 2:
            # Closed quotes come in pairs (doubled ones too): an odd count over several lines is a
            # quote that never closed, which the csv module (non-strict) runs to the end of the file.
            lines.next_record()
            yield RowError(
                row=row,
                code="unterminated_quote",
                message=(
                    f"A quoted field opens in row {row} and never closes; it ran to the end of the "
                    f"file ({spanned} lines were read into it)."
                ),
                value=fields[-1][:200] if fields else None,
            )
            continue
        lines.next_record()
        yield Record(row, fields)


# The lines of a text as ``newline=""`` splits them (\r\n, \r or \n), each with its line break.
WHOLE_TEXT_MIN_LINE_CHARS = 16
_LINES = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+")


def text_records(
    text: str, delimiter: str, encoding: str, first_row: int = 1, lines_before: int = 0
) -> Iterator[Record | RowError]:
    """``numbered_records`` of a whole text held in memory (a chunk, which starts and ends on a
    record boundary), with every line handed to csv.reader in one list instead of one call a line.

    What it yields is what ``numbered_records`` yields for the same text: a record is taken only
    when nothing of ``numbered_records``' own checks could apply to it (it is no longer than
    MAX_RECORD_CHARS, a record of several lines has closed its quotes, csv.reader raised nothing).
    At the first record that fails that, the rest of the text, from that record's first line, is
    read by ``numbered_records`` itself, which starts at any record boundary as a reader of the
    whole text would be there. Tests hold the two equal on any text."""
    lines = whole_lines(text)
    row, last = first_row - 1, 0
    if lines is not None:
        limit = MAX_RECORD_CHARS
        reader = csv.reader(lines, delimiter=delimiter, quotechar='"', doublequote=True)
        while True:
            try:
                fields = next(reader)
            except StopIteration:
                return
            except csv.Error:
                break
            end = reader.line_num
            if end - last > 1:
                spanned = lines[last:end]
                if sum(map(len, spanned)) > limit or "".join(spanned).count('"') % 2:
                    break
            row += 1
            last = end
            yield Record(row, fields)
        text = "".join(lines[last:])
    yield from numbered_records(
        line_pieces(_text_reader(text), TEXT_BLOCK_CHARS),
        delimiter,
        encoding,
        lambda: 0,
        row + 1,
        lines_before + last,
    )


def _text_reader(text: str) -> Callable[[int], str]:
    """``read`` of a text held in memory (io.StringIO would copy it, at four bytes a character)."""
    position = 0

    def read(size: int) -> str:
        nonlocal position
        piece = text[position : position + size]
        position += len(piece)
        return piece

    return read


def whole_lines(text: str) -> list[str] | None:
    """The lines of a text, or None where holding them at once would cost memory the line-by-line
    reader does not: lines shorter than WHOLE_TEXT_MIN_LINE_CHARS on average (a string a line then
    costs many times its characters), or a line over MAX_RECORD_CHARS (which csv.reader would build
    whole: a line of commas is as many fields)."""
    if (text.count("\n") + text.count("\r")) * WHOLE_TEXT_MIN_LINE_CHARS > len(text):
        return None
    lines = _LINES.findall(text)
    return None if max(map(len, lines), default=0) > MAX_RECORD_CHARS else lines


class RecordTooLong(Exception):
    """Raised through csv.reader by ``RecordLines`` when a record passes MAX_RECORD_CHARS."""


class RecordLines:
    """The lines csv.reader reads, gathered from pieces, with the current record's lines kept (for
    the unclosed-quote check) and measured. When a line would take the record past
    MAX_RECORD_CHARS, the rest of the record is read without being kept, up to the first line break
    outside quotes (an even count of quotes so far, as the unclosed-quote check counts them), and
    RecordTooLong is raised instead of a line: csv.reader passes it on and starts afresh on its next
    record. An iterator class, not a generator: it goes on after raising."""

    def __init__(self, pieces: Iterable[str], limit: int = MAX_RECORD_CHARS) -> None:
        self._pieces = iter(pieces)
        self._limit = limit
        self.record: list[str] = []
        self._record_chars = 0
        self.count = 0  # physical lines read

    def __iter__(self) -> RecordLines:
        return self

    def __next__(self) -> str:
        parts: list[str] = []
        size, ended = 0, False
        for piece in self._pieces:
            size += len(piece)
            if self._record_chars + size > self._limit:
                self._skip_record(parts, piece)
            parts.append(piece)
            if piece.endswith(_LINE_ENDS):
                ended = True
                break
        if not ended and not parts:
            raise StopIteration
        self.count += 1
        line = parts[0] if len(parts) == 1 else "".join(parts)
        self.record.append(line)
        self._record_chars += len(line)
        return line

    def _skip_record(self, parts: list[str], piece: str) -> None:
        quotes = sum(line.count('"') for line in self.record) + sum(part.count('"') for part in parts)
        quotes += piece.count('"')
        ended = piece.endswith(_LINE_ENDS)
        while True:
            if ended:
                self.count += 1
                if quotes % 2 == 0:
                    break
            following = next(self._pieces, None)
            if following is None:
                self.count += 0 if ended else 1  # a last line without a line break
                break
            quotes += following.count('"')
            ended = following.endswith(_LINE_ENDS)
        raise RecordTooLong

    def next_record(self) -> None:
        self.record.clear()
        self._record_chars = 0


def _reader_error(row: int, spanned: int, line: int, message: str) -> RowError:
    if "field larger than field limit" in message:
        if spanned > 1:
            return RowError(
                row=row,
                code="unterminated_quote",
                message=(
                    f"A quoted field opens in row {row} and does not close within {CSV_FIELD_LIMIT - 1} "
                    f"characters; reading resumed at line {line + 1} of the file."
                ),
            )
        return RowError(row=row, code="field_too_long", message=f"A field is over {CSV_FIELD_LIMIT - 1} characters.")
    return RowError(row=row, code="unterminated_quote", message=f"The row is not valid CSV: {message}.")


def _is_utf8(head: bytes) -> bool:
    try:
        codecs.getincrementaldecoder("utf-8")().decode(head, final=False)
        return True
    except UnicodeDecodeError:
        return False
