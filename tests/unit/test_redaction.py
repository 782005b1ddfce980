"""Masking of personal data in log text, and the functions' log formatter that applies it."""

from __future__ import annotations

import json
import logging
import sys

import pytest

from contacts_import.logs import RedactingFormatter
from contacts_import.redaction import redact, redact_text


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("(212) 736-5000", "***00"),
        ("+1 650 253 0000", "***00"),
        ("415.555.2671", "***71"),
        ("+14155552671", "***71"),
        ("14155552671", "***71"),
        ("0049 30 1234567", "***67"),
        ("+44 20 7946 0958", "***58"),
        ("GET /lists/x/contacts/%2B14155552671 -> 200", "GET /lists/x/contacts/***71 -> 200"),
        ("tel:+14155552671", "tel:***71"),
        ("jane.doe@acme.com", "<email>"),
        ("Jane <jane+tag@mail.acme.co.uk>", "Jane <<email>>"),
        ("jane%40acme.com", "<email>"),
        (
            "1 validation error\n  input_value='Jane Doe', input_type=str",
            "1 validation error\n  input_value=<redacted>, input_type=str",
        ),
    ],
)
def test_phones_emails_and_quoted_inputs_are_masked(text, masked):
    assert redact_text(text) == masked


@pytest.mark.parametrize(
    "text",
    [
        "imp_01jd7k2m3n4p5q6r7s8t9v0w1x",  # a job id: digits glued to letters
        "GET /imports/imp_01jd7k2m3n4p5q6r7s8t9v0w1x -> 200 (12 ms)",
        "s3://contacts-import-local-123456789012-us-east-1-imports/drop/a/b/c.csv",
        "row 12345: invalid_phone",
        "processed 250000 rows",  # six digits: a count, not a phone
        "version 3.37.0",
    ],
)
def test_identifiers_counts_and_row_numbers_stay(text):
    assert redact_text(text) == text


def test_structured_values_are_masked_and_numbers_kept():
    value = {"counts": {"created": 3}, "rows": [2, 5], "note": ["call +14155552671"], "error": ValueError("a@b.io")}
    assert redact(value) == {"counts": {"created": 3}, "rows": [2, 5], "note": ["call ***71"], "error": "<email>"}


def test_the_formatter_masks_message_extras_and_exception_but_not_identifiers():
    formatter = RedactingFormatter()
    try:
        raise ValueError("no contact +14155552671 <ann@lee.org>")
    except ValueError:
        record = logging.LogRecord("t", logging.ERROR, __file__, 1, "lookup of %s failed", ("+16502530000",), None)
        record.exc_info = sys.exc_info()
    record.job_id = "imp_01jd7k2m3n4p5q6r7s8t9v0w1x"
    record.function_request_id = "12345678-1234-1234-1234-123456789012"
    record.detail = {"email": "ann@lee.org", "row": 7}
    line = formatter.format(record)
    logged = json.loads(line)
    assert logged["message"] == "lookup of ***00 failed"
    assert logged["detail"] == {"email": "<email>", "row": 7}
    assert "***71" in logged["exception"] and "<email>" in logged["exception"]
    assert logged["function_request_id"] == "12345678-1234-1234-1234-123456789012"
    assert logged["job_id"] == "imp_01jd7k2m3n4p5q6r7s8t9v0w1x"
    assert "4155552671" not in line and "ann@lee.org" not in line and "6502530000" not in line
