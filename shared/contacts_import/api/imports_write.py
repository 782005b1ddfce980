"""Routes served by the create function: start imports, hand out uploads (and the routes of a
multipart upload), cancel jobs."""

from __future__ import annotations

import json
from functools import cache
from typing import Any

import boto3
from aws_lambda_powertools import Metrics
from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.router import Router
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.data_classes import APIGatewayProxyEvent

from contacts_import.api.docs import (
    LOCATION,
    answers,
    import_request,
    json_answer,
    json_request,
    requires,
    upload_request,
)
from contacts_import.api.envelope import DataEnvelope, ErrorEnvelope, data_response
from contacts_import.api.params import JobId
from contacts_import.api.requests import ImportRequest, file_name_member, raw_body, read_import_request
from contacts_import.api.resolver import Caller, caller, rest_event
from contacts_import.errors import InvalidOptions
from contacts_import.models import ImportOptions, JobAccepted, JobStatus, MultipartState, UploadAccepted
from contacts_import.service.create_import import (
    CreateDeps,
    DirectImport,
    cancel_import,
    create_direct_import,
    create_upload,
    wait_for_end,
)
from contacts_import.service.multipart_upload import (
    abort_upload,
    check_upload_size,
    complete_upload,
    create_multipart_upload,
    upload_state,
)
from contacts_import.service.reports import status_url
from contacts_import.settings import CreateImportSettings
from contacts_import.store.accounts import AccountStore
from contacts_import.store.dynamo import BOTO_CONFIG, dynamodb_resource
from contacts_import.store.jobs import JobStore
from contacts_import.store.mapping_profiles import MappingProfileStore
from contacts_import.store.objects import ObjectStore, s3_client
from contacts_import.store.row_errors import RowErrorReader

router = Router()
metrics = Metrics()  # the handler's metric set: Powertools keeps one per namespace


@cache
def deps() -> CreateDeps:
    settings = CreateImportSettings.from_environment()
    dynamodb = dynamodb_resource()
    return CreateDeps(
        settings=settings,
        objects=ObjectStore(s3_client(), settings.bucket_name),
        jobs=JobStore(dynamodb, settings.jobs_table, settings.lists_table),
        row_errors=RowErrorReader(dynamodb, settings.row_errors_table),
        accounts=AccountStore(dynamodb, settings.accounts_table),
        profiles=MappingProfileStore(dynamodb, settings.mapping_profiles_table),
    )


@cache
def idempotent_create() -> Any:
    # Imported on the first request with an Idempotency-Key: the others never pay for it.
    from contacts_import.service.idempotency import idempotent_creator

    # A plain client: Powertools serializes its own items (the resource's client would do it twice).
    return idempotent_creator(deps().settings.idempotency_table, boto3.client("dynamodb", config=BOTO_CONFIG))


def start_import(
    event: APIGatewayProxyEvent, requester: Caller, request: ImportRequest, options: ImportOptions
) -> dict[str, Any]:
    """Store the job and its file (the same job again for a repeated Idempotency-Key): the
    JobAccepted document. Every route that imports a file sent in the request starts it here."""
    key = event.headers.get("idempotency-key") or event.headers.get("Idempotency-Key")
    direct = DirectImport(
        account_id=requester.account_id,
        body=request.body,
        file_name=request.file_name,
        options=options,
        idempotency_key=key,
        session_id=requester.session_id,
    )
    if key:
        accepted = idempotent_create()(direct, deps(), router.lambda_context)
    else:
        accepted = create_direct_import(direct, deps())
    metrics.add_metric(name="ImportsAccepted", unit=MetricUnit.Count, value=1)
    return accepted


@router.post(
    "/imports",
    summary="Import a CSV sent in the request",
    description="Body as text/csv (options in the query), multipart/form-data (field 'file') or "
    "application/json ({'csv': ...} or {'rows': [...]}, options as members). Answers 202 with the job, "
    "or 201 with the finished status when wait=true and the job ends within 10 s.",
    responses=answers(
        {
            201: json_answer(
                "wait=true, and the job ended within 10 s: its status.", DataEnvelope[JobStatus], LOCATION
            ),
            202: json_answer("Accepted: the job is queued.", DataEnvelope[JobAccepted], LOCATION),
        },
        400,
        409,
        413,
        415,
        422,
    ),
    security=requires("imports:write"),
    openapi_extensions=import_request(),
    tags=["imports"],
)
def post_import() -> Response[DataEnvelope[JobStatus] | DataEnvelope[JobAccepted]]:
    event = rest_event(router)
    requester = caller(event)
    requester.require_key_or_session("imports:write")  # a browser session too, kept to its list
    request = read_import_request(event)
    options = requester.session_options(request.options())
    accepted = start_import(event, requester, request, options)
    job_id = accepted["job_id"]
    location = {"Location": status_url(job_id)}
    if options.wait:
        finished = wait_for_end(requester.account_id, job_id, deps())
        if finished is not None:
            return data_response(event, finished.model_dump(mode="json"), 201, location)
    return data_response(event, accepted, 202, location)


@router.post(
    "/imports/uploads",
    summary="Get a presigned upload for a large file",
    description="JSON body {'file_name': ..., options}. POST the file to upload.url with upload.fields "
    "first; the upload starts the job. With 'multipart': true and the file's 'size' in bytes, a resumable "
    "multipart upload instead (method MULTIPART): PUT each part to its URL, then POST "
    "/imports/{job_id}/upload/complete with every part's ETag.",
    responses=answers(
        {201: json_answer("The job, awaiting its upload, and how to upload.", DataEnvelope[UploadAccepted], LOCATION)},
        400,
        409,
        413,
        bodies={
            413: (
                "payload_too_large: a declared size over the most an upload may bring "
                "(MaxUploadBytes, 5 GiB by default).",
                ErrorEnvelope,
            )
        },
    ),
    security=requires("imports:write"),
    openapi_extensions=upload_request(),
    tags=["imports"],
)
def post_upload() -> Response[DataEnvelope[UploadAccepted]]:
    event = rest_event(router)
    requester = caller(event)
    requester.require_key_or_session("imports:write")  # a browser session too, kept to its list
    try:
        document = json.loads(raw_body(event) or b"{}")
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise InvalidOptions("The body must be a JSON object: {'file_name': ..., options}.") from None
    if not isinstance(document, dict):
        raise InvalidOptions("The body must be a JSON object: {'file_name': ..., options}.")
    file_name = file_name_member(document)
    size = multipart_size(document)
    options = requester.session_options(ImportOptions.parse(document))
    if size is None:
        accepted = create_upload(requester.account_id, file_name, options, deps(), session_id=requester.session_id)
    else:
        accepted = create_multipart_upload(
            requester.account_id, file_name, size, options, deps(), session_id=requester.session_id
        )
    metrics.add_metric(name="UploadsIssued", unit=MetricUnit.Count, value=1)
    return data_response(event, accepted, 201, {"Location": status_url(accepted["job_id"])})


@router.post(
    "/imports/<job_id>/cancel",
    summary="Cancel a queued or processing job",
    description="What the job has written stays. 409 when the job has already ended.",
    responses=answers({200: json_answer("The cancelled job's status.", DataEnvelope[JobStatus])}, 400, 404, 409),
    security=requires("imports:write"),
    tags=["imports"],
)
def post_cancel(job_id: JobId) -> Response[DataEnvelope[JobStatus]]:
    event = rest_event(router)
    requester = caller(event)
    requester.require("imports:write")
    status = cancel_import(requester.account_id, job_id, deps())
    return data_response(event, status.model_dump(mode="json"), 200)


def _own_upload(requester: Caller, job_id: str) -> None:
    """A key with ``imports:write``, or the browser session that created the job: a page resumes
    and completes the multipart upload it started, and no other."""
    requester.require_key_or_session("imports:write")
    if requester.session_id is not None:
        job = deps().jobs.get(requester.account_id, job_id)
        requester.check_job(job if job is not None else {"job_id": job_id})


def multipart_size(document: dict[str, Any]) -> int | None:
    """The file's size when the body asks for a multipart upload (``multipart`` and ``size`` taken
    out of ``document``); None for a presigned POST."""
    multipart = document.pop("multipart", False)
    size = document.pop("size", None)
    if not isinstance(multipart, bool):
        raise InvalidOptions("'multipart' must be true or false.", details={"option": "multipart"})
    if size is not None and (isinstance(size, bool) or not isinstance(size, int) or size < 1):
        raise InvalidOptions(
            "'size' must be the file's size: a whole number of bytes, at least 1.", details={"option": "size"}
        )
    if not multipart:
        if size is not None:
            check_upload_size(size, deps().settings.max_upload_bytes)  # a file too large is a 413 now
        return None
    if size is None:
        raise InvalidOptions("A multipart upload needs the file's 'size' in bytes.", details={"option": "size"})
    return size


# Multipart uploads (docs/api.md, Resumable uploads). All four routes are this function's: the role
# that signs UploadPart URLs is the one that may write under uploads/ (template.yaml).
_UPLOAD_CONFLICTS = (
    "not_multipart_upload: the job was not started with 'multipart': true; upload_completed: the upload "
    "was completed already; upload_aborted: it was aborted (DELETE, a cancelled job) or removed a day "
    "after it began."
)


@router.get(
    "/imports/<job_id>/upload",
    summary="The parts of a multipart upload S3 holds, and fresh URLs for the rest",
    description="For resuming: each part S3 holds with its ETag and size, and a fresh presigned URL "
    "(valid until expires_at) for each part it lacks.",
    responses=answers(
        {200: json_answer("The upload's parts.", DataEnvelope[MultipartState])},
        400,
        404,
        409,
        bodies={409: (_UPLOAD_CONFLICTS, ErrorEnvelope)},
    ),
    security=requires("imports:write"),
    tags=["imports"],
)
def get_upload(job_id: JobId) -> Response[DataEnvelope[MultipartState]]:
    event = rest_event(router)
    requester = caller(event)
    _own_upload(requester, job_id)
    state = upload_state(requester.account_id, job_id, deps())
    return data_response(event, state.model_dump(mode="json"), 200)


@router.post(
    "/imports/<job_id>/upload/complete",
    summary="Complete a multipart upload: the job starts",
    description="Body {'parts': [{'part_number', 'etag'}]}, every part of the upload with the ETag its "
    "PUT answered. Checked against the parts S3 holds before anything is joined: a missing part, an ETag "
    "that is not the part's, or a part of the wrong size is refused and the upload stays open.",
    responses=answers(
        {202: json_answer("Completed: the job is queued.", DataEnvelope[JobAccepted], LOCATION)},
        400,
        404,
        409,
        413,
        bodies={
            400: (
                "validation_error: the body is not {'parts': [...]}, or lists a part twice or past the "
                "upload's last; missing_part: a part S3 lacks or the body leaves out (details.parts); "
                "etag_mismatch: an ETag that is not that of the part S3 holds; size_mismatch: a part "
                "shorter than the part size (all but the last are full).",
                ErrorEnvelope,
            ),
            409: (_UPLOAD_CONFLICTS, ErrorEnvelope),
            413: ("part_too_large: a part S3 holds is larger than the upload's part_size.", ErrorEnvelope),
        },
    ),
    security=requires("imports:write"),
    openapi_extensions=json_request(
        {
            "type": "object",
            "required": ["parts"],
            "additionalProperties": False,
            "properties": {
                "parts": {
                    "type": "array",
                    "minItems": 1,
                    "maxItems": 10000,
                    "items": {
                        "type": "object",
                        "required": ["part_number", "etag"],
                        "additionalProperties": False,
                        "properties": {
                            "part_number": {"type": "integer", "minimum": 1, "maximum": 10000},
                            "etag": {"type": "string", "minLength": 1, "maxLength": 1024},
                        },
                    },
                }
            },
        },
        {"parts": [{"part_number": 1, "etag": '"9b2cf535f27731c974343645a3985328"'}]},
    ),
    tags=["imports"],
)
def post_upload_complete(job_id: JobId) -> Response[DataEnvelope[JobAccepted]]:
    event = rest_event(router)
    requester = caller(event)
    _own_upload(requester, job_id)
    accepted = complete_upload(requester.account_id, job_id, raw_body(event), deps())
    return data_response(event, accepted, 202, {"Location": status_url(job_id)})


@router.delete(
    "/imports/<job_id>/upload",
    summary="Abort a multipart upload: its parts are dropped, the job ends cancelled",
    description="Only while the upload awaits completion.",
    responses=answers(
        {200: json_answer("The cancelled job's status.", DataEnvelope[JobStatus])},
        400,
        404,
        409,
        bodies={409: (_UPLOAD_CONFLICTS, ErrorEnvelope)},
    ),
    security=requires("imports:write"),
    tags=["imports"],
)
def delete_upload(job_id: JobId) -> Response[DataEnvelope[JobStatus]]:
    event = rest_event(router)
    requester = caller(event)
    _own_upload(requester, job_id)
    status = abort_upload(requester.account_id, job_id, deps())
    return data_response(event, status.model_dump(mode="json"), 200)
