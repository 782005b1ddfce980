"""When the CSV error report is answered inline and when it goes to S3: measured as Lambda sends it,
JSON-escaped, so that quotes and non-ASCII letters cannot push an answer over 6 MB."""

from __future__ import annotations

import json
from collections.abc import Iterable

import pytest

from contacts_import.service import reports


class FakeObjects:
    def __init__(self) -> None:
        self.stored: dict[str, bytes] = {}

    def put_stream(self, key: str, chunks: Iterable[bytes], content_type: str) -> int:
        self.stored[key] = b"".join(chunks)
        return len(self.stored[key])

    def presigned_get(self, key: str, *, expires_in: int, download_name: str) -> str:
        return f"https://bucket.example/{key}?expires={expires_in}&name={download_name}"


def errors(value: str, count: int) -> list[dict]:
    return [
        {"row": n + 2, "code": "invalid_phone", "message": "Not a phone.", "raw": ["1", value]} for n in range(count)
    ]


JOB = {"job_id": "imp_01", "column_names": ["phone", "name"]}


def test_a_small_report_is_inline():
    report = reports.error_report("acme", JOB, errors("Ann", 3), FakeObjects())
    assert isinstance(report, reports.InlineReport)
    assert report.text.startswith("phone,name,row,code,message\r\n") and report.text.count("\r\n") == 4


@pytest.mark.parametrize("value", ["Zoë Ølberg-Ñúñez 日本", '"quoted" "again"'])
def test_escaping_counts_against_the_limit(monkeypatch, value):
    inline = reports.error_report("acme", JOB, errors(value, 50), FakeObjects())
    assert isinstance(inline, reports.InlineReport)
    raw_size, json_size = len(inline.text.encode()), len(json.dumps(inline.text)) - 2
    assert json_size > raw_size  # what Lambda's answer carries is larger than the text
    monkeypatch.setattr(reports, "MAX_INLINE_REPORT_BYTES", (raw_size + json_size) // 2)
    objects = FakeObjects()
    stored = reports.error_report("acme", JOB, errors(value, 50), objects)
    assert isinstance(stored, reports.StoredReport)
    assert objects.stored["results/acme/_reports/imp_01-errors.csv"].decode() == inline.text
    assert stored.size_bytes == raw_size and "expires=300" in stored.url
