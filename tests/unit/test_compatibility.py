"""The compatibility routes' translations, without a server: their requests into our options, our
job into their answers, our errors into their dialects (docs/api.md, Compatibility)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import pytest

from contacts_import.api.compatibility import account_upload, batch_call_contacts, campaign_upload, v1_import
from contacts_import.api.compatibility import folder_import as folder
from contacts_import.api.compatibility.fastapi_style import FASTAPI_STYLE
from contacts_import.api.dialects import OURS
from contacts_import.api.requests import ImportRequest, rows_to_csv
from contacts_import.errors import (
    BadEncoding,
    EmptyFile,
    FieldsInvalid,
    FileRejected,
    FileTooLarge,
    Forbidden,
    InvalidOptions,
    MissingRequiredColumn,
    NotCsv,
    NotFound,
    RateLimited,
    failure_as_error,
)
from contacts_import.models import Counts, ImportOptions, JobStatus, RowError
from contacts_import.service.create_import import has_at_most_rows

META = {"request_id": "req-1", "ts": "2026-04-05T10:22:00Z"}
BOUNDARY = "b0undary"


def form(*parts: tuple[str, str | bytes, str | None]) -> tuple[bytes, str, str]:
    """A multipart body of (name, value, file name or None) parts, as the routes read it."""
    chunks = []
    for name, value, file_name in parts:
        disposition = f'form-data; name="{name}"' + (f'; filename="{file_name}"' if file_name else "")
        data = value.encode() if isinstance(value, str) else value
        chunks.append(f"--{BOUNDARY}\r\nContent-Disposition: {disposition}\r\n\r\n".encode() + data + b"\r\n")
    body = b"".join(chunks) + f"--{BOUNDARY}--\r\n".encode()
    return body, "multipart/form-data", f"multipart/form-data; boundary={BOUNDARY}"


def job(counts: Counts, errors: Sequence[RowError] = (), **fields: Any) -> JobStatus:
    return JobStatus(
        job_id="imp_1",
        status="completed",
        source="api",
        list_id=fields.get("list_id", "default"),
        file_name=fields.get("file_name", "contacts.csv"),
        dry_run=False,
        counts=counts,
        progress=1.0,
        errors=list(errors),
        error_count=len(errors),
        errors_url="/imports/imp_1/errors",
        failure=None,
        total_contacts=fields.get("total_contacts", 0),
        created_at="2026-04-05T10:21:00Z",
        started_at="2026-04-05T10:21:01Z",
        completed_at="2026-04-05T10:22:00Z",
    )


# ---------------------------------------------------------------- their requests


def test_the_folder_form_names_our_list_and_update_and_takes_possible_numbers():
    sent = folder.read(
        *form(
            ("file", "phone\n+15551230987\n", "c.csv"), ("folder_id", "f1", None), ("overwrite_existing", "true", None)
        )
    )
    assert (sent.options.list_id, sent.options.on_existing, sent.options.phone_validation) == (
        "f1",
        "update",
        "possible",
    )
    assert (sent.folder_id, sent.request.file_name, sent.request.body) == ("f1", "c.csv", b"phone\n+15551230987\n")
    assert folder.read(*form(("file", "phone\n", "c.csv"))).folder_id is None


def test_a_folder_form_without_a_file_is_a_missing_field():
    with pytest.raises(FieldsInvalid) as refused:
        folder.read(*form(("folder_id", "f1", None)))
    assert refused.value.problems == [{"loc": ["body", "file"], "msg": "field required", "type": "value_error.missing"}]


@pytest.mark.parametrize(
    "parts",
    [
        [("headers", '["name","phone_number","business","tags"]', None)],
        [("headers", "name, phone_number, business, tags", None)],
        [("headers[]", name, None) for name in ("name", "phone_number", "business", "tags")],
    ],
)
def test_the_account_upload_headers_come_as_json_a_list_or_fields(parts):
    _, options = account_upload.read(*form(("file", "x", "c.csv"), *parts))
    assert options.headers == ("name", "phone", "company", "tags")


@pytest.mark.parametrize(
    ("parts", "refusal", "message"),
    [
        ([("headers", '["name","phone_number"]', None)], FieldsInvalid, "File is required."),
        ([("file", "x", "c.csv"), ("headers", "null", None)], FieldsInvalid, "Headers are a required field."),
        ([("file", "x", "c.csv"), ("headers", "[]", None)], FieldsInvalid, "Headers are a required field."),
        (
            [("file", "x", "c.csv"), ("headers", '["phone_number"]', None)],
            InvalidOptions,
            "Missing required headers: name.",
        ),
        (
            [("file", "x", "c.csv"), ("headers", '["tags"]', None)],
            InvalidOptions,
            "Missing required headers: name, phone_number.",
        ),
        (
            [("file", "x", "c.csv"), ("headers", '["name","phone","bad","worse"]', None)],
            InvalidOptions,
            "Invalid headers provided: bad, worse.",
        ),
    ],
)
def test_the_account_upload_refusals_in_their_words(parts, refusal, message):
    with pytest.raises(refusal) as refused:
        account_upload.read(*form(*parts))
    assert refused.value.message == message


def test_a_name_may_come_as_first_and_last_name():
    _, options = account_upload.read(*form(("file", "x", "c.csv"), ("headers", "first_name,last_name,mobile", None)))
    assert options.headers == ("first_name", "last_name", "phone")


def test_the_path_account_must_be_the_callers():
    account_upload.check_account("acme", "acme")
    with pytest.raises(NotFound):
        account_upload.check_account("my_account", "acme")


def test_batch_call_contacts_become_rows_of_the_list_named_by_the_batch_call():
    body = json.dumps(
        {"contacts": [{"phone_number": "+15551234567", "first_name": "John", "company": "Acme"}], "tags": ["q2"]}
    )
    request, options = batch_call_contacts.read("bc_1", body.encode())
    assert (options.list_id, options.phone_validation, options.tags) == ("bc_1", "possible", ("q2",))
    assert request.body == b"phone_number,first_name,last_name,email,company\r\n+15551234567,John,,,Acme\r\n"


@pytest.mark.parametrize(
    ("body", "loc", "kind"),
    [
        (b"{not json", ["body"], "json_invalid"),
        (b"[]", ["body"], "model_type"),
        (b'{"contacts": [{"phone_number": 5551234567}]}', ["body", "contacts", 0, "phone_number"], "string_type"),
    ],
)
def test_a_batch_that_fails_their_schema_says_where(body, loc, kind):
    with pytest.raises(FieldsInvalid) as refused:
        batch_call_contacts.read("bc_1", body)
    ((problem),) = refused.value.problems
    assert (problem["loc"], problem["type"]) == (loc, kind)


def test_a_batch_call_id_that_cannot_be_a_list_is_not_found():
    with pytest.raises(NotFound):
        batch_call_contacts.read("no such batch", b'{"contacts": [{"phone_number": "+15551234567"}]}')


def test_a_campaign_is_the_list_of_its_integer_id():
    _, options = campaign_upload.read(
        "007", *form(("file", "x", "c.csv"), ("column_mappings", '{"Tel": "phone_number"}', None))
    )
    assert (options.list_id, options.mapping, options.phone_validation) == ("7", {"Tel": "phone"}, "possible")
    for not_an_id in ("spring-sale", "12a", "", "\u00b2"):
        with pytest.raises(NotFound):
            campaign_upload.read(not_an_id, *form(("file", "x", "c.csv")))


def test_json_rows_without_any_phone_get_an_empty_phone_column_and_a_csv_does_not():
    rows = [{"full_name": "Jane Doe", "email": "jane@acme.com"}]
    from_rows = ImportRequest(rows_to_csv(rows), "contacts.csv", {}, from_rows=True)
    widened = v1_import.rows_may_lack_phones(from_rows, ImportOptions())
    assert widened.body == b"full_name,email,phone\r\nJane Doe,jane@acme.com,\r\n"
    with_phone = ImportRequest(rows_to_csv([{**rows[0], "mobile": "+12127365000"}]), "c.csv", {}, from_rows=True)
    assert v1_import.rows_may_lack_phones(with_phone, ImportOptions()) == with_phone
    as_csv = ImportRequest(b"full_name,email\nJane,j@a.com\n", "c.csv", {})
    assert v1_import.rows_may_lack_phones(as_csv, ImportOptions()) == as_csv


@pytest.mark.parametrize(
    ("rows", "has_header", "within"),
    [(500, True, True), (501, True, False), (500, False, True), (501, False, False), (0, True, True)],
)
def test_at_most_500_rows_is_counted_by_the_reader(rows, has_header, within):
    lines = (["phone"] if has_header else []) + [f"+1212555{n:04d}" for n in range(rows)]
    body = ("\n".join(lines) + "\n\n\n").encode()  # trailing blank lines are no rows
    assert has_at_most_rows(body, ImportOptions(has_header=has_header), 500) is within


def test_a_quoted_line_break_is_one_row():
    body = b"phone,note\n" + b'+12125550000,"two\nlines"\n' * 500
    assert has_at_most_rows(body, ImportOptions(), 500)


# ---------------------------------------------------------------- our job, their answers

COUNTS = Counts(
    total_rows=154, processed_rows=154, created=142, updated=8, skipped_existing=1, skipped_duplicates=2, invalid=1
)
BAD_PHONE = RowError(
    row=5, code="invalid_phone", message="'+1invalid' is not a phone number", column="phone", value="+1invalid"
)
BAD_EMAIL = RowError(
    row=6, code="invalid_email", message="'x@' is not a valid email address.", column="email", value="x@"
)


def test_the_folder_answer():
    assert folder.imported(job(COUNTS, [BAD_PHONE, BAD_EMAIL]), "folder_abc123") == {
        "imported": 142,
        "updated": 8,
        "skipped": 3,
        "errors": 1,
        "folder_id": "folder_abc123",
        "error_details": [
            {"row": 5, "phone": "+1invalid", "reason": "Invalid phone number format"},
            {"row": 6, "phone": None, "reason": "'x@' is not a valid email address."},
        ],
    }


def test_the_batch_call_answer_has_both_shapes():
    assert batch_call_contacts.added(job(COUNTS, total_contacts=655)) == {
        "added_count": 142,
        "failed_count": 1,
        "added": 142,
        "duplicates_skipped": 3,
        "invalid_skipped": 1,
        "total_contacts": 655,
    }


@pytest.mark.parametrize(("from_rows", "row_number"), [(True, 4), (False, 5)])
def test_the_v1_answer_numbers_json_rows_from_1_and_csv_rows_as_a_spreadsheet(from_rows, row_number):
    answer = v1_import.completed(job(COUNTS, [BAD_PHONE]), ImportRequest(b"", "c.csv", {}, from_rows=from_rows))
    assert answer == {
        "job_id": "imp_1",
        "status": "completed",
        "created_count": 142,
        "updated_count": 8,
        "skipped_count": 4,
        "errors": [{"row_number": row_number, "code": "invalid_phone", "message": BAD_PHONE.message}],
    }


def test_the_campaign_answer():
    assert campaign_upload.uploaded(job(COUNTS, total_contacts=700, file_name="leads.csv")) == {
        "success": True,
        "message": "Imported 142 of 154 contacts (3 already in the campaign or repeated, 1 invalid).",
        "imported_count": 142,
        "total_contacts": 700,
        "file_name": "leads.csv",
        "import_date": "2026-04-05T10:22:00Z",
    }


# ---------------------------------------------------------------- our errors, their dialects

MISSING_FILE = FieldsInvalid(
    "no file", [{"loc": ["body", "file"], "msg": "field required", "type": "value_error.missing"}]
)
RATE_LIMITED = RateLimited("busy", limit=10, retry_after_seconds=30, now=1775384520.0)


@pytest.mark.parametrize(
    ("error", "status", "body"),
    [
        (MISSING_FILE, 422, {"detail": MISSING_FILE.problems}),
        (
            InvalidOptions("bad"),
            400,
            {"error": {"code": "bad_request", "message": "bad", "details": None}, "meta": META},
        ),
        (EmptyFile("empty"), 400, {"error": {"code": "empty_file", "message": "empty", "details": None}, "meta": META}),
        (
            NotCsv("pdf"),
            400,
            {"error": {"code": "unsupported_media_type", "message": "pdf", "details": None}, "meta": META},
        ),
        (
            FileTooLarge("big"),
            413,
            {"error": {"code": "payload_too_large", "message": "big", "details": None}, "meta": META},
        ),
        (
            RATE_LIMITED,
            429,
            {
                "error": {
                    "code": "rate_limit_exceeded",
                    "message": "busy",
                    "details": {"reset_at": "2026-04-05T10:22:30Z"},
                },
                "meta": META,
            },
        ),
    ],
)
def test_the_fastapi_dialect(error, status, body):
    answer = FASTAPI_STYLE.answer(error, META)
    assert (answer.status, answer.body) == (status, body)


@pytest.mark.parametrize(
    ("error", "status", "body"),
    [
        (FieldsInvalid("File is required.", []), 422, {"error": "File is required."}),
        (InvalidOptions("Invalid headers provided: x."), 422, {"errors": ["Invalid headers provided: x."]}),
        (NotCsv("The file is a PDF document, not a CSV."), 422, {"errors": ["File must be a CSV (text/csv)."]}),
        (EmptyFile("The file has only blank lines."), 422, {"errors": ["The file has only blank lines."]}),
        (
            NotFound("No account."),
            404,
            {"error": {"code": "not_found", "message": "No account.", "details": None}, "meta": META},
        ),
    ],
)
def test_the_account_upload_dialect(error, status, body):
    answer = account_upload.ACCOUNT_UPLOAD.answer(error, META)
    assert (answer.status, answer.body) == (status, body)


def test_the_v1_dialect_calls_a_missing_scope_insufficient_permissions():
    answer = v1_import.V1_IMPORT.answer(Forbidden("no scope", details={"required_scope": "imports:write"}), META)
    assert (answer.status, answer.body["error"]["code"]) == (403, "insufficient_permissions")
    assert v1_import.V1_IMPORT.answer(InvalidOptions("bad"), META).body == OURS.answer(InvalidOptions("bad"), META).body


@pytest.mark.parametrize(
    ("error", "status"),
    [
        (EmptyFile("e"), 400),
        (NotCsv("n"), 400),
        (MissingRequiredColumn("m"), 400),
        (NotFound("c"), 404),
        (FileTooLarge("b"), 413),
    ],
)
def test_the_campaign_dialect(error, status):
    answer = campaign_upload.CAMPAIGN_UPLOAD.answer(error, META)
    assert answer.status == status
    assert answer.body == {"success": False, "message": error.message, **OURS.answer(error, META).body}


@pytest.mark.parametrize(
    ("code", "kind"),
    [
        ("empty_file", EmptyFile),
        ("bad_encoding", BadEncoding),
        ("not_csv", NotCsv),
        ("validation_error", InvalidOptions),
    ],
)
def test_a_failed_jobs_failure_is_the_error_of_a_direct_request(code, kind):
    error = failure_as_error(code, "why")
    assert type(error) is kind and (error.code, error.message) == (code, "why")


def test_a_failure_code_without_a_type_keeps_its_code():
    error = failure_as_error("something_new", "why")
    assert isinstance(error, FileRejected) and (error.code, error.status) == ("something_new", 422)
