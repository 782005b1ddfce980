"""The engine (plan, map, reduce, as ``import_in_process`` runs it) against the oracle, one reader of
the whole file (``tests/unit/oracle.py``): for any file, chunk size and range size, the same counts,
the same row errors with the same cells, the same contacts, and the same refusal."""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from contacts_import.errors import ContactsImportError
from contacts_import.models import ImportOptions
from contacts_import.pipeline.outcomes import RunContext
from contacts_import.pipeline.shards import LEGACY
from tests.unit.helpers import NOW, MemoryList, run
from tests.unit.oracle import oracle_import

PHONES = ["+12127365000", "+16502530000", "+14155552671", "+442079460958", "+4930901820"]
SPELLINGS = ["+12127365000", "(212) 736-5000", "6502530000", "+1 650 253 0000", "415-555-2671", "+44 20 7946 0958"]


def seeded_list(phones: list[str]) -> MemoryList:
    contacts = MemoryList()
    contacts.write(
        [{"phone": p, "name": f"Old {p}", "created_job_id": "older", "import_job_id": "older"} for p in phones]
    )
    return contacts


def oracle(data: bytes, contacts: MemoryList, **options: Any) -> tuple[Any, ...]:
    """What the oracle ends with: (counts, errors by row, contacts), or the refusal's code.

    A file refused part-way (bytes that are not its encoding) is compared by its refusal alone: the
    oracle decodes in blocks and stops at the block, the planner decodes a line at a time and keeps
    every whole record before the bad bytes (``pipeline.chunks``)."""
    parsed = ImportOptions.parse({}, text=options)
    try:
        answer = oracle_import(data, parsed, RunContext("job-1", parsed.list_id, NOW), contacts)
    except ContactsImportError as refused:
        return ("refused", refused.code)
    if answer.failure:
        return ("refused", answer.failure.code)
    return answer.counts, answer.errors_by_row(), contacts.items


def engine(data: bytes, contacts: MemoryList, **options: Any) -> tuple[Any, ...]:
    try:
        result, _, errors, _ = run(data, contacts=contacts, **options)
    except ContactsImportError as refused:
        return ("refused", refused.code)
    by_row = {e.row: (e.code, e.message, e.column, e.value, raw) for e, raw in errors.errors}
    assert len(by_row) == len(errors.errors), "every row error once"
    assert [e.row for e, _ in errors.errors] == sorted(by_row), "row errors in row order"
    if result.failure:
        return ("refused", result.failure.code)
    return result.counts, by_row, contacts.items


cells = st.one_of(
    st.sampled_from(SPELLINGS),
    st.sampled_from(["", " ", "12345", "not a phone", "a@b.co", "bad@", "Zoë", 'O"Neil', "x\ny", "a,b", "\r\n"]),
    st.text(alphabet='0123456789 +-()",;\n\r\tabé', max_size=12),
)
csv_files = st.builds(
    lambda header, rows, ending: _csv(header, rows, ending),
    st.sampled_from([["phone", "name", "email"], ["Mobile", "First Name", "E-mail"], ["name", "phone"]]),
    st.lists(st.lists(cells, min_size=0, max_size=4), max_size=40),
    st.sampled_from(["\n", "\r\n"]),
)
# Bytes that are barely a CSV: quotes left open, stray carriage returns, Windows-1252 after UTF-8.
raw_files = st.builds(
    lambda head, body: head + body,
    st.sampled_from([b"phone,name\n", b"phone;name\r\n", b"\xef\xbb\xbfphone\tname\n", b"", b"\n\nphone\n"]),
    st.binary(max_size=300).map(lambda b: b.replace(b"\x00", b"")),
)


def _csv(header: list[str], rows: list[list[str]], ending: str) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator=ending)
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue().encode()


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    data=st.one_of(csv_files, raw_files),
    chunk_bytes=st.integers(min_value=1, max_value=400),
    rows_per_range=st.integers(min_value=1, max_value=20),
    shards=st.sampled_from([LEGACY, 1, 5, 64]),
    existing=st.lists(st.sampled_from(PHONES), max_size=3, unique=True),
    on_existing=st.sampled_from(["skip", "update"]),
    has_header=st.sampled_from(["true", "false"]),
)
@example(data=b'phone\n"+12127365000\n', chunk_bytes=1, rows_per_range=1, shards=LEGACY, existing=[],
         on_existing="skip", has_header="true")  # fmt: skip
def test_the_engine_ends_as_the_oracle_for_any_file_chunk_size_and_range_size(
    data, chunk_bytes, rows_per_range, shards, existing, on_existing, has_header
):
    options = {"on_existing": on_existing, "has_header": has_header}
    if has_header == "false":
        options["headers"] = "phone,name,email"
    expected = oracle(data, seeded_list(existing), **options)
    got = engine(
        data,
        seeded_list(existing),
        chunk_bytes=chunk_bytes,
        rows_per_range=rows_per_range,
        shards=shards,
        **options,
    )
    assert got == expected


@pytest.mark.parametrize("workers", [1, 2])
def test_the_engine_on_workers_ends_as_the_oracle(workers):
    data = _csv(
        ["phone", "name", "email"], [[SPELLINGS[n % 6], f"N{n}", f"n{n}@example.com"] for n in range(300)], "\n"
    )
    expected = oracle(data, seeded_list(PHONES[:2]), on_existing="update")
    got = engine(data, seeded_list(PHONES[:2]), on_existing="update", workers=workers, chunk_bytes=500)
    assert got == expected
    assert got[0].updated == 2 and got[0].skipped_duplicates == 300 - 4  # six spellings of four phones
