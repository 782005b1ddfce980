"""What a file is before it is a CSV: plain text, gzip around a CSV, or an Excel workbook.

``open_records`` looks at the first bytes and returns a record source for any of them, so the rest
of the pipeline never knows the difference:

- gzip (``.csv.gz``, or a body sent with ``Content-Encoding: gzip``) is decompressed as it streams,
  with a limit on the decompressed size and on the ratio, so a small bomb cannot fill a Lambda; a
  stream that stops before its trailer is ``truncated_file``, refused whole;
- ``.xlsx`` is read from its first sheet, streamed, within ``WorkbookLimits`` (what it may unpack
  to, its rows and cells), its XML parsed by defusedxml;
- any other zip, and every other binary format, is refused as ``not_csv`` by the CSV sniffer.
"""

from __future__ import annotations

import datetime as dt
import gzip
import io
import shutil
import tempfile
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, BinaryIO, Protocol

from contacts_import.errors import ContactsImportError, FileTooLarge, NotCsv, TruncatedFile, WorkbookTooLarge
from contacts_import.models import RowError
from contacts_import.pipeline.mapping import MAX_COLUMNS
from contacts_import.pipeline.reading import MAX_RECORD_CHARS, CountingReader, CsvSource, Record, read_head

GZIP_MAGIC = b"\x1f\x8b"
ZIP_MAGIC = b"PK\x03\x04"
# A CSV compresses about 5-10x; more than this is a bomb, not a contacts file.
MAX_GZIP_RATIO = 200
GZIP_RATIO_GRACE_BYTES = 16 * 1024 * 1024  # small files may compress far better: judge after this


class RecordSource(Protocol):
    """A readable table: records numbered as spreadsheet rows, and how far into the object it is."""

    encoding: str
    delimiter: str

    @property
    def bytes_read(self) -> int: ...

    def records(self) -> Iterator[Record | RowError]: ...


def open_records(
    stream: BinaryIO,
    *,
    encoding: str | None = None,
    delimiter: str | None = None,
    max_bytes: int = 1024**3,
    workbook_limits: WorkbookLimits | None = None,
) -> RecordSource:
    head = read_head(stream)
    if head.startswith(GZIP_MAGIC):
        return GzipCsvSource(head, stream, encoding=encoding, delimiter=delimiter, max_bytes=max_bytes)
    if head.startswith(ZIP_MAGIC):
        workbook_stream = _seekable(head, stream, max_bytes)
        if is_xlsx(workbook_stream):
            return XlsxSource(workbook_stream, workbook_limits)
        raise NotCsv("The file is a zip archive, not a CSV or an .xlsx workbook.", details={"detected": "zip"})
    return CsvSource(CountingReader(head, stream), encoding=encoding, delimiter=delimiter)


class _BoundedGunzip(io.RawIOBase):
    """Decompressed bytes of a gzip stream, refused past a size or a ratio."""

    def __init__(self, compressed: CountingReader, max_bytes: int) -> None:
        self._compressed = compressed
        self._gzip = gzip.GzipFile(fileobj=io.BufferedReader(compressed, 1024 * 1024), mode="rb")
        self._max_bytes = max_bytes
        self.decompressed = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:  # type: ignore[no-untyped-def]
        try:
            chunk = self._gzip.read(len(buffer))
        except EOFError:
            # gzip ends every member with an end-of-stream marker and a trailer (CRC-32, size): a
            # stream without them was cut off, in transit or on disk.
            raise TruncatedFile(
                f"The gzip stream ends after {self._compressed.bytes_read} compressed bytes, before its "
                "end-of-stream marker and trailer: the file was cut off. Nothing of it is imported.",
                details={"detected": "gzip", "missing": "gzip_trailer"},
            ) from None
        except (OSError, zlib.error) as error:
            raise NotCsv(f"The gzip data is damaged: {error}.", details={"detected": "gzip"}) from None
        n = len(chunk)
        buffer[:n] = chunk
        self.decompressed += n
        if self.decompressed > self._max_bytes:
            raise FileTooLarge(
                f"The file decompresses to more than {self._max_bytes} bytes, the limit.",
                details={"limit_bytes": self._max_bytes, "compressed": True},
            )
        if self.decompressed > GZIP_RATIO_GRACE_BYTES and self.decompressed > MAX_GZIP_RATIO * max(
            self._compressed.bytes_read, 1
        ):
            raise FileTooLarge(
                f"The file expands more than {MAX_GZIP_RATIO} times when decompressed: refused as a "
                "decompression bomb.",
                details={"max_ratio": MAX_GZIP_RATIO, "compressed": True},
            )
        return n


def check_gzip_complete(data: bytes, max_bytes: int = 1024**3) -> None:
    """Read a whole gzip body through, its decompressed bytes dropped as they come: TruncatedFile
    if it stops before its trailer, within the size and ratio limits of any gzip read."""
    gunzip = _BoundedGunzip(CountingReader(b"", io.BytesIO(data)), max_bytes)
    while gunzip.read(1024 * 1024):
        pass


class GzipCsvSource:
    """A CSV inside gzip; ``bytes_read`` counts compressed bytes, so progress follows the object."""

    def __init__(
        self, head: bytes, stream: BinaryIO, *, encoding: str | None, delimiter: str | None, max_bytes: int
    ) -> None:
        self._compressed = CountingReader(head, stream)
        self._csv = CsvSource(_BoundedGunzip(self._compressed, max_bytes), encoding=encoding, delimiter=delimiter)
        self.encoding = self._csv.encoding
        self.delimiter = self._csv.delimiter

    @property
    def bytes_read(self) -> int:
        return self._compressed.bytes_read

    def records(self) -> Iterator[Record | RowError]:
        return self._csv.records()


def _seekable(head: bytes, stream: BinaryIO, max_bytes: int) -> BinaryIO:
    """A zip is read from its end (the central directory): the stream must seek. S3 objects and
    files do; anything else is spooled to a temporary file first."""
    if getattr(stream, "seekable", lambda: False)():
        stream.seek(0)
        return stream
    spool = tempfile.SpooledTemporaryFile(max_size=32 * 1024 * 1024)  # noqa: SIM115 (returned open)
    spool.write(head)
    copied = shutil.copyfileobj(stream, spool) or 0
    if len(head) + copied > max_bytes:
        raise FileTooLarge(f"The workbook is over {max_bytes} bytes, the limit.")
    spool.seek(0)
    return spool  # type: ignore[return-value]


def is_xlsx(stream: BinaryIO) -> bool:
    try:
        with zipfile.ZipFile(stream) as archive:
            names = set(archive.namelist())
    except (zipfile.BadZipFile, OSError, ValueError):
        return False
    finally:
        stream.seek(0)
    return "xl/workbook.xml" in names


@dataclass(frozen=True)
class WorkbookLimits:
    """What a workbook may unpack to before anything reads it (docs/decisions.md, Files).

    Sizes are the uncompressed sizes the zip's directory declares: Python's zipfile never inflates a
    member past its declared size (the CRC check then fails), so they bound what is read. The
    shared strings are held in memory whole (openpyxl loads them on open); other XML parts are
    parsed whole too; worksheets are streamed, so they may be larger.
    """

    part_bytes: int = 16 * 1024 * 1024
    shared_strings_bytes: int = 128 * 1024 * 1024
    sheet_bytes: int = 512 * 1024 * 1024
    total_bytes: int = 768 * 1024 * 1024
    # A sheet's XML compresses 5 to 30 times; a part that unpacks more than this is a bomb. Tiny
    # parts compress far better and are judged by their size alone.
    ratio: int = 100
    ratio_grace_bytes: int = 1024 * 1024
    rows: int = 1_048_576  # Excel's own limit: no spreadsheet program writes a row beyond it
    cells: int = 20_000_000  # cells with a value or not, however they are laid out


# A direct request (at most 4 MiB of file) is checked in the API function, which has seconds and
# 1 GB: a 4 MiB workbook of contacts unpacks to some 40 MB.
DIRECT_WORKBOOK_LIMITS = WorkbookLimits(
    part_bytes=8 * 1024 * 1024,
    shared_strings_bytes=32 * 1024 * 1024,
    sheet_bytes=128 * 1024 * 1024,
    total_bytes=160 * 1024 * 1024,
)
_SHARED_STRINGS_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"
_XML_PART_SUFFIXES = (".xml", ".rels", ".vml")


def check_workbook_archive(stream: BinaryIO, limits: WorkbookLimits) -> None:
    """Refuse (WorkbookTooLarge) a workbook whose parts would unpack past ``limits``."""
    try:
        with zipfile.ZipFile(stream) as archive:
            members = archive.infolist()
            shared_strings = _shared_strings_parts(archive, limits)
    except zipfile.BadZipFile as error:
        raise NotCsv(f"The workbook cannot be read: {error}.", details={"detected": "xlsx"}) from None
    finally:
        stream.seek(0)
    total = 0
    for member in members:
        name, size = member.filename, member.file_size
        total += size
        if name.startswith("xl/worksheets/"):
            limit, what = limits.sheet_bytes, "a worksheet"
        elif name in shared_strings:
            limit, what = limits.shared_strings_bytes, "the shared strings"
        elif name.lower().endswith(_XML_PART_SUFFIXES):
            limit, what = limits.part_bytes, "a part"
        else:
            limit, what = limits.total_bytes, "a member"  # pictures and the like: never parsed
        if size > limit:
            raise _too_large(f"{what} ({name}) unpacks to {size} bytes; the limit is {limit}", name, limit)
        if size > limits.ratio_grace_bytes and size > limits.ratio * max(member.compress_size, 1):
            raise _too_large(
                f"{name} expands {size // max(member.compress_size, 1)} times when unpacked (at most "
                f"{limits.ratio}): refused as a decompression bomb",
                name,
                limits.ratio,
            )
    if total > limits.total_bytes:
        raise _too_large(f"the workbook unpacks to {total} bytes; the limit is {limits.total_bytes}", None, total)


def _shared_strings_parts(archive: zipfile.ZipFile, limits: WorkbookLimits) -> set[str]:
    """The parts [Content_Types].xml declares as shared strings (openpyxl finds them there too)."""
    from defusedxml.ElementTree import fromstring

    names = {"xl/sharedStrings.xml"}
    try:
        manifest = archive.getinfo("[Content_Types].xml")
    except KeyError:
        return names
    if manifest.file_size > limits.part_bytes:
        size, limit = manifest.file_size, limits.part_bytes
        raise _too_large(f"a part ({manifest.filename}) unpacks to {size} bytes; the limit is {limit}", None, limit)
    try:
        root = fromstring(archive.read(manifest))
    except Exception:  # defusedxml refuses entities; expat raises on damaged XML; openpyxl says the rest
        return names
    for override in root:
        if override.get("ContentType") == _SHARED_STRINGS_TYPE and override.get("PartName"):
            names.add(str(override.get("PartName")).lstrip("/"))
    return names


def _too_large(message: str, part: str | None, limit: int) -> WorkbookTooLarge:
    return WorkbookTooLarge(f"The workbook is refused: {message}.", details={"part": part, "limit": limit})


_MAIN = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
_ROW_TAG, _CELL_TAG = _MAIN + "row", _MAIN + "c"


class XlsxSource:
    """The first sheet of an .xlsx workbook, row by row, as text cells.

    Only the rows and cells the sheet holds are read: absent rows are blank rows (counted nowhere,
    docs/api.md), absent cells empty ones, and a ``<dimension>`` is never believed. Every XML
    element is dropped once read, so memory holds one row, whatever the sheet.
    """

    encoding = "xlsx"
    delimiter = ""

    def __init__(self, stream: BinaryIO, limits: WorkbookLimits | None = None) -> None:
        # Imported here: only workbooks pay for openpyxl's import.
        import openpyxl

        self._limits = limits or WorkbookLimits()
        check_workbook_archive(stream, self._limits)
        self._stream = stream
        try:
            self._workbook = openpyxl.load_workbook(stream, read_only=True, data_only=True, keep_links=False)
        except Exception as error:  # openpyxl raises many types for a damaged workbook (defusedxml's too)
            message = f"The workbook cannot be read: {type(error).__name__}."
            raise NotCsv(message, details={"detected": "xlsx"}) from None
        if not self._workbook.worksheets:
            raise NotCsv("The workbook has no sheet.", details={"detected": "xlsx"})
        self._sheet = self._workbook.worksheets[0]

    @property
    def bytes_read(self) -> int:
        try:
            return int(self._stream.tell())
        except (OSError, ValueError):
            return 0

    def records(self) -> Iterator[Record | RowError]:
        try:
            yield from self._rows()
        except ContactsImportError:
            raise
        except Exception as error:  # a damaged sheet: bad XML, a shared string that is not there...
            raise NotCsv(
                f"The workbook's first sheet cannot be read: {type(error).__name__}.", details={"detected": "xlsx"}
            ) from None
        finally:
            self._workbook.close()

    def _rows(self) -> Iterator[Record | RowError]:
        # openpyxl's own cell parser (values, shared strings, dates by number format) on our loop of
        # elements: its read-only rows pad every row to the sheet's dimension, and keep every row
        # element until the end. The private attributes are those ReadOnlyWorksheet itself uses.
        from openpyxl.worksheet._reader import WorkSheetParser
        from openpyxl.xml.functions import iterparse  # defusedxml's, since it is installed

        workbook, sheet, limits = self._workbook, self._sheet, self._limits
        cells = WorkSheetParser(
            None,
            sheet._shared_strings,
            data_only=True,
            epoch=workbook.epoch,
            date_formats=workbook._date_formats,
            timedelta_formats=workbook._timedelta_formats,
        )
        path: list[Any] = []  # the open elements, the sheet's root first
        in_cell = False
        row_values: dict[int, object] = {}
        cell_count = 0
        with sheet._get_source() as source:
            for event, element in iterparse(source, events=("start", "end")):
                if event == "start":
                    path.append(element)
                    if element.tag == _ROW_TAG:
                        cells.row_counter = _row_number(element.get("r"), cells.row_counter, limits)
                        cells.col_counter = 0
                        row_values = {}
                    elif element.tag == _CELL_TAG:
                        in_cell = True
                    continue
                path.pop()
                if element.tag == _CELL_TAG:
                    in_cell = False
                    cell_count += 1
                    if cell_count > limits.cells:
                        raise _too_large(f"the sheet holds more than {limits.cells} cells", None, limits.cells)
                    value = cells.parse_cell(element)
                    column = value["column"]
                    if column > MAX_COLUMNS or len(row_values) >= MAX_COLUMNS:
                        raise _too_large(
                            f"row {cells.row_counter} has a cell beyond column {MAX_COLUMNS}, the limit",
                            None,
                            MAX_COLUMNS,
                        )
                    if value["value"] is not None:
                        row_values[column] = value["value"]
                elif element.tag == _ROW_TAG and row_values:
                    yield _sheet_record(cells.row_counter, row_values)
                if path and not in_cell:
                    del path[-1][-1]  # the element just read leaves its parent: memory stays one row

    def __repr__(self) -> str:
        return f"XlsxSource({self._sheet.title!r})"


def _row_number(attribute: str | None, previous: int, limits: WorkbookLimits) -> int:
    try:
        number = int(attribute) if attribute is not None else previous + 1
    except ValueError:
        raise NotCsv(
            f"A row of the workbook has the number {attribute[:20]!r}.", details={"detected": "xlsx"}
        ) from None
    if number <= previous:
        raise NotCsv(f"Row {number} of the workbook comes after row {previous}.", details={"detected": "xlsx"})
    if number > limits.rows:
        raise _too_large(f"the sheet has a row {number}, past row {limits.rows}", None, limits.rows)
    return number


def _sheet_record(row: int, values: dict[int, object]) -> Record | RowError:
    """A sheet row as a record (its cells as text, by column), or row_too_long as a CSV record is."""
    fields = [""] * max(values)
    for column, value in values.items():
        fields[column - 1] = cell_text(value)
    if sum(map(len, fields)) > MAX_RECORD_CHARS:
        return RowError(row=row, code="row_too_long", message=f"The row is over {MAX_RECORD_CHARS} characters.")
    return Record(row, _trimmed(fields))


def _trimmed(cells: list[str]) -> list[str]:
    """Trailing empty cells (formatted but blank, say) are not fields."""
    end = len(cells)
    while end and not cells[end - 1]:
        end -= 1
    return cells[:end]


def cell_text(value: object) -> str:
    """A cell as the text a CSV export of the sheet would hold."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float):
        # Phone numbers typed into Excel are stored as numbers: 14155552671.0 is "14155552671".
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, dt.datetime):
        return value.isoformat(sep=" ") if value.time() != dt.time(0) else value.date().isoformat()
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    return str(value)
