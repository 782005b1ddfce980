"""Hostile files, made small and on the fly: what `benchmarks/hostile.py` and the unit tests feed the
readers. Each is a few kilobytes that once cost the service minutes or hundreds of megabytes (see
the README's Limits section)."""

from __future__ import annotations

import io
import zipfile

_CONTENT_TYPES = (
    '<?xml version="1.0" encoding="UTF-8"?>'
    '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    '<Default Extension="xml" ContentType="application/xml"/>'
    '<Override PartName="/xl/workbook.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
    '<Override PartName="/xl/worksheets/sheet1.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
    '<Override PartName="/xl/sharedStrings.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/>'
    "</Types>"
)
_ROOT_RELS = (
    '<?xml version="1.0" encoding="UTF-8"?>'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/'
    'officeDocument" Target="xl/workbook.xml"/></Relationships>'
)
_WORKBOOK = (
    '<?xml version="1.0" encoding="UTF-8"?>'
    '<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
    'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
    '<sheets><sheet name="Sheet1" sheetId="1" r:id="rId1"/></sheets></workbook>'
)
_WORKBOOK_RELS = (
    '<?xml version="1.0" encoding="UTF-8"?>'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/'
    'worksheet" Target="worksheets/sheet1.xml"/>'
    '<Relationship Id="rId2" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/'
    'sharedStrings" Target="sharedStrings.xml"/></Relationships>'
)
MAIN_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"


def workbook(sheet_data: str, *, shared_strings: list[str] | str = (), dimension: str | None = None) -> bytes:
    """An .xlsx of one sheet from the raw XML of its ``<sheetData>`` content; ``shared_strings`` are
    the strings ``t="s"`` cells index (or the raw XML of ``<sst>``'s content)."""
    if not isinstance(shared_strings, str):
        shared_strings = "".join(f"<si><t>{text}</t></si>" for text in shared_strings)
    dim = f'<dimension ref="{dimension}"/>' if dimension else ""
    sheet = (
        f'<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="{MAIN_NS}">{dim}'
        f"<sheetData>{sheet_data}</sheetData></worksheet>"
    )
    sst = f'<?xml version="1.0" encoding="UTF-8"?><sst xmlns="{MAIN_NS}">{shared_strings}</sst>'
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        archive.writestr("[Content_Types].xml", _CONTENT_TYPES)
        archive.writestr("_rels/.rels", _ROOT_RELS)
        archive.writestr("xl/workbook.xml", _WORKBOOK)
        archive.writestr("xl/_rels/workbook.xml.rels", _WORKBOOK_RELS)
        archive.writestr("xl/worksheets/sheet1.xml", sheet)
        archive.writestr("xl/sharedStrings.xml", sst)
    return buffer.getvalue()


def inline_row(row: int, *cells: tuple[str, str]) -> str:
    """A ``<row>`` of inline-string cells given as (reference, text)."""
    inner = "".join(f'<c r="{ref}" t="inlineStr"><is><t>{text}</t></is></c>' for ref, text in cells)
    return f'<row r="{row}">{inner}</row>'


def shared_strings_bomb(unpacked_bytes: int = 50 * 1024 * 1024) -> bytes:
    """A workbook of a few rows whose shared-strings part unpacks to ``unpacked_bytes`` (about 114 KB
    packed for 50 MB): openpyxl loads every shared string when the workbook is opened."""
    one = "<si><t>" + "A" * 1000 + "</t></si>"
    count = unpacked_bytes // len(one)
    rows = inline_row(1, ("A1", "phone")) + inline_row(2, ("A2", "+12127365000"))
    return workbook(rows, shared_strings=one * count)


def sparse_sheet(last_row: int = 1_048_576) -> bytes:
    """4.7 KB: a sheet whose ``<dimension>`` claims A1:XFD<last_row>, with cells only at A1 and
    A<last_row>; a reader that pads absent rows and cells to the dimension builds a million rows
    of 16,384 cells."""
    rows = inline_row(1, ("A1", "phone")) + inline_row(last_row, (f"A{last_row}", "+12127365000"))
    return workbook(rows, dimension=f"A1:XFD{last_row}")


def wide_sheet(column: str = "XFD") -> bytes:
    """A sheet with a cell far beyond the column limit."""
    rows = inline_row(1, ("A1", "phone"), (f"{column}1", "far")) + inline_row(2, ("A2", "+12127365000"))
    return workbook(rows)


def entity_bomb() -> bytes:
    """A "billion laughs" in the shared strings: nested entities that expand exponentially."""
    entities = '<!ENTITY a0 "lol">' + "".join(f'<!ENTITY a{i} "{f"&a{i - 1};" * 10}">' for i in range(1, 10))
    sst = f'<?xml version="1.0"?><!DOCTYPE sst [{entities}]><sst xmlns="{MAIN_NS}"><si><t>&a9;</t></si></sst>'
    buffer = io.BytesIO(workbook(inline_row(1, ("A1", "phone"))))
    patched = io.BytesIO()
    with zipfile.ZipFile(buffer) as source, zipfile.ZipFile(patched, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            data = sst.encode() if info.filename == "xl/sharedStrings.xml" else source.read(info)
            target.writestr(info.filename, data)
    return patched.getvalue()


def endless_line(megabytes: int = 32, *, header: bytes = b"phone,name\n") -> bytes:
    """A header, then one line of ``megabytes`` MiB of commas without a line break, then a good row."""
    return header + b"," * (megabytes * 1024 * 1024) + b"\n+12127365000,Ann\n"


def endless_record(megabytes: int = 32) -> bytes:
    """One record of short quoted fields, each holding a line break: every physical line is short,
    and the record never ends before ``megabytes`` MiB."""
    piece = b'"\n",'
    return b"phone,name\n" + piece * (megabytes * 1024 * 1024 // len(piece)) + b'"x"\n+12127365000,Ann\n'
