"""Hostile and broken input: every case ends in its stated answer, and nothing crashes the pipeline."""

from __future__ import annotations

import codecs
import csv
import gzip
import io
import zipfile

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from benchmarks.hostile_inputs import (
    endless_line,
    endless_record,
    entity_bomb,
    inline_row,
    shared_strings_bomb,
    sparse_sheet,
    wide_sheet,
    workbook,
)
from contacts_import.errors import (
    ContactsImportError,
    FileTooLarge,
    NotCsv,
    TooManyColumns,
    TruncatedFile,
    WorkbookTooLarge,
)
from contacts_import.models import ImportOptions
from contacts_import.pipeline import containers
from contacts_import.pipeline.containers import WorkbookLimits, open_records
from contacts_import.pipeline.reading import Record
from contacts_import.service.create_import import check_direct_body
from tests.memory import peak_allocated_mib
from tests.unit.helpers import run


def test_a_gzip_bomb_is_refused_by_its_decompressed_size():
    bomb = gzip.compress(b"phone\n" + b"1" * (4 * 1024 * 1024))
    with pytest.raises(FileTooLarge):
        list(open_records(io.BytesIO(bomb), max_bytes=1024 * 1024).records())


def test_a_gzip_bomb_is_refused_by_its_ratio(monkeypatch):
    monkeypatch.setattr(containers, "GZIP_RATIO_GRACE_BYTES", 1024 * 1024)
    bomb = gzip.compress(b"phone\n" + b"0" * (8 * 1024 * 1024))
    assert len(bomb) * containers.MAX_GZIP_RATIO < 8 * 1024 * 1024
    with pytest.raises(FileTooLarge, match="decompression bomb"):
        list(open_records(io.BytesIO(bomb)).records())


def test_damaged_gzip_is_not_csv():
    whole = gzip.compress(b"phone\n" + b"".join(f"+1212736{n:04d}\n".encode() for n in range(3000)))
    damaged = whole[:-8] + bytes(4) + whole[-4:]  # whole, but its CRC-32 does not match
    with pytest.raises(NotCsv, match="CRC"):
        list(open_records(io.BytesIO(damaged)).records())


def test_a_gzip_cut_off_is_a_truncated_file():
    whole = gzip.compress(b"phone\n" + b"".join(f"+1212736{n:04d}\n".encode() for n in range(3000)))
    with pytest.raises(TruncatedFile):
        list(open_records(io.BytesIO(whole[: len(whole) // 2])).records())


def test_a_zip_that_is_not_a_workbook_is_not_csv():
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("contacts.csv", "phone\n+12127365000\n")
    with pytest.raises(NotCsv, match="zip"):
        open_records(io.BytesIO(buffer.getvalue()))


@pytest.mark.parametrize(
    "data",
    [b"%PDF-1.7\n", b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff\xe0JFIF", b"MZ\x90\x00", b"\x7fELF\x02", b"phone\x00\n1"],
)
def test_binary_files_are_not_csv(data):
    with pytest.raises(NotCsv):
        open_records(io.BytesIO(data + bytes(range(256))))


def test_more_than_a_thousand_columns_fails_the_file():
    header = ",".join(["phone", *(f"c{i}" for i in range(1000))])
    with pytest.raises(TooManyColumns):
        run(f"{header}\n+12127365000\n".encode())


def test_an_unclosed_quote_reports_its_row_and_keeps_the_rows_before():
    data = b'phone,name\n+12127365000,Ann\n+16502530000,"Bob\n+14155552671,Cy\n+16172531000,Di\n'
    result, contacts, errors, _ = run(data)
    assert set(contacts.items) == {"+12127365000"}
    assert errors.codes() == [(3, "unterminated_quote")]
    ((error, _),) = errors.errors
    assert "row 3" in error.message and "end of the file" in error.message
    assert result.counts.total_rows == 2


def test_an_unclosed_quote_does_not_swallow_more_than_the_field_limit():
    rows = b"".join(f"+1212736{n:04d},Row {n}\n".encode() for n in range(4000))  # ~80 KiB after the quote
    data = b'phone,name\n+16502530000,"Open quote\n' + rows
    result, contacts, errors, _ = run(data, phone_validation="possible")
    assert errors.codes()[0] == (2, "unterminated_quote")
    assert "reading resumed" in errors.errors[0][0].message
    assert len(contacts.items) > 2000  # rows past the swallowed 32 KiB are read again
    assert result.counts.total_rows == result.counts.created + result.counts.invalid + result.counts.skipped_duplicates


def test_a_field_over_32_kib_is_field_too_long():
    result, _, errors, _ = run(b"phone,name\n+12127365000," + b"x" * (40 * 1024) + b"\n+16502530000,ok\n")
    assert errors.codes() == [(2, "field_too_long")]
    assert result.counts.created == 1


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.binary(max_size=3000))
def test_random_bytes_never_crash_the_pipeline(data):
    try:
        result, _, errors, _ = run(data, mapping=None)
    except ContactsImportError:
        return  # a failure code: an answer, not a crash
    counts = result.counts
    outcomes = (
        counts.created
        + counts.updated
        + counts.unchanged
        + counts.skipped_existing
        + counts.skipped_duplicates
        + counts.invalid
    )
    assert outcomes == counts.total_rows or result.failure is not None
    assert counts.invalid == len(errors.errors)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.binary(max_size=3000))
def test_random_bytes_behind_a_phone_header_never_crash_the_pipeline(data):
    try:
        result, _, errors, _ = run(b"phone,name\n" + data)
    except ContactsImportError:
        return
    assert result.counts.invalid == len(errors.errors)


CELL = st.text(
    alphabet=st.one_of(
        st.characters(codec="cp1252", categories=("L", "N", "P", "Zs", "S")),
        st.sampled_from([",", ";", "|", "\t", '"', "\n", "\r", "'", " "]),
    ),
    max_size=12,
)
ENCODINGS = ["utf-8", "utf-8-sig", "utf-16", "cp1252"]


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    width=st.integers(min_value=2, max_value=6),
    cells=st.lists(st.lists(CELL, min_size=6, max_size=6), max_size=12),
    delimiter=st.sampled_from([",", ";", "\t", "|"]),
    newline=st.sampled_from(["\n", "\r\n", "\r"]),
    encoding=st.sampled_from(ENCODINGS),
)
def test_any_table_comes_back_as_the_same_values(width, cells, delimiter, newline, encoding):
    header = [f"col{i}" for i in range(width)]
    rows = [row[:width] for row in cells]
    buffer = io.StringIO()
    # csv.writer quotes only the line-break characters of its own line terminator; a file with a bare
    # "\r" inside a value and "\n" line ends is ambiguous, so such tables are written fully quoted.
    bare_breaks = any(ch in cell for row in rows for cell in row for ch in "\r\n" if ch not in newline)
    quoting = csv.QUOTE_ALL if bare_breaks else csv.QUOTE_MINIMAL
    writer = csv.writer(buffer, delimiter=delimiter, lineterminator=newline, quoting=quoting)
    writer.writerow(header)
    writer.writerows(rows)
    data = buffer.getvalue().encode(encoding)
    if encoding == "utf-16":
        assert data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE))
    source = open_records(io.BytesIO(data))
    got = [r.fields for r in source.records() if isinstance(r, Record)]
    # A row of only empty cells is written as a line of delimiters; a lone empty cell as an empty line.
    expected = [header, *rows]
    assert source.delimiter == delimiter
    assert got == [row if any(row) or len(row) > 1 else [] for row in expected]


# ------------------------------------------------------------------------------ workbooks


def refusal(data: bytes) -> ContactsImportError | None:
    """What reading ``data`` whole raises (None: it was read)."""
    try:
        list(open_records(io.BytesIO(data)).records())
    except ContactsImportError as error:
        return error
    return None


def test_a_shared_strings_bomb_is_refused_before_it_is_unpacked():
    # Before: 114 KB whose shared strings unpack to 50 MB were loaded whole (75 MB) on every open.
    bomb = shared_strings_bomb()
    assert len(bomb) < 200_000
    peak, refused = peak_allocated_mib(lambda: refusal(bomb))
    assert isinstance(refused, WorkbookTooLarge) and "sharedStrings" in refused.message
    assert peak < 16


def test_a_direct_request_with_a_workbook_bomb_is_415():
    with pytest.raises(WorkbookTooLarge) as refused:
        check_direct_body(shared_strings_bomb(), ImportOptions())
    assert (refused.value.status, refused.value.api_code) == (415, "unsupported_media_type")


@pytest.mark.timeout(120)  # generous: it takes a fraction of a second; padded, it took 1,600 s
def test_a_sheet_that_claims_a_million_rows_is_read_by_the_rows_it_has():
    records = list(open_records(io.BytesIO(sparse_sheet())).records())
    assert [(r.row, r.fields) for r in records] == [(1, ["phone"]), (1_048_576, ["+12127365000"])]


def test_a_cell_beyond_the_column_limit_refuses_the_sheet():
    with pytest.raises(WorkbookTooLarge, match="column 1000"):
        list(open_records(io.BytesIO(wide_sheet())).records())


def test_rows_past_excels_last_and_cells_past_the_cap_refuse_the_sheet():
    beyond = workbook(inline_row(1, ("A1", "phone")) + inline_row(1_048_577, ("A1048577", "+12127365000")))
    with pytest.raises(WorkbookTooLarge, match="row 1048577"):
        list(open_records(io.BytesIO(beyond)).records())
    many = workbook("".join(inline_row(n, (f"A{n}", "+12127365000")) for n in range(1, 30)))
    with pytest.raises(WorkbookTooLarge, match="more than 20 cells"):
        list(open_records(io.BytesIO(many), workbook_limits=WorkbookLimits(cells=20)).records())


def test_each_part_the_total_and_the_ratio_are_bounded():
    rows = inline_row(1, ("A1", "phone")) + inline_row(2, ("A2", "+12127365000"))
    sheet = workbook(rows, shared_strings=["x" * 200] * 50)
    for limits, words in [
        (WorkbookLimits(shared_strings_bytes=1000), "the shared strings"),
        (WorkbookLimits(sheet_bytes=100), "a worksheet"),
        (WorkbookLimits(part_bytes=300), "a part"),
        (WorkbookLimits(total_bytes=5000), "unpacks to"),
        (WorkbookLimits(ratio=2, ratio_grace_bytes=1000), "decompression bomb"),
    ]:
        with pytest.raises(WorkbookTooLarge, match=words):
            open_records(io.BytesIO(sheet), workbook_limits=limits)
    assert [r.fields for r in open_records(io.BytesIO(sheet)).records()] == [["phone"], ["+12127365000"]]


def test_xml_entities_are_never_expanded():
    bomb = entity_bomb()
    peak, refused = peak_allocated_mib(lambda: refusal(bomb))
    assert type(refused) is NotCsv and peak < 16


def test_a_row_of_a_sheet_longer_than_a_record_may_be_is_row_too_long():
    cells = [(f"{column}2", "y" * 30_000) for column in "BCDEFGHIJ"]
    long_row = workbook(
        inline_row(1, ("A1", "phone")) + inline_row(2, ("A2", "+1"), *cells) + inline_row(3, ("A3", "x"))
    )
    records = list(open_records(io.BytesIO(long_row)).records())
    assert [(r.row, getattr(r, "code", "record")) for r in records] == [
        (1, "record"),
        (2, "row_too_long"),
        (3, "record"),
    ]


# ------------------------------------------------------------------------------ lines without end


def test_a_line_without_end_is_row_too_long_in_bounded_memory():
    # Before: one 16 MiB line of commas became 16 million fields (about 300 MB) before any limit.
    hostile = endless_line(16)
    peak, (result, contacts, errors, _) = peak_allocated_mib(lambda: run(hostile))
    assert errors.codes() == [(2, "row_too_long")]
    assert set(contacts.items) == {"+12127365000"} and result.counts.total_rows == 2
    assert peak < 24


def test_a_record_of_short_lines_without_end_resumes_at_the_next_record():
    hostile = endless_record(1)
    peak, (result, contacts, errors, _) = peak_allocated_mib(lambda: run(hostile))
    assert errors.codes() == [(2, "row_too_long")]
    assert "resumed at line" in errors.errors[0][0].message
    assert set(contacts.items) == {"+12127365000"} and result.counts.total_rows == 2
    assert peak < 12
