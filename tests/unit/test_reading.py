"""Reading: content sniffing, encodings, delimiters, row numbers, and csv-spectrum conformance."""

from __future__ import annotations

import codecs
import io
import json
from pathlib import Path

import pytest

from contacts_import.errors import BadEncoding, EmptyFile, NotCsv
from contacts_import.models import RowError
from contacts_import.pipeline.encodings import AUTO
from contacts_import.pipeline.reading import HEAD_BYTES, CsvSource, Record

SPECTRUM = Path(__file__).resolve().parents[1] / "data" / "csv-spectrum"


def records(data: bytes, **kwargs) -> list[Record | RowError]:
    return list(CsvSource(io.BytesIO(data), **kwargs).records())


@pytest.mark.parametrize("name", sorted(p.stem for p in (SPECTRUM / "csvs").glob("*.csv")))
def test_csv_spectrum_records_match_the_expected_values(name):
    expected = json.loads((SPECTRUM / "json" / f"{name}.json").read_text(encoding="utf-8"))
    expected = expected if isinstance(expected, list) else [expected]  # one file holds a lone object
    data = (SPECTRUM / "csvs" / f"{name}.csv").read_bytes()
    if b"\r" not in data:
        # The *_crlf files in our copy hold LF line ends only; a quoted line break is what the file has.
        expected = [{k: v.replace("\r\n", "\n") for k, v in row.items()} for row in expected]
    got = records(data)
    header, *rows = [r.fields for r in got if isinstance(r, Record) and r.fields]
    parsed = [dict(zip(header, row, strict=True)) for row in rows]
    if name == "location_coordinates":
        # Upstream's JSON gives another phone number than its own CSV holds: compare the rest.
        assert parsed[0].pop("Contact Phone Number") == "2095257564"
        expected[0].pop("Contact Phone Number")
    assert parsed == expected


@pytest.mark.parametrize(
    ("data", "error"),
    [
        (b"", EmptyFile),
        (b"  \r\n\r\n", EmptyFile),
        (codecs.BOM_UTF8, EmptyFile),
        (b"%PDF-1.7\n...", NotCsv),
        (b"PK\x03\x04rest-of-zip", NotCsv),
        (b"phone\n+1212\x007365000\n", NotCsv),
    ],
)
def test_what_is_plainly_not_a_csv_is_refused_from_the_first_bytes(data, error):
    with pytest.raises(error):
        CsvSource(io.BytesIO(data))


def test_crlf_files_read_like_lf_files():
    lf = records(b'a,b\n1,"x\ny"\n2,z\n')
    crlf = records(b'a,b\r\n1,"x\r\ny"\r\n2,z\r\n')
    assert [r.fields for r in crlf] == [["a", "b"], ["1", "x\r\ny"], ["2", "z"]]
    assert [r.row for r in crlf] == [r.row for r in lf]


def test_csv_spectrum_files_go_through_the_whole_pipeline():
    # Their first column is mapped to the phone: each file's rows are all counted, none lost.
    from tests.unit.helpers import run

    for path in sorted((SPECTRUM / "csvs").glob("*.csv")):
        data = path.read_bytes()
        header = next(r for r in records(data) if isinstance(r, Record)).fields
        data_rows = [r for r in records(data)[1:] if isinstance(r, Record) and any(f.strip() for f in r.fields)]
        result = run(data, mapping={header[0]: "phone"}, phone_validation="possible")[0]
        counts = result.counts
        assert counts.total_rows == len(data_rows), path.name
        assert counts.created + counts.invalid + counts.skipped_duplicates == counts.total_rows, path.name


def test_row_numbers_are_spreadsheet_rows_even_across_quoted_line_breaks():
    data = b'phone,note\n1,"two\nlines"\n\n2,x\r\n3,"a\r\nb"\n4,y'
    got = [(r.row, r.fields) for r in records(data) if isinstance(r, Record)]
    assert got == [
        (1, ["phone", "note"]),
        (2, ["1", "two\nlines"]),
        (3, []),
        (4, ["2", "x"]),
        (5, ["3", "a\r\nb"]),
        (6, ["4", "y"]),
    ]


@pytest.mark.parametrize(
    ("data", "encoding"),
    [
        ("phone,name\n1,Zoë\n".encode(), AUTO),
        (codecs.BOM_UTF8 + "phone,name\n1,Zoë\n".encode(), "utf-8-sig"),
        (codecs.BOM_UTF16_LE + "phone,name\n1,Zoë\n".encode("utf-16-le"), "utf-16"),
        ("phone,name\n1,Zoë “quoted”\n".encode("cp1252"), "cp1252"),
    ],
)
def test_encodings_are_detected(data, encoding):
    source = CsvSource(io.BytesIO(data))
    assert source.encoding == encoding
    assert [r.fields for r in source.records()][1][1].startswith("Zoë")


def test_the_bom_does_not_stick_to_the_first_header():
    assert records(codecs.BOM_UTF8 + b"phone\n1\n")[0].fields == ["phone"]


@pytest.mark.parametrize(("delimiter", "name"), [(";", "semicolon"), ("\t", "tab"), ("|", "pipe"), (",", "comma")])
def test_delimiters_are_detected_from_the_header(delimiter, name):
    data = f'phone{delimiter}name{delimiter}"a{delimiter}b"\n1{delimiter}2{delimiter}3\n'.encode()
    source = CsvSource(io.BytesIO(data))
    assert source.delimiter == delimiter, name
    assert [r.fields for r in source.records()][1] == ["1", "2", "3"]


def test_delimiter_option_overrides_detection():
    assert CsvSource(io.BytesIO(b"a;b,c\n1;2,3\n"), delimiter=",").delimiter == ","


def test_bad_bytes_after_valid_utf8_fail_with_bad_encoding_and_say_where():
    data = "phone,name\n+12127365000,Zoë\n".encode() + b"+12127365000,Jane\n" * (HEAD_BYTES // 18 + 10)
    data += b"+12127365000,\xff\xfe\n"
    with pytest.raises(BadEncoding) as failure:
        list(CsvSource(io.BytesIO(data)).records())
    assert failure.value.details and failure.value.details["row"] > 3000


def test_an_unclosed_quote_is_reported_at_the_row_where_it_opens():
    got = records(b'phone,name\n+12127365000,"Jane\n+16502530000,John\n')
    assert isinstance(got[-1], RowError)
    assert (got[-1].row, got[-1].code) == (2, "unterminated_quote")


def test_a_field_over_the_limit_is_field_too_long_and_reading_goes_on():
    data = b"phone,name\n1," + b"x" * 40000 + b"\n2,ok\n"
    got = records(data)
    assert isinstance(got[1], RowError) and got[1].code == "field_too_long"
    assert got[2] == Record(3, ["2", "ok"])
