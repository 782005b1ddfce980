"""The file preview: the engine's reading, mapping and normalizing of a file's first bytes."""

from __future__ import annotations

import codecs
import gzip

import pytest

from benchmarks.export_files import google_contacts_utf8, outlook_windows_1252
from contacts_import.errors import FileTooLarge, MissingRequiredColumn, NotCsv
from contacts_import.models import ImportOptions
from contacts_import.profiles import MappingProfile
from contacts_import.service.preview import (
    CHOSEN,
    EXACT_HEADER,
    HEADER_WORDS,
    MAX_PREVIEW_BYTES,
    complete_lines,
    preview_file,
)
from tests.unit.helpers import run


def _fields(preview) -> dict[str, str | None]:
    return {c.header: c.field for c in preview.columns}


@pytest.mark.parametrize("export", [google_contacts_utf8, outlook_windows_1252])
def test_an_export_previews_as_the_engine_imports_it(export):
    data = export()
    preview = preview_file(data, ImportOptions(), [])
    _, contacts, errors, _ = run(data)  # the engine, in process
    assert {r.phone for r in preview.rows if r.phone} == set(contacts.items)
    assert {r.email for r in preview.rows if r.email} == {c["email"] for c in contacts.items.values() if c["email"]}
    assert [e.code for r in preview.rows for e in r.errors] == errors.codes()
    assert preview.has_header and preview.delimiter == ","
    assert "phone" in _fields(preview).values()


def test_encodings_are_named_as_the_engine_reads_them():
    assert preview_file(outlook_windows_1252(), ImportOptions(), []).encoding == "cp1252"
    assert preview_file(google_contacts_utf8(), ImportOptions(), []).encoding == "utf-8"
    utf16 = codecs.BOM_UTF16_LE + "phone\tname\n+12127365000\tJane\n".encode("utf-16-le")
    preview = preview_file(utf16, ImportOptions(), [])
    assert preview.encoding == "utf-16" and preview.delimiter == "\t" and preview.rows[0].phone == "+12127365000"


def test_a_slice_cut_mid_line_drops_that_line():
    data = b"phone,name\n+12127365000,Jane\n+1650253"
    preview = preview_file(data, ImportOptions(), [])
    assert [r.row for r in preview.rows] == [2]
    assert complete_lines(data).cut and not complete_lines(data + b"0000\n").cut
    quoted = b'phone,note\n+12127365000,"two\nlines"\n+16502530000,"cut in\nthe mid'
    assert [r.row for r in preview_file(quoted, ImportOptions(), []).rows] == [2]
    utf16 = codecs.BOM_UTF16_LE + "phone\n+12127365000\n+1650".encode("utf-16-le")
    assert [r.phone for r in preview_file(utf16, ImportOptions(), []).rows] == ["+12127365000"]


def test_rows_carry_their_normalized_values_and_errors():
    data = b"phone,email\n(212) 736-5000,JANE@Example.com\n12,\n+16502530000,not-an-email\n"
    rows = preview_file(data, ImportOptions(), []).rows
    assert (rows[0].phone, rows[0].email, rows[0].errors) == ("+12127365000", "JANE@example.com", [])
    assert [e.code for e in rows[1].errors] == ["invalid_phone"]
    assert [e.code for e in rows[2].errors] == ["invalid_email"]


def test_confidence_comes_from_how_the_header_matched_and_what_the_values_are():
    data = b"Mobile,Cell of the manager,Email,Colour\n+12127365000,+16502530000,a@b.co,red\n"
    columns = {c.header: c for c in preview_file(data, ImportOptions(), []).columns}
    assert columns["Mobile"].confidence == EXACT_HEADER
    assert columns["Colour"].field == "custom:Colour" and columns["Colour"].confidence == 0
    bad = b"Mobile,Email\nnot a number,nope\n"
    bad_columns = {c.header: c for c in preview_file(bad, ImportOptions(), []).columns}
    assert bad_columns["Mobile"].confidence == EXACT_HEADER * 0.5
    chosen = preview_file(data, ImportOptions(mapping={"Colour": "company"}), [])
    assert {c.header: c.confidence for c in chosen.columns}["Colour"] == CHOSEN
    assert HEADER_WORDS < EXACT_HEADER < CHOSEN


def test_the_preview_takes_the_profile_whose_headers_are_the_files():
    profile = MappingProfile(
        name="crm", mapping={"Tel": "phone", "Who": "name"}, options={"tags": ["crm"]}, created_at="t", updated_at="t"
    )
    preview = preview_file(b"Who,Tel\nJane,+12127365000\n", ImportOptions(), [profile])
    assert preview.profile == "crm" and _fields(preview) == {"Who": "name", "Tel": "phone"}
    other = preview_file(b"Who,Tel,More\nJane,+12127365000,x\n", ImportOptions(), [profile])
    assert other.profile is None
    explicit = preview_file(b"Who,Tel\nJane,+12127365000\n", ImportOptions(mapping={"Tel": "phone"}), [profile])
    assert explicit.profile is None  # an explicit mapping comes first


def test_what_the_preview_refuses():
    with pytest.raises(FileTooLarge):
        preview_file(b"phone\n" + b"1" * MAX_PREVIEW_BYTES, ImportOptions(), [])
    with pytest.raises(NotCsv):
        preview_file(gzip.compress(b"phone\n+12127365000\n"), ImportOptions(), [])
    with pytest.raises(NotCsv):
        preview_file(b"%PDF-1.7 ...", ImportOptions(), [])
    with pytest.raises(MissingRequiredColumn):
        preview_file(b"name,city\nJane,NYC\n", ImportOptions(), [])
