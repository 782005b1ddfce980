"""The compatibility routes, served by the create function beside POST /imports (docs/api.md,
Compatibility). Each is a doorway: their request becomes our ImportRequest and ImportOptions, the
import is started as POST /imports starts it, and the finished job is written in their shape.

An import that ends within SYNCHRONOUS_WINDOW_SECONDS gets their documented answer; a longer one
gets 202 with the job, as POST /imports answers, and is followed at GET /imports/{job_id}. A job
that failed in the window is answered as the error a direct request meets for its file.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.router import Router
from aws_lambda_powertools.utilities.data_classes import APIGatewayProxyEvent

from contacts_import.api.compatibility import (
    account_upload,
    batch_call_contacts,
    campaign_upload,
    folder_import,
    v1_import,
)
from contacts_import.api.compatibility.fastapi_style import FASTAPI_STYLE, FieldProblems
from contacts_import.api.dialects import Dialect, speak
from contacts_import.api.docs import LOCATION, RATE_LIMIT_HEADERS, answers, json_answer, requires
from contacts_import.api.envelope import DataEnvelope, data_response, json_response
from contacts_import.api.imports_write import deps, start_import
from contacts_import.api.requests import ImportRequest, media_type, raw_body, read_import_request
from contacts_import.api.resolver import Caller, caller, rest_event
from contacts_import.errors import failure_as_error
from contacts_import.models import ImportOptions, JobAccepted, JobStatus
from contacts_import.service.create_import import SYNCHRONOUS_WINDOW_SECONDS, has_at_most_rows, wait_for_end
from contacts_import.service.jobs_in_flight import jobs_in_flight_headers
from contacts_import.service.reports import status_url

router = Router()

TAGS = ["compatibility"]
SCOPE = "imports:write"
_QUEUED = json_answer(
    "The import did not end within the synchronous window: the job, as POST /imports answers it; follow it at "
    "GET /imports/{job_id}.",
    DataEnvelope[JobAccepted],
    LOCATION,
)


def _caller_speaking(dialect: Dialect) -> tuple[APIGatewayProxyEvent, Caller]:
    speak(router, dialect)  # first: whatever fails from here on is answered in their words
    event = rest_event(router)
    requester = caller(event)
    requester.require(SCOPE)
    return event, requester


def _form(event: APIGatewayProxyEvent) -> tuple[bytes, str, str]:
    kind, header = media_type(event)
    return raw_body(event), kind, header


def _within_window(
    event: APIGatewayProxyEvent, requester: Caller, request: ImportRequest, options: ImportOptions
) -> JobStatus | dict[str, Any]:
    """The finished job if the import ends within the window, else the accepted job."""
    accepted = start_import(event, requester, request, options)
    finished = wait_for_end(requester.account_id, accepted["job_id"], deps(), seconds=SYNCHRONOUS_WINDOW_SECONDS)
    if finished is None:
        return accepted
    if finished.status == "failed" and finished.failure is not None:
        raise failure_as_error(finished.failure.code, finished.failure.message)
    return finished


def _location(job_id: str) -> dict[str, str]:
    return {"Location": status_url(job_id)}


def _queued(event: APIGatewayProxyEvent, accepted: dict[str, Any], headers: dict[str, str] | None = None) -> Response:
    """The import goes on past the window: the job, as POST /imports answers it."""
    return data_response(event, accepted, 202, {**_location(accepted["job_id"]), **(headers or {})})


def _declared(
    summary: str, description: str, responses: dict[Any, Any], request_body: dict[str, Any]
) -> dict[str, Any]:
    """A compatibility route's declaration: its documentation, and the scope and tag they all share."""
    return {
        "summary": summary,
        "description": description,
        "responses": responses,
        "security": requires(SCOPE),
        "openapi_extensions": request_body,
        "tags": TAGS,
    }


@router.post(
    "/contacts/import",
    **_declared(
        "Import contacts (CSV), as a voice-AI platform's POST /contacts/import",
        "Multipart: the CSV in 'file', 'folder_id' (our list_id), 'overwrite_existing' (our on_existing=update). "
        "Phones need only be possible numbers. 201 when the import ends within the synchronous window, else 202 "
        "with the job. Schema refusals are 422 {'detail': [...]}.",
        answers(
            {
                201: json_answer("The import ended: its counts.", DataEnvelope[folder_import.FolderImported], LOCATION),
                202: _QUEUED,
            },
            400,
            409,
            413,
            bodies={422: ("The form lacks its file: {'detail': [{'loc', 'msg', 'type'}]}.", FieldProblems)},
        ),
        folder_import.request_body(),
    ),
)
def import_contacts_into_a_folder() -> Response[DataEnvelope[folder_import.FolderImported] | DataEnvelope[JobAccepted]]:
    event, requester = _caller_speaking(FASTAPI_STYLE)
    sent = folder_import.read(*_form(event))
    outcome = _within_window(event, requester, sent.request, sent.options)
    if not isinstance(outcome, JobStatus):
        return _queued(event, outcome)
    return data_response(event, folder_import.imported(outcome, sent.folder_id), 201, _location(outcome.job_id))


@router.post(
    "/<account>/contacts/upload",
    **_declared(
        "Upload contacts via CSV, as an SMS platform's POST /{account}/contacts/upload",
        "Multipart: the CSV in 'file' and 'headers', each column's field in order (name and phone_number required; "
        "the file's first row is its header, skipped). The path's account must be the API key's. Answers 201 "
        "{'contact_import_slug': <job id>} at once; refusals are 422 in their words.",
        answers(
            {201: json_answer("The import is under way: its job id.", account_upload.ContactImportSlug, LOCATION)},
            404,
            409,
            413,
            bodies={
                422: (
                    "Refused: {'error': ...} for a missing file or headers, {'errors': [...]} for what they hold.",
                    account_upload.OneRefusal | account_upload.Refusals,
                )
            },
        ),
        account_upload.request_body(),
    ),
)
def upload_contacts_to_an_account(account: str) -> Response[account_upload.ContactImportSlug]:
    event, requester = _caller_speaking(account_upload.ACCOUNT_UPLOAD)
    account_upload.check_account(account, requester.account_id)
    request, options = account_upload.read(*_form(event))
    accepted = start_import(event, requester, request, options)
    slug = account_upload.ContactImportSlug(contact_import_slug=accepted["job_id"]).model_dump()
    return json_response(event, slug, 201, _location(accepted["job_id"]))


@router.post(
    "/batch-calls/<batch_call_id>/contacts",
    **_declared(
        "Add contacts to a batch call, as a voice-AI platform's POST /batch-calls/{batch_call_id}/contacts",
        "JSON {'contacts': [{'phone_number' (E.164), 'first_name', 'last_name', 'email'}]} into the list named by "
        "the batch call id. 200 with both answer shapes of their document when the import ends within the "
        "synchronous window, else 202 with the job. Schema refusals are 422 {'detail': [...]}.",
        answers(
            {
                200: json_answer(
                    "The import ended: added_count/failed_count and added/duplicates_skipped/invalid_skipped/"
                    "total_contacts.",
                    DataEnvelope[batch_call_contacts.BatchCallContactsAdded],
                ),
                202: _QUEUED,
            },
            400,
            404,
            409,
            413,
            bodies={422: ("The body does not fit the schema: {'detail': [{'loc', 'msg', 'type'}]}.", FieldProblems)},
        ),
        batch_call_contacts.request_body(),
    ),
)
def add_contacts_to_a_batch_call(
    batch_call_id: str,
) -> Response[DataEnvelope[batch_call_contacts.BatchCallContactsAdded] | DataEnvelope[JobAccepted]]:
    event, requester = _caller_speaking(FASTAPI_STYLE)
    request, options = batch_call_contacts.read(batch_call_id, raw_body(event))
    outcome = _within_window(event, requester, request, options)
    if not isinstance(outcome, JobStatus):
        return _queued(event, outcome)
    return data_response(event, batch_call_contacts.added(outcome), 200)


@router.post(
    "/v1/import/contacts",
    **_declared(
        "Import contacts, as a lead-data platform's POST /v1/import/contacts",
        "JSON {'rows': [...]} or {'csv': ...} with has_header, mapping, update_existing, tags (and our options). Up "
        "to 500 rows, 200 with the counts when the import ends within the synchronous window; otherwise 202 with "
        "the job. X-RateLimit-* report the cap on imports in flight.",
        answers(
            {
                200: json_answer(
                    "The import ended: its counts and row errors.",
                    DataEnvelope[v1_import.ImportCompleted],
                    {**LOCATION, **RATE_LIMIT_HEADERS},
                ),
                202: {**_QUEUED, "headers": {**LOCATION, **RATE_LIMIT_HEADERS}},
            },
            400,
            409,
            413,
            415,
            422,
        ),
        v1_import.request_body(),
    ),
)
def import_contacts_v1() -> Response[DataEnvelope[v1_import.ImportCompleted] | DataEnvelope[JobAccepted]]:
    event, requester = _caller_speaking(v1_import.V1_IMPORT)
    request = read_import_request(event)
    options = request.options()
    request = v1_import.rows_may_lack_phones(request, options)
    if has_at_most_rows(request.body, options, v1_import.SYNCHRONOUS_ROWS):
        outcome = _within_window(event, requester, request, options)
    else:
        outcome = start_import(event, requester, request, options)
    rate_limit = jobs_in_flight_headers(requester.account_id, deps().jobs, deps().settings)  # with this import counted
    if not isinstance(outcome, JobStatus):
        return _queued(event, outcome, rate_limit)
    body = v1_import.completed(outcome, request)
    return data_response(event, body, 200, {**_location(outcome.job_id), **rate_limit})


@router.post(
    "/campaigns/<campaign_id>/contacts/upload",
    **_declared(
        "Upload contacts to a campaign, as a calling-campaign platform's POST /campaigns/{campaign_id}/contacts/upload",
        "Multipart: the CSV in 'file', 'column_mappings' (a JSON string: our mapping) into the list named by the "
        "campaign's integer id. Phones need only be possible numbers; existing ones are skipped. 200 when the "
        "import ends within the synchronous window, else 202 with the job.",
        answers(
            {
                200: json_answer("The import ended.", campaign_upload.CampaignUploaded, LOCATION),
                202: _QUEUED,
            },
            409,
            413,
            422,
            bodies={
                400: (
                    "Invalid file format or empty file (not a CSV, no phone column, no rows, no file), or bad options.",
                    campaign_upload.CampaignUploadRefusal,
                ),
                404: ("Campaign not found: the campaign id is not an integer.", campaign_upload.CampaignUploadRefusal),
            },
        ),
        campaign_upload.request_body(),
    ),
)
def upload_contacts_to_a_campaign(
    campaign_id: str,
) -> Response[campaign_upload.CampaignUploaded | DataEnvelope[JobAccepted]]:
    event, requester = _caller_speaking(campaign_upload.CAMPAIGN_UPLOAD)
    request, options = campaign_upload.read(campaign_id, *_form(event))
    outcome = _within_window(event, requester, request, options)
    if not isinstance(outcome, JobStatus):
        return _queued(event, outcome)
    return json_response(event, campaign_upload.uploaded(outcome), 200, _location(outcome.job_id))
