"""POST /imports/preview: what the importer will make of a file, from the first bytes of it.

Everything here is the engine's own code (``pipeline``): the same detection of encoding and
delimiter, the same reader, the same column plan (``plan_file_columns``) and the same row
normalizer; this module only cuts the slice at its last complete line and reports. How sure a
column's field is (``confidence``) is said in docs/decisions.md, File preview.
"""

from __future__ import annotations

import codecs
import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from pydantic import BaseModel

from contacts_import.errors import EmptyFile, FileTooLarge, NotCsv
from contacts_import.models import MAPPING_TARGETS, ImportOptions, RowError
from contacts_import.pipeline.containers import GZIP_MAGIC, ZIP_MAGIC
from contacts_import.pipeline.encodings import AUTO, WINDOWS_1252
from contacts_import.pipeline.fields import CUSTOM_PREFIX, EMAIL, IGNORE, PHONE, matches_exactly
from contacts_import.pipeline.mapping import ColumnPlan, chosen_columns, plan_file_columns
from contacts_import.pipeline.normalize import PhoneNormalizer, RowNormalizer, is_blank_record, normalize_email
from contacts_import.pipeline.reading import CsvSource, Record
from contacts_import.profiles import MappingProfile
from contacts_import.service.mapping_profiles import with_matching_profile

MAX_PREVIEW_BYTES = 256 * 1024
PREVIEW_ROWS = 20
# Confidence of a column's field by how it was decided (docs/decisions.md, File preview).
CHOSEN = 1.0  # named by the request's mapping or headers, or by a profile
EXACT_HEADER = 0.9  # the header is one of the field's names ("Mobile", "E-mail")
HEADER_WORDS = 0.7  # the header's words say so ("Cell phone (work)")


class PreviewColumn(BaseModel):
    header: str
    field: str | None  # None: read by its header beside another field ("Phone 1 - Type", "Middle Name")
    confidence: float


class PreviewRow(BaseModel):
    row: int
    values: list[str]
    phone: str | None
    email: str | None
    errors: list[RowError]


class FilePreview(BaseModel):
    encoding: str
    delimiter: str
    has_header: bool
    columns: list[PreviewColumn]
    rows: list[PreviewRow]
    profile: str | None


@dataclass(frozen=True)
class _Slice:
    data: bytes
    cut: bool  # a partial last line was dropped


def complete_lines(data: bytes) -> _Slice:
    """The slice up to its last line break: a browser's slice ends mid-line, and that line is not
    a row of the file. A slice that is one line only is kept whole (a file of just a header)."""
    if data.endswith((b"\n", b"\r")) or data.endswith((b"\n\x00", b"\r\x00", b"\x00\n", b"\x00\r")):
        return _Slice(data, False)
    if data.startswith(codecs.BOM_UTF16_LE) or data.startswith(codecs.BOM_UTF16_BE):
        little = data.startswith(codecs.BOM_UTF16_LE)
        unit = b"\n\x00" if little else b"\x00\n"
        end = max(i for i in (_last_unit(data, unit), _last_unit(data, b"\r\x00" if little else b"\x00\r")))
        return _Slice(data[: end + 2], True) if end > 0 else _Slice(data, False)
    end = max(data.rfind(b"\n"), data.rfind(b"\r"))
    return _Slice(data[: end + 1], True) if end > 0 else _Slice(data, False)


def _last_unit(data: bytes, unit: bytes) -> int:
    at = data.rfind(unit)
    while at > 0 and at % 2:
        at = data.rfind(unit, 0, at)
    return at


def _ends_in_quotes(data: bytes, encoding: str) -> bool:
    """Whether text ends inside a quoted field: quotes come in pairs (a doubled one too) elsewhere."""
    return data.decode(encoding, errors="replace").count('"') % 2 == 1


def reported_encoding(source_encoding: str, data: bytes) -> str:
    """The codec the engine reads the file with, by its usual name: detection's "UTF-8 unless its
    first non-ASCII bytes say Windows-1252" is whichever of the two this slice is."""
    if source_encoding != AUTO:
        return codecs.lookup(source_encoding).name
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return codecs.lookup(WINDOWS_1252).name
    return "utf-8"


def preview_file(data: bytes, options: ImportOptions, profiles: Iterable[MappingProfile]) -> FilePreview:
    if len(data) > MAX_PREVIEW_BYTES:
        raise FileTooLarge(
            f"The preview takes at most the first {MAX_PREVIEW_BYTES} bytes of a file; this body is {len(data)}. "
            "Send a slice of the file's start.",
            details={"limit_bytes": MAX_PREVIEW_BYTES, "size_bytes": len(data)},
        )
    if data.startswith((GZIP_MAGIC, ZIP_MAGIC)):
        # A slice of an archive cannot be opened: its end (a gzip's trailer, a zip's directory) is missing.
        raise NotCsv(
            "The preview reads a text CSV: a compressed file or a workbook cannot be read from a slice of it. "
            "Import it whole (POST /imports or /imports/uploads).",
            details={"detected": "gzip" if data.startswith(GZIP_MAGIC) else "zip"},
        )
    piece = complete_lines(data)
    source = CsvSource(io.BytesIO(piece.data), encoding=options.encoding, delimiter=options.delimiter)
    records = [r for r in source.records() if not (isinstance(r, Record) and is_blank_record(r.fields))]
    if piece.cut and records and _ends_in_quotes(piece.data, source.encoding):
        records.pop()  # the cut fell inside a quoted field: that record is not whole either
    first = next((r for r in records if isinstance(r, Record)), None)
    if first is None:
        raise EmptyFile("The file has only blank lines.")
    # The import's own precedence: a file that names no mapping takes the profile its headers match.
    options = with_matching_profile(options, first.fields, lambda: profiles)
    plan = plan_file_columns(first.fields, options)
    data_records = records[records.index(first) + 1 :] if options.has_header else records[records.index(first) :]
    rows = _rows(data_records[:PREVIEW_ROWS], plan, options)
    return FilePreview(
        encoding=reported_encoding(source.encoding, piece.data),
        delimiter=source.delimiter,
        has_header=options.has_header,
        columns=_columns(plan, first.fields if options.has_header else None, options, rows),
        rows=rows,
        profile=options.mapping_profile,
    )


def _rows(records: Sequence[Record | RowError], plan: ColumnPlan, options: ImportOptions) -> list[PreviewRow]:
    normalizer = RowNormalizer(plan, options)
    rows: list[PreviewRow] = []
    for record in records:
        if isinstance(record, RowError):
            rows.append(PreviewRow(row=record.row, values=[], phone=None, email=None, errors=[record]))
            continue
        result = normalizer.normalize(record.row, record.fields)
        if isinstance(result, RowError):
            rows.append(PreviewRow(row=record.row, values=record.fields, phone=None, email=None, errors=[result]))
        else:
            rows.append(
                PreviewRow(row=record.row, values=record.fields, phone=result.phone, email=result.email, errors=[])
            )
    return rows


def column_fields(plan: ColumnPlan) -> list[str | None]:
    """Each column's field as the plan reads it, as a mapping names it: phone, email, a field,
    custom:<key>, or ignore; None for a column the engine reads by its header beside another field
    (a phone's type, a middle name), which a mapping leaves out."""
    fields: list[str | None] = [IGNORE] * plan.width
    for index in plan.phone_type_columns.values():
        fields[index] = None
    for index, key in plan.custom_columns:
        fields[index] = f"{CUSTOM_PREFIX}{key}"
    for name, index in plan.field_columns.items():
        fields[index] = name
    for index in plan.phone_columns:
        fields[index] = PHONE
    for index in plan.email_columns:
        fields[index] = EMAIL
    # A field no mapping can name (a middle name, composed into the name): the column is read by its
    # header, and a mapping leaves it out.
    return [f if f is None or f in MAPPING_TARGETS or f.startswith(CUSTOM_PREFIX) else None for f in fields]


def _columns(
    plan: ColumnPlan, header: Sequence[str] | None, options: ImportOptions, rows: Sequence[PreviewRow]
) -> list[PreviewColumn]:
    chosen = chosen_columns(plan, header, options)
    phones = PhoneNormalizer(options.default_region, options.phone_validation)
    columns: list[PreviewColumn] = []
    for index, field in enumerate(column_fields(plan)):
        name = plan.column_name(index)
        if index in chosen:
            confidence = CHOSEN
        elif field is None or field == IGNORE or field.startswith(CUSTOM_PREFIX) or header is None:
            confidence = 0.0
        else:
            confidence = EXACT_HEADER if matches_exactly(name) else HEADER_WORDS
            values = [r.values[index].strip() for r in rows if index < len(r.values) and r.values[index].strip()]
            if values and field in (PHONE, EMAIL):
                # The column's values agree with its header, or not: half of the confidence rests on them.
                readable = sum(
                    1
                    for v in values
                    if (isinstance(phones.normalize(v), tuple) if field == PHONE else normalize_email(v) is not None)
                )
                confidence *= 0.5 + 0.5 * readable / len(values)
        columns.append(PreviewColumn(header=name, field=field, confidence=round(confidence, 2)))
    return columns
