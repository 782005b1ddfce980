"""Bytes to records, streamed: sniff the content, pick the encoding and delimiter, number the rows.

Only the first 64 KiB are looked at to decide; the rest flows through ``io.TextIOWrapper`` and
``csv.reader`` (both in C) so memory stays flat however long the file.
"""

from __future__ import annotations

import codecs
import csv
import io
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import BinaryIO

from contacts_import.errors import BadEncoding, EmptyFile, NotCsv
from contacts_import.models import RowError
from contacts_import.pipeline.encodings import AUTO, WINDOWS_1252, detect_encoding, errors_for, utf16_without_bom

HEAD_BYTES = 64 * 1024
READ_BUFFER_BYTES = 1024 * 1024
# Above this the csv module stops a field; what is longer is either a huge cell (refused as
# field_too_long) or an unclosed quote running on through the file (refused as unterminated_quote).
CSV_FIELD_LIMIT = 32 * 1024 + 1
CANDIDATE_DELIMITERS = (",", ";", "\t", "|")

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
        return numbered_records(self._text, self.delimiter, self.encoding, lambda: self.bytes_read)


def numbered_records(
    lines: Iterable[str],
    delimiter: str,
    encoding: str,
    bytes_read: Callable[[], int],
    first_row: int = 1,
    lines_before: int = 0,
) -> Iterator[Record | RowError]:
    """The records of text lines (split as ``newline=""`` splits them), numbered from ``first_row``;
    ``lines_before`` is how many lines of the file come before the first (for messages).

    csv.reader takes one line at a time and never reads past the end of the record it returns, so a
    reader started at any record boundary sees the records a reader of the whole file sees there.
    """
    record_lines: list[str] = []
    reader = csv.reader(_remembering(lines, record_lines), delimiter=delimiter, quotechar='"', doublequote=True)
    row = first_row - 1
    last_line = 0
    while True:
        try:
            fields = next(reader)
        except StopIteration:
            return
        except csv.Error as error:
            row += 1
            spanned = reader.line_num - last_line
            last_line = reader.line_num
            record_lines.clear()
            yield _reader_error(row, spanned, lines_before + reader.line_num, str(error))
            continue
        except UnicodeDecodeError:
            name = "UTF-8" if encoding in (AUTO, "utf-8-sig") else encoding
            raise BadEncoding(
                f"The file is not valid {name} near row {row + 1} (within the {READ_BUFFER_BYTES // 1024} KiB "
                f"before byte {bytes_read()}): it mixes encodings. Save it as UTF-8, or name its "
                "encoding with the encoding option.",
                details={"row": row + 1, "encoding": name, "before_byte": bytes_read()},
            ) from None
        row += 1
        spanned = reader.line_num - last_line
        last_line = reader.line_num
        if spanned > 1 and "".join(record_lines).count('"') % 2:
            # Closed quotes come in pairs (doubled ones too): an odd count over several lines is a
            # quote that never closed, which the csv module (non-strict) runs to the end of the file.
            record_lines.clear()
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
        record_lines.clear()
        yield Record(row, fields)


def _remembering(lines: Iterable[str], record_lines: list[str]) -> Iterator[str]:
    """The text's lines, each also kept in ``record_lines`` until the reader's record is done."""
    for line in lines:
        record_lines.append(line)
        yield line


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
