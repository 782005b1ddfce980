"""`contacts-import validate`: offline counts, the --json shape, the error report, refusals, memory."""

from __future__ import annotations

import csv
import json
import tracemalloc
from pathlib import Path

import pytest

from contacts_import.pipeline.chunks import DEFAULT_CHUNK_BYTES
from contacts_import.service.reports import errors_csv
from contacts_import_cli.main import main

# Row 2 is created, 3 has a bad phone, 4 a bad email (and a formula in its name), 5 repeats
# row 2's phone, the empty record is no row at all, 7 has no phone.
SMALL = (
    "name,phone,email\r\n"
    "Ann,+14155552671,ann@example.com\r\n"
    "Bob,12,bob@example.com\r\n"
    '=HYPERLINK("x"),+14155552672,not-an-email\r\n'
    "Ann again,+14155552671,\r\n"
    ",,\r\n"
    "Cy,,cy@example.com\r\n"
)


def write(tmp_path: Path, content: str | bytes, name: str = "contacts.csv") -> Path:
    path = tmp_path / name
    if isinstance(content, str):
        path.write_text(content, encoding="utf-8", newline="")
    else:
        path.write_bytes(content)
    return path


def run_json(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, dict]:
    code = main(["validate", *args, "--json"])
    return code, json.loads(capsys.readouterr().out)


def test_json_gives_the_counts_and_errors_an_import_into_a_new_list_would(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, report = run_json(capsys, str(write(tmp_path, SMALL)))

    assert code == 0
    assert set(report) == {"counts", "errors", "error_count", "failure"}
    assert report["counts"] == {
        "total_rows": 5,
        "processed_rows": 5,
        "created": 1,
        "updated": 0,
        "unchanged": 0,
        "skipped_existing": 0,
        "skipped_duplicates": 1,
        "invalid": 3,
        "deleted": 0,
    }
    assert report["error_count"] == 3
    assert report["failure"] is None
    assert [(e["row"], e["code"]) for e in report["errors"]] == [
        (3, "invalid_phone"),
        (4, "invalid_email"),
        (7, "missing_phone"),
    ]
    assert all(set(e) == {"row", "code", "message", "column", "value"} for e in report["errors"])
    assert report["errors"][0]["column"] == "phone" and report["errors"][0]["value"] == "12"


def test_the_options_change_the_outcome(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write(tmp_path, "Mobile;Name\r\n+15551234567;Test\r\n0612345678;Fr\r\n")

    _, strict = run_json(capsys, str(path))
    _, chosen = run_json(capsys, str(path), "--possible", "--region", "FR", "--mapping", '{"Mobile": "phone"}')

    assert strict["counts"]["invalid"] == 2  # a 555 test number is not valid; 06... is not a US number
    assert chosen["counts"]["created"] == 2 and chosen["error_count"] == 0


def test_json_keeps_the_first_100_errors_and_counts_them_all(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rows = "".join(f"P{i},not a phone\r\n" for i in range(250))
    code, report = run_json(capsys, str(write(tmp_path, "name,phone\r\n" + rows)))

    assert code == 0
    assert report["error_count"] == 250
    assert len(report["errors"]) == 100
    assert [e["row"] for e in report["errors"]] == list(range(2, 102))


def test_errors_csv_is_the_service_report_of_every_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    report_path = tmp_path / "errors.csv"

    code, report = run_json(capsys, str(write(tmp_path, SMALL)), "--errors-csv", str(report_path))

    assert code == 0
    content = report_path.read_bytes().decode("utf-8")
    rows = list(csv.reader(content.splitlines()))
    assert rows == [
        ["name", "phone", "email", "row", "code", "message"],
        ["Bob", "12", "bob@example.com", "3", "invalid_phone", report["errors"][0]["message"]],
        # Spreadsheet-safe: no cell starts a formula, a phone's "+" included.
        ['\'=HYPERLINK("x")', "'+14155552672", "not-an-email", "4", "invalid_email", report["errors"][1]["message"]],
        ["Cy", "", "cy@example.com", "7", "missing_phone", report["errors"][2]["message"]],
    ]
    # Byte for byte what the service's own renderer makes of the same errors (CRLF line ends too).
    expected = errors_csv(
        ["name", "phone", "email"],
        [
            {**report["errors"][0], "raw": ["Bob", "12", "bob@example.com"]},
            {**report["errors"][1], "raw": ['=HYPERLINK("x")', "+14155552672", "not-an-email"]},
            {**report["errors"][2], "raw": ["Cy", "", "cy@example.com"]},
        ],
    )
    assert content == "".join(expected)
    assert not [p.name for p in tmp_path.iterdir() if p.name.startswith(".")]  # no spool or temp left


def test_errors_csv_without_a_header_names_columns_by_number(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    report_path = tmp_path / "errors.csv"
    path = write(tmp_path, "Ann,+14155552671\r\nBob,12\r\n")

    code, report = run_json(
        capsys, str(path), "--no-header", "--mapping", '{"1": "phone", "0": "name"}', "--errors-csv", str(report_path)
    )

    assert code == 0 and report["counts"]["created"] == 1
    assert list(csv.reader(report_path.read_text(encoding="utf-8").splitlines())) == [
        ["column 1", "column 2", "row", "code", "message"],
        ["Bob", "12", "2", "invalid_phone", report["errors"][0]["message"]],
    ]


@pytest.mark.parametrize(
    ("content", "expected_code"),
    [
        (b"", "empty_file"),
        (b"\r\n\r\n", "empty_file"),
        (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj", "not_csv"),
        (b"name,email\r\nAnn,ann@example.com\r\n", "missing_required_column"),
    ],
)
def test_a_file_refused_as_a_whole_exits_2_with_its_failure(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: bytes, expected_code: str
) -> None:
    report_path = tmp_path / "errors.csv"
    report_path.write_text("from an earlier run")

    code, report = run_json(capsys, str(write(tmp_path, content)), "--errors-csv", str(report_path))

    assert code == 2
    assert report["failure"]["code"] == expected_code
    assert report["failure"]["message"]
    assert report["error_count"] == 0 and report["errors"] == [] and report["counts"]["total_rows"] == 0
    assert report_path.read_text() == "from an earlier run"  # refused before any row: no report written


def test_refusal_without_json_prints_code_and_message(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["validate", str(write(tmp_path, "name,email\r\nAnn,a@b.co\r\n"))])

    out = capsys.readouterr().out
    assert code == 2
    assert "missing_required_column" in out and "Headers seen" in out


@pytest.mark.parametrize(
    ("options", "expected_in_message"),
    [
        (["--mapping", '{"phone": "shoe_size"}'], "shoe_size"),  # an unknown field
        (["--mapping", '{"Nope": "phone"}'], "Nope"),  # a column the file does not have
        (["--region", "XX"], "XX"),
    ],
)
def test_bad_options_are_refused_with_validation_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], options: list[str], expected_in_message: str
) -> None:
    code, report = run_json(capsys, str(write(tmp_path, SMALL)), *options)

    assert code == 2
    assert report["failure"]["code"] == "validation_error"
    assert expected_in_message in report["failure"]["message"]


def test_mapping_that_is_not_json_is_a_usage_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["validate", str(write(tmp_path, SMALL)), "--mapping", "{phone"])

    assert code == 2
    assert "--mapping is not valid JSON" in capsys.readouterr().err


def test_a_missing_file_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", str(tmp_path / "nope.csv")]) == 2
    assert "no such file" in capsys.readouterr().err


def test_bad_encoding_after_the_first_rows_keeps_what_was_read(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Valid UTF-8 (with a non-ASCII name) for the first 64 KiB, then a Windows-1252 byte: a mixed file.
    good = "Zoë,+14155550001\r\n".encode() + "".join(f"P{i},+1415555{i % 10000:04d}\r\n" for i in range(4000)).encode()
    assert len(good) > 64 * 1024
    path = write(tmp_path, b"name,phone\r\n" + good + b"Ren\xe9,+14155550000\r\n")
    report_path = tmp_path / "errors.csv"

    code, report = run_json(capsys, str(path), "--possible", "--errors-csv", str(report_path))

    assert code == 2
    assert report["failure"]["code"] == "bad_encoding"
    assert report["counts"]["total_rows"] > 0
    assert report_path.read_text(encoding="utf-8").startswith("name,phone,row,code,message")


def test_an_ansi_export_whose_first_accent_comes_late_is_read_as_windows_1252(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    good = "".join(f"P{i},+1415555{i % 10000:04d}\r\n" for i in range(4000)).encode()
    path = write(tmp_path, b"name,phone\r\n" + good + b"Ren\xe9,+14155550000\r\n")

    code, report = run_json(capsys, str(path), "--possible")

    assert code == 0 and report["failure"] is None
    assert report["counts"]["total_rows"] == 4001


def test_fail_on_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write(tmp_path, SMALL)
    assert main(["validate", str(path), "--fail-on-errors"]) == 1
    assert main(["validate", str(write(tmp_path, "phone\r\n+14155552671\r\n", "ok.csv")), "--fail-on-errors"]) == 0


def test_human_output_shows_counts_and_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["validate", str(write(tmp_path, SMALL + "Dee,[bold]x\r\n"))])

    out = capsys.readouterr().out
    assert code == 0
    assert "skipped_duplicates" in out and "invalid_phone" in out and "missing_phone" in out
    assert "[bold]x" in out  # a file's text is printed as it is, never read as rich markup


def test_memory_stays_bounded_on_a_long_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """200,000 rows, 180,000 of them errors, in four chunks: the peak of Python allocations is about
    a chunk's (a map holds one), not the file's, and every error still reaches the report (spooled
    to disk, not kept)."""
    path = tmp_path / "long.csv"
    rows = 200_000
    with path.open("w", encoding="utf-8", newline="") as out:
        out.write("name,phone,email,notes\r\n")
        for i in range(rows):
            # Every tenth row has one of 50 phones (the rest repeat them); nine in ten have none.
            phone = f"+1415555{i % 500:04d}" if i % 10 == 0 else ""
            out.write(f"Person {i},{phone},,notes about contact {i} padded to make the rows longer\r\n")
    size = path.stat().st_size
    report_path = tmp_path / "errors.csv"

    tracemalloc.start()
    try:
        code = main(["validate", str(path), "--possible", "--json", "--errors-csv", str(report_path), "--workers", "1"])
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    report = json.loads(capsys.readouterr().out)

    assert code == 0
    assert report["counts"]["total_rows"] == rows
    assert report["error_count"] == rows * 9 // 10
    assert len(report["errors"]) == 100
    assert size > 3 * DEFAULT_CHUNK_BYTES
    assert peak < 2 * DEFAULT_CHUNK_BYTES, f"peak {peak:,} bytes of Python allocations for a {size:,}-byte file"
    with report_path.open(encoding="utf-8", newline="") as report_file:
        assert sum(1 for _ in report_file) == 1 + report["error_count"]
