"""GET routes, served by the status function: jobs, row errors, lists, contacts, the OpenAPI document."""

from __future__ import annotations

from functools import cache, cached_property
from typing import Any
from urllib.parse import unquote

import phonenumbers
from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.router import Router

from contacts_import.api.docs import answers, json_answer, requires
from contacts_import.api.envelope import (
    DataEnvelope,
    PageEnvelope,
    data_response,
    page_response,
    text_response,
)
from contacts_import.api.params import Cursor, JobId, Limit, ListId, Phone, PlanOutcome
from contacts_import.api.resolver import caller, rest_event
from contacts_import.errors import NotFound
from contacts_import.models import ContactOut, JobStatus, JobSummary, ListOut, PlanRow, ReportLink, RowError
from contacts_import.pipeline.shards import LEGACY
from contacts_import.service.plan import plan_page
from contacts_import.service.reports import (
    CSV_TYPE,
    InlineReport,
    contact_document,
    error_report,
    job_summary,
    list_document,
    public_error,
    report_file_name,
    settled_total,
    status_document,
)
from contacts_import.settings import ImportStatusSettings
from contacts_import.store.change_journal import ChangeJournalStore
from contacts_import.store.contacts import ContactStore
from contacts_import.store.dynamo import dynamodb_resource
from contacts_import.store.jobs import JobStore
from contacts_import.store.lists import SHARDS, ListStore
from contacts_import.store.row_errors import RowErrorReader

router = Router()


class StatusDeps:
    def __init__(self, settings: ImportStatusSettings) -> None:
        self.settings = settings
        self.dynamodb = dynamodb_resource()
        self.jobs = JobStore(self.dynamodb, settings.jobs_table, settings.lists_table)
        self.lists = ListStore(self.dynamodb, settings.lists_table)
        self.row_errors = RowErrorReader(self.dynamodb, settings.row_errors_table)

    @cached_property
    def objects(self) -> Any:
        # Only a CSV report too large for one answer needs S3: the other requests never pay for it.
        from contacts_import.store.objects import ObjectStore, s3_client

        return ObjectStore(s3_client(), self.settings.bucket_name)

    def journal(self, account_id: str, job_id: str) -> ChangeJournalStore:
        from contacts_import.store.dynamo import dynamodb_fast_client

        return ChangeJournalStore(
            dynamodb_fast_client(), self.settings.row_errors_table, account_id, job_id, retention_days=0
        )

    def contacts(self, account_id: str, list_id: str, shards: int | None = None) -> ContactStore:
        """The list's contacts; its shards are read from the list unless the caller has them."""
        if shards is None:
            shards = self.lists.shards(account_id, list_id)
        return ContactStore(self.dynamodb, self.settings.contacts_table, account_id, list_id, shards=shards)


@cache
def deps() -> StatusDeps:
    return StatusDeps(ImportStatusSettings.from_environment())


def _job(account_id: str, job_id: str) -> dict[str, Any]:
    job = deps().jobs.get(account_id, job_id)
    if job is None:
        raise NotFound(f"No import job {job_id}.")
    return job


def _settled(account_id: str, job: dict[str, Any]) -> dict[str, Any]:
    return settled_total(job, lambda: deps().lists.total_contacts(account_id, job["list_id"]))


@router.get(
    "/imports",
    summary="The account's import jobs, newest first",
    responses=answers({200: json_answer("A page of jobs.", PageEnvelope[JobSummary])}, 400, 404),
    security=requires("imports:read"),
    tags=["imports"],
)
def list_imports(limit: Limit = 100, cursor: Cursor = None) -> Response[PageEnvelope[JobSummary]]:
    event = rest_event(router)
    who = caller(event)
    who.require_key_or_session("imports:read")  # a browser session sees the jobs it created
    jobs, next_cursor = deps().jobs.page(who.account_id, limit, cursor, session_id=who.session_id)
    summaries = [job_summary(_settled(who.account_id, job)) for job in jobs]
    return page_response(event, summaries, next_cursor, limit)


@router.get(
    "/imports/<job_id>",
    summary="An import job's status, counts and first 100 row errors",
    responses=answers({200: json_answer("The job's status.", DataEnvelope[JobStatus])}, 400, 404),
    security=requires("imports:read"),
    tags=["imports"],
)
def get_import(job_id: JobId) -> Response[DataEnvelope[JobStatus]]:
    event = rest_event(router)
    who = caller(event)
    who.require_key_or_session("imports:read")  # a browser session reads only the jobs it created
    job = _job(who.account_id, job_id)
    who.check_job(job)
    first_errors, _ = deps().row_errors.page(who.account_id, job_id, 100, None)
    return data_response(event, status_document(_settled(who.account_id, job), first_errors).model_dump(mode="json"))


@router.get(
    "/imports/<job_id>/errors",
    summary="Every row error of a job, paged; with Accept: text/csv a spreadsheet-safe CSV of them all",
    responses=answers(
        {
            200: {
                "description": "A page of row errors; with Accept: text/csv every one of them as a CSV.",
                "content": {
                    "application/json": {"model": PageEnvelope[RowError]},
                    "text/csv": {"schema": {"type": "string"}},
                },
            },
            303: json_answer(
                "With Accept: text/csv, a report too large for one answer (over 4 MiB): GET it from Location, "
                "a presigned URL valid 5 minutes.",
                DataEnvelope[ReportLink],
                {"Location": {"required": True, "description": "Where the CSV is.", "schema": {"type": "string"}}},
            ),
        },
        400,
        404,
    ),
    security=requires("imports:read"),
    tags=["imports"],
)
def get_import_errors(job_id: JobId, limit: Limit = 100, cursor: Cursor = None):
    event = rest_event(router)
    who = caller(event)
    who.require_key_or_session("imports:read")  # a browser session reads only the jobs it created
    job = _job(who.account_id, job_id)
    who.check_job(job)
    accept = (event.headers.get("accept") or event.headers.get("Accept") or "").lower()
    if "text/csv" in accept:
        report = error_report(who.account_id, job, deps().row_errors.all(who.account_id, job_id), deps().objects)
        if isinstance(report, InlineReport):
            disposition = f'attachment; filename="{report_file_name(job_id)}"'
            return text_response(event, report.text, CSV_TYPE, {"Content-Disposition": disposition})
        # Too large for one Lambda answer (6 MB): fetched from S3 instead.
        link = ReportLink(url=report.url, expires_at=report.expires_at, size_bytes=report.size_bytes)
        return data_response(event, link.model_dump(), 303, {"Location": report.url})
    errors, next_cursor = deps().row_errors.page(who.account_id, job_id, limit, cursor)
    return page_response(event, [public_error(e) for e in errors], next_cursor, limit)


@router.get(
    "/imports/<job_id>/plan",
    summary="A completed dry run's plan: every row's outcome and, for an update, each changed field, paged",
    responses=answers(
        {200: json_answer("A page of the plan's rows, in row order.", PageEnvelope[PlanRow])}, 400, 404, 409
    ),
    security=requires("imports:read"),
    tags=["imports"],
)
def get_import_plan(
    job_id: JobId, limit: Limit = 100, cursor: Cursor = None, outcome: PlanOutcome = None
) -> Response[PageEnvelope[PlanRow]]:
    event = rest_event(router)
    who = caller(event)
    who.require("imports:read")
    job = _job(who.account_id, job_id)
    journal = deps().journal(who.account_id, job_id)
    rows, next_cursor = plan_page(job, journal, deps().row_errors, limit, cursor, outcome)
    return page_response(event, rows, next_cursor, limit)


@router.get(
    "/lists/<list_id>",
    summary="A list and its size",
    responses=answers({200: json_answer("The list.", DataEnvelope[ListOut])}, 400, 404),
    security=requires("contacts:read"),
    tags=["lists"],
)
def get_list(list_id: ListId) -> Response[DataEnvelope[ListOut]]:
    event = rest_event(router)
    who = caller(event)
    who.require("contacts:read")
    stored = deps().lists.get(who.account_id, list_id)
    if stored is None:
        raise NotFound(f"No list {list_id}.")
    return data_response(event, list_document(list_id, int(stored.get("total_contacts", 0))))


@router.get(
    "/lists/<list_id>/contacts",
    summary="A list's contacts, paged",
    responses=answers({200: json_answer("A page of contacts.", PageEnvelope[ContactOut])}, 400, 404),
    security=requires("contacts:read"),
    tags=["lists"],
)
def list_contacts(list_id: ListId, limit: Limit = 100, cursor: Cursor = None) -> Response[PageEnvelope[ContactOut]]:
    event = rest_event(router)
    who = caller(event)
    who.require("contacts:read")
    stored = deps().lists.get(who.account_id, list_id)
    if stored is None:
        raise NotFound(f"No list {list_id}.")
    shards = int(stored.get(SHARDS, LEGACY))
    contacts, next_cursor = deps().contacts(who.account_id, list_id, shards).page(limit, cursor)
    return page_response(event, [contact_document(c) for c in contacts], next_cursor, limit)


@router.get(
    "/lists/<list_id>/contacts/<phone>",
    summary="One contact, by its E.164 phone (URL-encoded)",
    responses=answers({200: json_answer("The contact.", DataEnvelope[ContactOut])}, 400, 404),
    security=requires("contacts:read"),
    tags=["lists"],
)
def get_contact(list_id: ListId, phone: Phone) -> Response[DataEnvelope[ContactOut]]:
    event = rest_event(router)
    who = caller(event)
    who.require("contacts:read")
    e164 = _e164(unquote(phone))
    contact = deps().contacts(who.account_id, list_id).get(e164) if e164 else None
    if contact is None:
        raise NotFound(f"No contact {phone} in list {list_id}.")
    return data_response(event, contact_document(contact))


def _e164(text: str) -> str | None:
    """The E.164 form of a phone in a path; a leading '+' lost to form encoding is put back."""
    candidate = text.strip().replace(" ", "")
    if not candidate.startswith("+"):
        candidate = "+" + candidate
    try:
        number = phonenumbers.parse(candidate, None)
    except phonenumbers.NumberParseException:
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


@router.get(
    "/openapi.json",
    summary="The OpenAPI document of this API",
    responses=answers(
        {200: {"description": "This document.", "content": {"application/json": {"schema": {"type": "object"}}}}}
    ),
    security=requires(None),
    tags=["meta"],
)
def openapi_document():
    from contacts_import.api.openapi import openapi_json

    return text_response(rest_event(router), openapi_json(), "application/json")
