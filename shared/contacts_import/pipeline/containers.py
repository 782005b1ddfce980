"""What a file is before it is a CSV: plain text, gzip around a CSV, or an Excel workbook.

``open_records`` looks at the first bytes and returns a record source for any of them, so the rest
of the pipeline never knows the difference:

- gzip (``.csv.gz``, or a body sent with ``Content-Encoding: gzip``) is decompressed as it streams,
  with a limit on the decompressed size and on the ratio, so a small bomb cannot fill a Lambda;
- ``.xlsx`` is read from its first sheet with openpyxl's read-only (streaming) reader;
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
from typing import BinaryIO, Protocol

from contacts_import.errors import FileTooLarge, NotCsv
from contacts_import.models import RowError
from contacts_import.pipeline.reading import CountingReader, CsvSource, Record, read_head

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
) -> RecordSource:
    head = read_head(stream)
    if head.startswith(GZIP_MAGIC):
        return GzipCsvSource(head, stream, encoding=encoding, delimiter=delimiter, max_bytes=max_bytes)
    if head.startswith(ZIP_MAGIC):
        workbook_stream = _seekable(head, stream, max_bytes)
        if is_xlsx(workbook_stream):
            return XlsxSource(workbook_stream)
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
        except (OSError, EOFError, zlib.error) as error:
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


class XlsxSource:
    """The first sheet of an .xlsx workbook, row by row, as text cells."""

    encoding = "xlsx"
    delimiter = ""

    def __init__(self, stream: BinaryIO) -> None:
        # Imported here: only workbooks pay for openpyxl's import.
        import openpyxl

        self._stream = stream
        try:
            self._workbook = openpyxl.load_workbook(stream, read_only=True, data_only=True)
        except Exception as error:  # openpyxl raises many types for a damaged workbook
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
        # Read-only rows come with blank rows filled in: their index is the spreadsheet row number.
        try:
            for number, values in enumerate(self._sheet.iter_rows(min_row=1, values_only=True), start=1):
                yield Record(number, _trimmed([cell_text(value) for value in values]))
        finally:
            self._workbook.close()


def _trimmed(cells: list[str]) -> list[str]:
    """Sheets report every row as wide as the widest; trailing empty cells are not fields."""
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
