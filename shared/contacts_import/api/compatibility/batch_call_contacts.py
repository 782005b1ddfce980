"""``POST /batch-calls/{batch_call_id}/contacts`` as the voice-AI platform's API has it (docs/api.md,
Compatibility): a batch call is a list.

Their request: JSON ``{"contacts": [{"phone_number", "first_name", "last_name", "email"}]}``,
validated against their schema (at least one contact, each with an E.164 ``phone_number``): a body
that fails it is 422 with FastAPI's ``detail``. Their document gives the answer in two shapes
(``added_count``/``failed_count``, and ``added``/``duplicates_skipped``/``invalid_skipped``/
``total_contacts``); the names differ, so we answer both at once (docs/decisions.md), 200 when the
import ends in the synchronous window.
"""

from __future__ import annotations

import json
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from contacts_import.api.compatibility.fastapi_style import field_problems
from contacts_import.api.docs import json_request, one_name_each, option_members
from contacts_import.api.envelope import DocumentedModel
from contacts_import.api.requests import ImportRequest, rows_to_csv
from contacts_import.errors import FieldsInvalid, NotFound
from contacts_import.models import LIST_ID_PATTERN, ImportOptions, JobStatus

E164_PATTERN = r"^\+[1-9]\d{1,14}$"
NULLABLE_STRING = {"anyOf": [{"type": "string"}, {"type": "null"}]}
# Their schema's pattern is their validation: a number in E.164 form, 555 test numbers included.
PHONE_VALIDATION = "possible"


class BatchCallContact(BaseModel):
    # Other members of a contact are columns like any other (company, custom fields).
    model_config = ConfigDict(extra="allow")

    phone_number: str = Field(pattern=E164_PATTERN)
    first_name: str | None = None
    last_name: str | None = None
    email: str | None = None


class BatchCallContacts(BaseModel):
    # Members beside "contacts" are our import options (tags, phone_validation, ...).
    model_config = ConfigDict(extra="allow")

    contacts: list[BatchCallContact] = Field(min_length=1)


class BatchCallContactsAdded(DocumentedModel):
    added_count: int
    failed_count: int
    added: int
    duplicates_skipped: int
    invalid_skipped: int
    total_contacts: int | None


def read(batch_call_id: str, body: bytes) -> tuple[ImportRequest, ImportOptions]:
    if not LIST_ID_PATTERN.fullmatch(batch_call_id):
        raise NotFound(f"Batch call {batch_call_id!r} not found: a batch call id is a list id.")
    try:
        document = json.loads(body or b"null")
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        problem = {"loc": ["body"], "msg": f"JSON decode error: {error}", "type": "json_invalid"}
        raise FieldsInvalid("The body is not JSON.", [problem]) from None
    try:
        parsed = BatchCallContacts.model_validate(document)
    except ValidationError as error:
        raise FieldsInvalid("The body does not fit the schema.", field_problems(error)) from None
    options_given = dict(parsed.model_extra or {})
    raw = {**options_given, "list_id": batch_call_id}
    raw.setdefault("phone_validation", PHONE_VALIDATION)
    rows = [contact.model_dump() for contact in parsed.contacts]
    request = ImportRequest(rows_to_csv(rows), "contacts.csv", {}, raw)
    return request, request.options()


def added(job: JobStatus) -> dict[str, Any]:
    counts = job.counts
    return BatchCallContactsAdded(
        added_count=counts.created,
        failed_count=counts.invalid,
        added=counts.created,
        duplicates_skipped=counts.unchanged + counts.skipped_existing + counts.skipped_duplicates,
        invalid_skipped=counts.invalid,
        total_contacts=job.total_contacts,
    ).model_dump()


def request_body() -> dict[str, Any]:
    contact = {
        "type": "object",
        "required": ["phone_number"],
        "properties": {
            "phone_number": {"type": "string", "pattern": E164_PATTERN},
            "first_name": NULLABLE_STRING,
            "last_name": NULLABLE_STRING,
            "email": NULLABLE_STRING,
        },
    }
    options = option_members(leave_out=("list_id",))  # the batch call in the path is the list
    return json_request(
        {
            "type": "object",
            "required": ["contacts"],
            "properties": {"contacts": {"type": "array", "minItems": 1, "items": contact}, **options},
            "additionalProperties": False,
            **one_name_each(options),
        },
        {"contacts": [{"phone_number": "+15551234567", "first_name": "John", "last_name": "Doe"}]},
    )
