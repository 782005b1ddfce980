"""``POST /{account}/contacts/upload`` as the SMS platform's API has it (docs/api.md, Compatibility).

Their request: a multipart form with the CSV in ``file`` and ``headers``, the field of each column
in order (our ``headers`` option: the file's first row is its header row and is skipped). The
path's account must be the API key's. Their answer: 201 ``{"contact_import_slug": "<job id>"}``
at once, the import going on behind it; refusals are 422, ``{"error": "..."}`` for a missing
parameter and ``{"errors": ["..."]}`` for a value it cannot take, in their words.
"""

from __future__ import annotations

import json
from typing import Any

from contacts_import.api.compatibility.fastapi_style import field_required
from contacts_import.api.dialects import Dialect
from contacts_import.api.docs import form_request, option_fields
from contacts_import.api.envelope import DocumentedModel
from contacts_import.api.requests import ImportRequest, form_options, read_form
from contacts_import.errors import (
    ContactsImportError,
    FieldsInvalid,
    InvalidOptions,
    NotCsv,
    NotFound,
)
from contacts_import.models import ImportOptions
from contacts_import.pipeline.fields import FIRST_NAME, LAST_NAME, NAME, PHONE, parse_target

FILE_REQUIRED = "File is required."
HEADERS_REQUIRED = "Headers are a required field."
NOT_A_CSV = "File must be a CSV (text/csv)."
# What their document requires a file to have: their header's name, and our fields that give it.
_REQUIRED_HEADERS = {"name": {NAME, FIRST_NAME, LAST_NAME}, "phone_number": {PHONE}}
# "headers[]" is how a Rails client sends a list in a form.
_HEADERS_FIELDS = ("headers", "headers[]")


class ContactImportSlug(DocumentedModel):
    contact_import_slug: str  # the job id: GET /imports/{job_id} follows it


class OneRefusal(DocumentedModel):
    error: str


class Refusals(DocumentedModel):
    errors: list[str]


class AccountUploadDialect(Dialect):
    """Their 422 for every request refused for what it holds; other statuses answer as ours."""

    def status(self, error: ContactsImportError) -> int:
        # Our 400s are options that do not fit, our 415 a file that is not a CSV: their 422 both.
        return 422 if error.status in (400, 415) else error.status

    def body(self, error: ContactsImportError, meta: dict[str, str]) -> dict[str, Any]:
        if self.status(error) != 422:
            return super().body(error, meta)
        if isinstance(error, FieldsInvalid):
            return {"error": error.message}
        return {"errors": [NOT_A_CSV if isinstance(error, NotCsv) else error.message]}


ACCOUNT_UPLOAD = AccountUploadDialect()


def check_account(path_account: str, caller_account: str) -> None:
    # Another account answers as if it did not exist, as every account-scoped resource does.
    if path_account != caller_account:
        raise NotFound(f"No account {path_account!r} for this API key.")


def read(body: bytes, media_type: str, content_type: str) -> tuple[ImportRequest, ImportOptions]:
    form = read_form(body, content_type) if media_type == "multipart/form-data" else None
    if form is None or form.file is None:
        raise FieldsInvalid(FILE_REQUIRED, [field_required("file")])
    fields = dict(form.fields)
    headers = _headers([value for name in _HEADERS_FIELDS for value in fields.pop(name, [])])
    if not headers:
        raise FieldsInvalid(HEADERS_REQUIRED, [field_required("headers")])
    _check_headers(headers)
    raw = {**form_options(fields), "headers": headers}
    request = ImportRequest(form.file.content, form.file.file_name or "contacts.csv", raw)
    return request, request.options()


def _headers(values: list[str]) -> list[str]:
    """The column names, sent as a JSON array, a comma-separated list or one field per name."""
    names: list[str] = []
    for value in values:
        text = value.strip()
        if text in ("", "null"):
            continue
        try:
            parsed = json.loads(text) if text.startswith("[") else None
        except json.JSONDecodeError:
            parsed = None
        items = parsed if isinstance(parsed, list) else text.split(",")
        names += [str(item).strip() for item in items if item is not None]
    return names


def _check_headers(headers: list[str]) -> None:
    invalid = [name for name in headers if parse_target(name) is None]
    if invalid:
        raise InvalidOptions(f"Invalid headers provided: {', '.join(invalid)}.", details={"headers": invalid})
    fields = {parse_target(name) for name in headers}
    missing = [theirs for theirs, ours in _REQUIRED_HEADERS.items() if not ours & fields]
    if missing:
        raise InvalidOptions(f"Missing required headers: {', '.join(missing)}.", details={"missing": missing})


def request_body() -> dict[str, Any]:
    return form_request(
        {
            **option_fields(leave_out=("headers",)),
            "file": {"type": "string", "format": "binary", "description": "The CSV."},
            "headers": {
                "type": "string",
                "description": "Each column's field, in order: a JSON array "
                '(["name","phone_number","business","tags"]), or comma-separated. name and phone_number are required.',
            },
        },
        ["file", "headers"],
        {
            "file": "name,phone_number,business,tags\nJane Doe,(212) 736-5000,Acme,vip\n",
            "headers": '["name","phone_number","business","tags"]',
        },
        closed=True,
    )
