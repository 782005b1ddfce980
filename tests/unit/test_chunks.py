"""The chunk planner: byte ranges on record boundaries whose records, read one range at a time,
are the records of the whole file with the same row numbers (and the same row errors)."""

from __future__ import annotations

import codecs
import gzip
import io
import itertools
import json

import openpyxl
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from benchmarks.hostile_inputs import endless_line, endless_record, sparse_sheet
from contacts_import.errors import BadEncoding, EmptyFile, NotCsv, TruncatedFile
from contacts_import.models import RowError
from contacts_import.pipeline import chunks, reading
from contacts_import.pipeline.chunks import FilePlan, ascii_compatible, plan_chunks, read_chunk
from contacts_import.pipeline.containers import open_records
from contacts_import.pipeline.reading import CsvSource, Record
from tests.memory import peak_allocated_mib


class Staging(io.BytesIO):
    """A staging object in memory."""


def plan(data: bytes, *, has_header: bool = True, chunk_bytes: int = 64, **kwargs) -> tuple[FilePlan, bytes]:
    """The plan, and the bytes its chunks are ranges of (the file, or what was staged)."""
    staging = Staging()
    file_plan = plan_chunks(
        io.BytesIO(data), has_header=has_header, chunk_bytes=chunk_bytes, stage=lambda: staging, **kwargs
    )
    return file_plan, staging.getvalue() if file_plan.staged else data


def chunked_records(data: bytes, **kwargs) -> list[Record | RowError]:
    file_plan, readable = plan(data, **kwargs)
    records: list[Record | RowError] = []
    for chunk in file_plan.chunks:
        records.extend(read_chunk(io.BytesIO(readable[chunk.start : chunk.end]), file_plan, chunk))
    return records


def whole_file_records(data: bytes, *, has_header: bool = True) -> list[Record | RowError]:
    """What one reader of the whole file yields after the header (or from the start, without one)."""
    records = list(open_records(io.BytesIO(data)).records())
    if not has_header:
        return records
    header = next(i for i, r in enumerate(records) if not isinstance(r, Record) or r.fields)
    return records[header + 1 :]


def as_tuples(records: list[Record | RowError]) -> list[tuple]:
    return [
        (r.row, "record", tuple(r.fields)) if isinstance(r, Record) else (r.row, r.code, r.message, r.value)
        for r in records
    ]


# ------------------------------------------------------------------------------ the property

_cell_text = st.text(alphabet='ab ,;"\n\r\té€ü😀ß', max_size=12)


@st.composite
def csv_files(draw: st.DrawFn) -> bytes:
    """CSV text with quoted line breaks, doubled and stray quotes, CRLF and LF, multibyte
    characters anywhere (so at the edges of chunks too), blank lines and, sometimes, a quote that
    never closes."""
    width = draw(st.integers(min_value=1, max_value=4))
    newline = draw(st.sampled_from(["\n", "\r\n", "\r"]))
    lines = [",".join(f"h{i}" for i in range(width))]
    for _ in range(draw(st.integers(min_value=0, max_value=25))):
        kind = draw(st.sampled_from(["quoted", "quoted", "plain", "blank", "stray"]))
        if kind == "blank":
            lines.append("")
            continue
        cells = draw(st.lists(_cell_text, min_size=1, max_size=width + 1))
        if kind == "quoted":
            lines.append(",".join('"' + c.replace('"', '""') + '"' for c in cells))
        elif kind == "plain":
            lines.append(",".join(c.replace('"', "").replace("\n", " ").replace("\r", " ") for c in cells))
        else:
            lines.append(",".join(cells))  # whatever the cells hold, raw: stray and unclosed quotes
    text = newline.join(lines) + draw(st.sampled_from(["", newline]))
    return text.encode(draw(st.sampled_from(["utf-8", "utf-8-sig"])))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=csv_files(), chunk_bytes=st.integers(min_value=1, max_value=400), has_header=st.booleans())
@example(data=b'h\n"a\nb"\n\xc3\xa9\n', chunk_bytes=1, has_header=True)
@example(data=b'h\r\n"a\r\nb"\r\nc\r\n', chunk_bytes=3, has_header=False)
def test_chunks_read_one_at_a_time_give_the_records_of_the_whole_file(data, chunk_bytes, has_header):
    try:
        expected = whole_file_records(data, has_header=has_header)
    except (NotCsv, EmptyFile, StopIteration):
        with pytest.raises((NotCsv, EmptyFile)):
            plan(data, has_header=has_header, chunk_bytes=chunk_bytes)
        return
    if expected and isinstance(expected[0], RowError) and not has_header:
        return  # an unreadable first record refuses the file: covered below
    file_plan, _ = plan(data, has_header=has_header, chunk_bytes=chunk_bytes)
    got = chunked_records(data, has_header=has_header, chunk_bytes=chunk_bytes)
    assert as_tuples(got) == as_tuples(expected)
    assert file_plan.failure is None
    chunks = file_plan.chunks
    assert all(a.end == b.start for a, b in itertools.pairwise(chunks)), "chunks tile the file"
    assert all(c.end - c.start >= chunk_bytes for c in chunks[:-1]), "every chunk but the last is full"


def line_by_line_plan(data: bytes, **kwargs) -> tuple[FilePlan, bytes]:
    """The plan the planner makes reading one line at a time, not in blocks."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(chunks, "_read_in_blocks", lambda text_format: False)
        return plan(data, **kwargs)


def as_plan_tuple(file_plan: FilePlan) -> tuple:
    failure = file_plan.failure
    return (file_plan.to_json(), None if failure is None else (failure.code, failure.message))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    data=csv_files() | st.binary(max_size=60).map(lambda tail: b"h,i\n\xc3\xa9,1\n" + tail),
    chunk_bytes=st.integers(min_value=1, max_value=400),
    block_bytes=st.integers(min_value=1, max_value=300),
    has_header=st.booleans(),
)
@example(data=b"\xef\xbb\xbfh\n", chunk_bytes=1, block_bytes=1, has_header=True)
@example(data=b'h\n"a\nb"\nc\n\xff\n', chunk_bytes=1, block_bytes=4, has_header=True)
def test_the_planner_in_blocks_plans_as_it_does_line_by_line(data, chunk_bytes, block_bytes, has_header):
    try:
        expected = as_plan_tuple(line_by_line_plan(data, has_header=has_header, chunk_bytes=chunk_bytes)[0])
    except (NotCsv, EmptyFile) as refusal:
        with pytest.raises(type(refusal)):
            plan(data, has_header=has_header, chunk_bytes=chunk_bytes)
        return
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(chunks, "PLAN_BLOCK_BYTES", block_bytes)
        patch.setattr(reading, "WHOLE_TEXT_MIN_LINE_CHARS", 0)  # short lines in blocks too
        got = as_plan_tuple(plan(data, has_header=has_header, chunk_bytes=chunk_bytes)[0])
    assert got == expected


# ------------------------------------------------------------------------------ examples


def test_a_small_file_is_one_chunk_after_its_header():
    data = b"phone,name\n+14155552671,Ann\n+12127365000,Bob\n"
    file_plan, _ = plan(data, chunk_bytes=1024)
    assert [(c.start, c.end, c.first_row) for c in file_plan.chunks] == [(11, len(data), 2)]
    assert file_plan.first_record == ("phone", "name")
    assert not file_plan.staged


def test_a_plan_round_trips_through_json():
    file_plan, _ = plan("phone;name\n+14155552671;Zoë\n".encode("cp1252"), chunk_bytes=1)
    assert FilePlan.from_json(json.loads(json.dumps(file_plan.to_json()))) == file_plan


def test_a_header_only_file_is_one_empty_chunk():
    file_plan, _ = plan(b"phone,name\n", chunk_bytes=4)
    assert [(c.start, c.end, c.first_row) for c in file_plan.chunks] == [(11, 11, 2)]


def test_a_line_break_inside_quotes_is_never_a_boundary():
    data = b'phone,note\n1,"a\nb\nc\nd"\n2,x\n'
    file_plan, _ = plan(data, chunk_bytes=1)
    starts = {c.start for c in file_plan.chunks}
    assert data.index(b"b\n") not in starts and data.index(b"c\n") not in starts
    assert [r.row for r in chunked_records(data, chunk_bytes=1)] == [2, 3]


def test_row_numbers_count_blank_lines_and_the_header():
    data = b"\n\nphone\n1\n\n2\n"
    got = chunked_records(data, chunk_bytes=1)
    assert [(r.row, r.fields) for r in got] == [(4, ["1"]), (5, []), (6, ["2"])]


def test_windows_1252_after_ascii_rows_is_settled_for_every_chunk():
    data = ("phone,name\n" + "1,Ann\n" * 50 + "2,Zoë\n").encode("cp1252")
    file_plan, _ = plan(data, chunk_bytes=16)
    assert file_plan.encoding == "cp1252" and len(file_plan.chunks) > 5
    assert chunked_records(data, chunk_bytes=16)[-1].fields == ["2", "Zoë"]


def test_utf8_that_turns_invalid_is_planned_up_to_the_last_whole_row_and_fails():
    # Past the first block (which alone decides UTF-8 against Windows-1252), so it is a mixed file.
    data = "phone,name\n1,Zoë\n".encode() + b"2,Ann\n" * 12_000 + b"3,Bj\xf6rn\n4,Eve\n"
    file_plan, _ = plan(data, chunk_bytes=10_000)
    assert isinstance(file_plan.failure, BadEncoding)
    assert "row 12003" in file_plan.failure.message
    assert [r.row for r in chunked_records(data, chunk_bytes=10_000)] == list(range(2, 12003))


def test_an_unreadable_first_row_refuses_the_file():
    with pytest.raises(NotCsv):
        plan(b'"' + b"x" * 40_000 + b"\n1\n")


def test_an_empty_file_is_refused():
    with pytest.raises(EmptyFile):
        plan(b"\n\n\n")


def test_utf16_is_transcoded_to_utf8_and_staged():
    text = 'phone,name\r\n+14155552671,Zoë\r\n+12127365000,"Bob\r\nJr"\r\n'
    data = codecs.BOM_UTF16_LE + text.encode("utf-16-le")
    file_plan, staged = plan(data, chunk_bytes=1)
    assert file_plan.staged and file_plan.encoding == "utf-8"
    assert staged == text.encode("utf-8")
    assert [(r.row, r.fields) for r in chunked_records(data, chunk_bytes=1)] == [
        (2, ["+14155552671", "Zoë"]),
        (3, ["+12127365000", "Bob\r\nJr"]),
    ]


def test_gzip_is_decompressed_and_staged_as_it_was():
    text = ("phone,name\n" + "".join(f"+1415555{i:04d},Zoë {i}\n" for i in range(200))).encode("cp1252")
    file_plan, staged = plan(gzip.compress(text), chunk_bytes=500)
    assert file_plan.staged and staged == text and file_plan.encoding == "cp1252"
    assert len(file_plan.chunks) > 3
    got = chunked_records(gzip.compress(text), chunk_bytes=500)
    assert as_tuples(got) == as_tuples(whole_file_records(text))


def test_a_damaged_gzip_part_way_keeps_the_rows_before():
    text = ("phone\n" + "".join(f"+1415555{i:04d}\n" for i in range(50_000))).encode()
    whole = gzip.compress(text)
    middle = len(whole) // 2
    broken = whole[:middle] + b"\xff" * 64 + whole[middle + 64 :]  # damaged, not cut off: its CRC fails
    file_plan, _ = plan(broken, chunk_bytes=100_000)
    assert isinstance(file_plan.failure, NotCsv)
    assert chunked_records(broken, chunk_bytes=100_000)[0].row == 2


def test_a_gzip_cut_off_before_its_trailer_is_refused_whole():
    text = ("phone\n" + "".join(f"+1415555{i:04d}\n" for i in range(50_000))).encode()
    for cut in (gzip.compress(text)[:-5000], gzip.compress(text)[:-8]):  # mid-stream, and just the trailer
        with pytest.raises(TruncatedFile, match="cut off") as refused:
            plan(cut, chunk_bytes=100_000)
        assert refused.value.details == {"detected": "gzip", "missing": "gzip_trailer"}


def test_xlsx_rows_come_back_the_same_from_the_staged_rows():
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(["Phone", "Name", "Note"])
    sheet.append([14155552671, "Zoë", 'says "hi",\r\nthen\nleaves\rnow'])
    sheet.append([])
    sheet.append(["+12127365000", "", "", ""])
    sheet.append([None, None, "a,b"])
    buffer = io.BytesIO()
    workbook.save(buffer)
    data = buffer.getvalue()
    file_plan, _ = plan(data, chunk_bytes=1)
    assert file_plan.staged and file_plan.first_record == ("Phone", "Name", "Note")
    assert as_tuples(chunked_records(data, chunk_bytes=1)) == as_tuples(whole_file_records(data))


def test_what_must_be_staged_is_refused_without_a_place_to_stage_it():
    with pytest.raises(NotCsv):
        plan_chunks(io.BytesIO(gzip.compress(b"phone\n1\n")), has_header=True)


@pytest.mark.parametrize(
    ("codec", "splits"),
    [("utf-8", True), ("cp1252", True), ("latin-1", True), ("shift_jis", True), ("utf-16", False), ("cp500", False)],
)
def test_which_encodings_are_read_in_place(codec, splits):
    assert ascii_compatible(codec) is splits


def test_a_chunk_starts_fresh_even_after_a_record_the_reader_refused():
    long_field = "x" * 40_000
    data = f'phone,note\n1,ok\n2,"{long_field}\nmore\n3,ok\n'.encode()
    expected = whole_file_records(data)
    assert any(isinstance(r, RowError) for r in expected)
    for chunk_bytes in (1, 10, 50_000):
        assert as_tuples(chunked_records(data, chunk_bytes=chunk_bytes)) == as_tuples(expected)


def test_csv_source_and_the_planner_agree_on_the_format():
    data = "Telefon;Name\n+49301234567;Jörg\n".encode("cp1252")
    source = CsvSource(io.BytesIO(data))
    file_plan, _ = plan(data)
    assert (file_plan.delimiter, file_plan.encoding) == (source.delimiter, "cp1252")


def test_a_sparse_sheet_is_staged_without_the_rows_it_lacks():
    # Before: every absent row was staged as an empty line, each padded to 16,384 cells (1,600 s).
    data = sparse_sheet()
    file_plan, staged = plan(data, chunk_bytes=1)
    assert file_plan.sheet_rows and len(staged) < 1000
    assert as_tuples(chunked_records(data, chunk_bytes=1)) == [(1_048_576, "record", ("+12127365000",))]


@pytest.mark.parametrize(
    ("hostile", "bound_mib"), [(endless_line(16), 24), (endless_record(1), 12)], ids=["line", "record"]
)
def test_a_record_without_end_is_planned_and_read_in_bounded_memory(hostile, bound_mib):
    # Before: the planner built the whole record (16 MiB of commas: 16 million fields, 300 MB; a
    # record of quoted line breaks, some 20 MB for each MiB).
    planned, file_plan = peak_allocated_mib(lambda: plan(hostile, chunk_bytes=1024))
    readable = file_plan[1]
    assert planned < bound_mib
    records: list[Record | RowError] = []
    read = peak_allocated_mib(
        lambda: [
            records.extend(read_chunk(io.BytesIO(readable[c.start : c.end]), file_plan[0], c))
            for c in file_plan[0].chunks
        ]
    )[0]
    assert read < bound_mib
    assert [(r.row, getattr(r, "code", None)) for r in records] == [(2, "row_too_long"), (3, None)]
    assert as_tuples(records) == as_tuples(whole_file_records(hostile))
