"""``POST /campaigns/{campaign_id}/contacts/upload`` as the calling-campaign platform's API has it
(docs/api.md, Compatibility): a campaign is a list, named by its integer id.

Their request: a multipart form with the CSV in ``file`` and ``column_mappings`` (our ``mapping``,
a JSON string). Their answer, when the import ends in the synchronous window: 200 ``{"success",
"message", "imported_count", "total_contacts", "file_name", "import_date"}``. Existing contacts
are skipped. A file we refuse is their 400, a campaign id that is not an integer their 404; an
error keeps our envelope, with their ``success: false`` and ``message`` beside it.
"""

from __future__ import annotations

import re
from typing import Any

from contacts_import.api.compatibility.fastapi_style import field_required
from contacts_import.api.dialects import Dialect
from contacts_import.api.docs import form_request, option_fields
from contacts_import.api.envelope import DocumentedModel, ErrorEnvelope
from contacts_import.api.requests import ImportRequest, form_options, read_form
from contacts_import.errors import ContactsImportError, FieldsInvalid, FileRejected, NotFound
from contacts_import.models import ImportOptions, JobStatus

# Their document normalizes 5551234567 to +15551234567: any well-formed number (docs/decisions.md).
PHONE_VALIDATION = "possible"
_CAMPAIGN_ID = re.compile(r"[0-9]{1,18}")


class CampaignUploaded(DocumentedModel):
    success: bool
    message: str
    imported_count: int
    total_contacts: int | None
    file_name: str | None
    import_date: str | None


class CampaignUploadRefusal(ErrorEnvelope):
    success: bool
    message: str


class CampaignUploadDialect(Dialect):
    def status(self, error: ContactsImportError) -> int:
        # "Invalid file format or empty file" is their 400, whatever we call it.
        return 400 if isinstance(error, FileRejected) and error.status in (415, 422) else error.status

    def body(self, error: ContactsImportError, meta: dict[str, str]) -> dict[str, Any]:
        return {"success": False, "message": error.message, **super().body(error, meta)}


CAMPAIGN_UPLOAD = CampaignUploadDialect()


def read(campaign_id: str, body: bytes, media_type: str, content_type: str) -> tuple[ImportRequest, ImportOptions]:
    if not _CAMPAIGN_ID.fullmatch(campaign_id):
        raise NotFound(f"Campaign not found: {campaign_id!r} is not a campaign id (an integer).")
    form = read_form(body, content_type) if media_type == "multipart/form-data" else None
    if form is None or form.file is None:
        raise FieldsInvalid("The form has no file: send the CSV in the field 'file'.", [field_required("file")])
    # 007 and 7 are one campaign; its list is named by the number.
    raw = {**form_options(form.fields), "campaign_id": str(int(campaign_id))}
    raw.setdefault("phone_validation", PHONE_VALIDATION)
    request = ImportRequest(form.file.content, form.file.file_name or "contacts.csv", raw)
    return request, request.options()


def uploaded(job: JobStatus) -> dict[str, Any]:
    counts = job.counts
    skipped = counts.unchanged + counts.skipped_existing + counts.skipped_duplicates
    message = f"Imported {counts.created} of {counts.total_rows} contacts"
    if skipped or counts.invalid:
        message += f" ({skipped} already in the campaign or repeated, {counts.invalid} invalid)"
    return CampaignUploaded(
        success=True,
        message=message + ".",
        imported_count=counts.created,
        total_contacts=job.total_contacts,
        file_name=job.file_name,
        import_date=job.completed_at,
    ).model_dump()


def request_body() -> dict[str, Any]:
    fields = option_fields(leave_out=("list_id",))  # the campaign in the path is the list
    fields["column_mappings"]["description"] = 'A JSON object, CSV column -> field: {"Tel": "phone"}.'
    return form_request(
        {"file": {"type": "string", "format": "binary", "description": "The CSV, UTF-8."}, **fields},
        ["file"],
        {"file": "phone,name\n(555) 123-4567,Jane Doe\n", "column_mappings": '{"phone": "phone"}'},
        closed=True,
    )
