"""``POST /v1/import/contacts`` as the lead-data platform's API has it (docs/api.md, Compatibility).

Their request is ours: JSON ``{"rows": [...]}`` or ``{"csv": "..."}`` with ``has_header``,
``mapping``, ``update_existing`` and ``tags``. Up to 500 rows they answer synchronously:
200 ``{"data": {"job_id", "status": "completed", "created_count", "updated_count",
"skipped_count", "errors": [{"row_number", "code", "message"}]}}``; more rows are queued (202 with
the job). Rows sent without any phone are each refused as ``missing_phone``. Every answer of an
accepted import carries ``X-RateLimit-*`` (our cap on imports in flight); a missing scope is
``insufficient_permissions``.
"""

from __future__ import annotations

import csv
import io
from dataclasses import replace
from typing import Any

from contacts_import.api.dialects import Dialect
from contacts_import.api.docs import json_request, one_name_each, option_members
from contacts_import.api.envelope import DocumentedModel
from contacts_import.api.requests import ImportRequest
from contacts_import.errors import ContactsImportError, Forbidden, MissingRequiredColumn
from contacts_import.models import ImportOptions, JobStatus
from contacts_import.pipeline.mapping import plan_columns

SYNCHRONOUS_ROWS = 500


class ImportedRowError(DocumentedModel):
    row_number: int
    code: str
    message: str


class ImportCompleted(DocumentedModel):
    job_id: str
    status: str
    created_count: int
    updated_count: int
    skipped_count: int  # every row not imported: already there, repeated in the file, or refused
    errors: list[ImportedRowError]


class V1ImportDialect(Dialect):
    def code(self, error: ContactsImportError) -> str:
        return "insufficient_permissions" if isinstance(error, Forbidden) else super().code(error)


V1_IMPORT = V1ImportDialect()


def rows_may_lack_phones(request: ImportRequest, options: ImportOptions) -> ImportRequest:
    """Their contacts may have no phone (they match rows by email too); ours are named by it. A CSV
    without a phone column is still refused (422 missing_required_column: its header speaks for
    every row), but JSON rows each speak for themselves: when none has a phone member, the rows get
    an empty phone column, so each is refused as ``missing_phone`` in their ``errors``."""
    if not request.from_rows:
        return request
    table = list(csv.reader(io.StringIO(request.body.decode("utf-8"), newline="")))
    header = table[0] if table else []
    try:
        plan_columns(header, len(header), options)
    except MissingRequiredColumn:
        buffer = io.StringIO()
        csv.writer(buffer, lineterminator="\r\n").writerows([[*header, "phone"], *([*r, ""] for r in table[1:])])
        return replace(request, body=buffer.getvalue().encode("utf-8"))
    except ContactsImportError:
        pass  # any other refusal is met, and answered, when the import starts
    return request


def completed(job: JobStatus, request: ImportRequest) -> dict[str, Any]:
    counts = job.counts
    # Rows sent as JSON are numbered from 1 in the order sent (their CSV's header is row 1); a CSV's
    # rows are its spreadsheet rows.
    header_rows = 1 if request.from_rows else 0
    return ImportCompleted(
        job_id=job.job_id,
        status=job.status,
        created_count=counts.created,
        updated_count=counts.updated,
        skipped_count=counts.total_rows - counts.created - counts.updated,
        errors=[
            ImportedRowError(row_number=error.row - header_rows, code=error.code, message=error.message)
            for error in job.errors
        ],
    ).model_dump()


def request_body() -> dict[str, Any]:
    options = option_members()  # theirs (has_header, mapping, update_existing, tags) and ours
    options["update_existing"]["description"] = "Update contacts already there."
    closed = {"additionalProperties": False, **one_name_each(options)}
    rows = {
        "type": "object",
        "required": ["rows"],
        "properties": {"rows": {"type": "array", "items": {"type": "object"}}, **options},
        **closed,
    }
    csv_text = {"type": "object", "required": ["csv"], "properties": {"csv": {"type": "string"}, **options}, **closed}
    example = {
        "rows": [
            {"full_name": "Jane Doe", "email": "jane@acme.com", "phone": "+12125551234"},
            {"full_name": "Bob Smith", "email": "bob@beta.com", "phone": "+16502530000"},
        ]
    }
    return json_request({"oneOf": [rows, csv_text]}, example)
