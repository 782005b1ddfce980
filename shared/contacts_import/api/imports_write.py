"""POST routes, served by the create function: start imports, hand out uploads, cancel jobs."""

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

from contacts_import.api.docs import LOCATION, answers, import_request, json_answer, requires, upload_request
from contacts_import.api.envelope import DataEnvelope, data_response
from contacts_import.api.params import JobId
from contacts_import.api.requests import ImportRequest, file_name_member, raw_body, read_import_request
from contacts_import.api.resolver import Caller, caller, rest_event
from contacts_import.errors import InvalidOptions
from contacts_import.models import ImportOptions, JobAccepted, JobStatus, UploadAccepted
from contacts_import.service.create_import import (
    CreateDeps,
    DirectImport,
    cancel_import,
    create_direct_import,
    create_upload,
    wait_for_end,
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
    "first; the upload starts the job.",
    responses=answers(
        {201: json_answer("The job, awaiting its upload, and how to upload.", DataEnvelope[UploadAccepted], LOCATION)},
        400,
        409,
        413,
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
    options = requester.session_options(ImportOptions.parse(document))
    accepted = create_upload(requester.account_id, file_name, options, deps(), session_id=requester.session_id)
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
