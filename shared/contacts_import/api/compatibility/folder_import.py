"""``POST /contacts/import`` as the voice-AI platform's API has it (docs/api.md, Compatibility).

Their request: a multipart form with the CSV in ``file``, ``folder_id`` (our list) and
``overwrite_existing`` (our ``on_existing=update``). Their answer, when the import ends in the
synchronous window: 201 ``{"data": {"imported", "updated", "skipped", "errors", "folder_id",
"error_details": [{"row", "phone", "reason"}]}, "meta"}``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from contacts_import.api.compatibility.fastapi_style import field_required
from contacts_import.api.docs import form_request, option_fields
from contacts_import.api.envelope import DocumentedModel
from contacts_import.api.requests import ImportRequest, form_options, read_form
from contacts_import.errors import FieldsInvalid
from contacts_import.models import ImportOptions, JobStatus

# Their document validates a number's format only, and its own example imports +1 555 numbers.
PHONE_VALIDATION = "possible"
# The reason their document shows for a refused number; other refusals keep our message.
_REASONS = {"invalid_phone": "Invalid phone number format"}
_PHONE_ERRORS = frozenset({"invalid_phone", "missing_phone"})


class FolderRowError(DocumentedModel):
    row: int
    phone: str | None  # the number as written, for a row refused for its phone; else null
    reason: str


class FolderImported(DocumentedModel):
    imported: int
    updated: int
    skipped: int
    errors: int
    folder_id: str | None
    error_details: list[FolderRowError]


@dataclass(frozen=True)
class FolderImport:
    request: ImportRequest
    options: ImportOptions
    folder_id: str | None  # as they sent it: null for the default folder (our list "default")


def read(body: bytes, media_type: str, content_type: str) -> FolderImport:
    form = read_form(body, content_type) if media_type == "multipart/form-data" else None
    if form is None or form.file is None:
        raise FieldsInvalid("The form has no file: send the CSV in the field 'file'.", [field_required("file")])
    raw = form_options(form.fields)
    raw.setdefault("phone_validation", PHONE_VALIDATION)
    options = ImportOptions.parse({}, text=raw)
    named_a_list = any(raw.get(name) not in (None, "") for name in ("folder_id", "list_id"))
    request = ImportRequest(form.file.content, form.file.file_name or "contacts.csv", raw)
    return FolderImport(request, options, options.list_id if named_a_list else None)


def imported(job: JobStatus, folder_id: str | None) -> dict[str, Any]:
    counts = job.counts
    return FolderImported(
        imported=counts.created,
        updated=counts.updated,
        skipped=counts.unchanged + counts.skipped_existing + counts.skipped_duplicates,
        errors=counts.invalid,
        folder_id=folder_id,
        error_details=[
            FolderRowError(
                row=error.row,
                phone=error.value if error.code in _PHONE_ERRORS else None,
                reason=_REASONS.get(error.code, error.message),
            )
            for error in job.errors
        ],
    ).model_dump()


def request_body() -> dict[str, Any]:
    """Their request body, as their document gives it; our options are also taken as fields."""
    fields = option_fields()
    fields["folder_id"]["description"] = "The list (folder) to import into; the default list when omitted."
    fields["overwrite_existing"]["description"] = "Update contacts whose phone the list has (on_existing=update)."
    return form_request(
        {"file": {"type": "string", "format": "binary", "description": "The CSV: a phone column."}, **fields},
        ["file"],
        {
            "file": "phone,name,email,company\n+12125551234,Jane Doe,jane@acme.com,Acme Corp\n",
            "folder_id": "folder_abc123",
            "overwrite_existing": "false",
        },
        closed=True,
    )
