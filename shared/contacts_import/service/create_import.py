"""Starting an import: a CSV sent in the request, or a presigned upload for a large file.

Either way the job is stored before its file, so the S3-triggered processor always finds it.
A direct body is checked at once (size, type, header) so that a file that can never import is a
4xx now rather than a failed job later.
"""

from __future__ import annotations

import io
import itertools
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from contacts_import.clock import utc_now
from contacts_import.errors import Conflict, EmptyFile, FileTooLarge, InvalidOptions, NotFound, NoWebhookSecret
from contacts_import.ids import new_job_id
from contacts_import.models import (
    ENDED_STATES,
    ImportOptions,
    JobAccepted,
    JobStatus,
    UploadAccepted,
    UploadInstructions,
)
from contacts_import.object_keys import safe_file_name, upload_key
from contacts_import.pipeline.containers import DIRECT_WORKBOOK_LIMITS, GZIP_MAGIC, check_gzip_complete, open_records
from contacts_import.pipeline.mapping import plan_file_columns
from contacts_import.pipeline.reading import Record
from contacts_import.profiles import MappingProfile
from contacts_import.service.job_items import new_job_item
from contacts_import.service.jobs_in_flight import check_jobs_in_flight, upload_expiry_seconds
from contacts_import.service.mapping_profiles import with_matching_profile, with_named_profile
from contacts_import.service.notifications import WebhookRefused, check_webhook_url
from contacts_import.service.reports import status_document, status_url
from contacts_import.settings import CreateImportSettings
from contacts_import.store.accounts import AccountStore
from contacts_import.store.jobs import JobStore
from contacts_import.store.mapping_profiles import MappingProfileStore
from contacts_import.store.objects import ObjectStore
from contacts_import.store.row_errors import RowErrorReader

# Lambda takes at most 6 MB per synchronous request, and API Gateway sends bodies base64-encoded
# (a third larger): 4 MiB of file is what fits with room for the rest of the event.
MAX_DIRECT_BODY_BYTES = 4 * 1024 * 1024
WAIT_SECONDS = 10.0
WAIT_POLL_SECONDS = 0.25
# How long a compatibility route waits for its import to end before it answers 202 with the job
# (docs/api.md, Compatibility): the APIs they stand in for answer small imports synchronously, and
# API Gateway ends a request at 29 s, so what remains is left for the rest of the request.
SYNCHRONOUS_WINDOW_SECONDS = 20.0


@dataclass(frozen=True)
class CreateDeps:
    settings: CreateImportSettings
    objects: ObjectStore
    jobs: JobStore
    row_errors: RowErrorReader
    accounts: AccountStore
    profiles: MappingProfileStore


@dataclass(frozen=True)
class DirectImport:
    account_id: str
    body: bytes
    file_name: str
    options: ImportOptions
    idempotency_key: str | None = None
    session_id: str | None = None


def check_direct_body(
    body: bytes, options: ImportOptions, profiles: Callable[[], Iterable[MappingProfile]] = tuple
) -> ImportOptions:
    """Refuse at once what can never import: too large, a gzip cut off, not a CSV, empty, no phone
    column. The options the import takes: with the saved mapping (of ``profiles``) whose headers
    are the file's, when the request names no mapping (contacts_import.profiles)."""
    if len(body) > MAX_DIRECT_BODY_BYTES:
        raise FileTooLarge(
            f"The body is {len(body)} bytes; the direct limit is {MAX_DIRECT_BODY_BYTES}. "
            "Use POST /imports/uploads for larger files.",
            details={"limit_bytes": MAX_DIRECT_BODY_BYTES, "size_bytes": len(body)},
        )
    if body.startswith(GZIP_MAGIC):
        # The processor refuses a cut-off gzip whole (truncated_file); sent directly, its 400 is now.
        check_gzip_complete(body)
    source = open_records(
        io.BytesIO(body),
        encoding=options.encoding,
        delimiter=options.delimiter,
        workbook_limits=DIRECT_WORKBOOK_LIMITS,
    )
    first = next((r for r in source.records() if not isinstance(r, Record) or r.fields), None)
    if first is None:
        raise EmptyFile("The file has only blank lines.")
    if isinstance(first, Record):
        options = with_matching_profile(options, first.fields, profiles)
        # The plan the processor will make: a missing phone column or a bad mapping is a 4xx now.
        plan_file_columns(first.fields, options)
    # An unreadable first row is left for the job to report, with its row number.
    return options


def has_at_most_rows(body: bytes, options: ImportOptions, limit: int) -> bool:
    """Whether the file holds at most ``limit`` data rows (blank records are not rows), read by the
    pipeline's own reader no further than the first row too many."""
    source = open_records(io.BytesIO(body), encoding=options.encoding, delimiter=options.delimiter)
    rows = (r for r in source.records() if not isinstance(r, Record) or any(r.fields))
    allowed = limit + 1 if options.has_header else limit
    return sum(1 for _ in itertools.islice(rows, allowed + 1)) <= allowed


def check_webhook(account_id: str, options: ImportOptions, deps: CreateDeps) -> None:
    """A webhook_url we would not call, or an account that cannot sign one, is a 400 now rather
    than a webhook silently never sent when the job ends."""
    if not options.webhook_url:
        return
    try:
        check_webhook_url(options.webhook_url, allow_loopback=deps.settings.aws_sam_local, unresolved=True)
    except WebhookRefused as refused:
        raise _webhook_problem(str(refused)) from None
    if not deps.accounts.webhook_secret_ids(account_id, datetime.now(UTC)):
        raise NoWebhookSecret(
            f"Account {account_id} has no webhook signing secret yet: its operator makes one with "
            f"`contacts-import keys webhook-secret --account {account_id}`.",
            details={"option": "webhook_url"},
        )


def _webhook_problem(problem: str) -> InvalidOptions:
    return InvalidOptions(
        f"Invalid options: webhook_url: {problem}", details={"errors": [{"option": "webhook_url", "problem": problem}]}
    )


def create_direct_import(request: DirectImport, deps: CreateDeps) -> dict[str, Any]:
    """Store the job and its file; the JobAccepted document (as JSON-ready dict)."""
    options = with_named_profile(request.account_id, request.options, deps.profiles)
    check_webhook(request.account_id, options, deps)
    options = check_direct_body(request.body, options, lambda: deps.profiles.all(request.account_id))
    check_jobs_in_flight(request.account_id, deps.jobs, deps.settings)
    now = utc_now()
    job_id = new_job_id()
    key = upload_key(request.account_id, job_id, request.file_name)
    deps.jobs.create(
        new_job_item(
            account_id=request.account_id,
            job_id=job_id,
            status="queued",
            source="api",
            options=options,
            file_name=safe_file_name(request.file_name),
            object_key=key,
            now=now,
            idempotency_key=request.idempotency_key,
            session_id=request.session_id,
        )
    )
    deps.objects.put_file(key, request.body)
    return JobAccepted(job_id=job_id, status="queued", status_url=status_url(job_id)).model_dump()


def wait_for_end(
    account_id: str,
    job_id: str,
    deps: CreateDeps,
    *,
    seconds: float = WAIT_SECONDS,
) -> JobStatus | None:
    """The finished status document if the job ends within ``seconds``, else None."""
    deadline = time.monotonic() + seconds
    while True:
        job = deps.jobs.get(account_id, job_id)
        # The list's size is written just after the end: a finished answer carries it.
        if job and job["status"] in ENDED_STATES and job.get("ended") and job.get("total_contacts") is not None:
            first_errors, _ = deps.row_errors.page(account_id, job_id, 100, None)
            return status_document(job, first_errors)
        if time.monotonic() >= deadline:
            return None
        pause(WAIT_POLL_SECONDS)


def pause(seconds: float) -> None:
    """Between polls of a waited-for job (a seam for tests that run the processor meanwhile)."""
    time.sleep(seconds)


def awaiting_upload_job(
    account_id: str, file_name: str, options: ImportOptions, *, session_id: str | None
) -> tuple[str, str, dict[str, Any]]:
    """A new job that awaits its upload (presigned or multipart): its id, upload key and item."""
    job_id = new_job_id()
    name = safe_file_name(file_name)
    key = upload_key(account_id, job_id, name)
    item = new_job_item(
        account_id=account_id,
        job_id=job_id,
        status="awaiting_upload",
        source="upload",
        options=options,
        file_name=name,
        object_key=key,
        now=utc_now(),
        session_id=session_id,
    )
    return job_id, key, item


def expires_at_after(seconds: int) -> str:
    """When something valid for ``seconds`` from now ends, as the API writes times."""
    return (datetime.now(UTC) + timedelta(seconds=seconds)).isoformat(timespec="seconds").replace("+00:00", "Z")


def create_upload(
    account_id: str, file_name: str, options: ImportOptions, deps: CreateDeps, *, session_id: str | None = None
) -> dict[str, Any]:
    options = with_named_profile(account_id, options, deps.profiles)
    check_webhook(account_id, options, deps)
    check_jobs_in_flight(account_id, deps.jobs, deps.settings)
    job_id, key, item = awaiting_upload_job(account_id, file_name, options, session_id=session_id)
    deps.jobs.create(item)
    expires_in = upload_expiry_seconds(deps.settings)
    post = deps.objects.presigned_post(key, max_bytes=deps.settings.max_upload_bytes, expires_in=expires_in)
    return UploadAccepted(
        job_id=job_id,
        status="awaiting_upload",
        status_url=status_url(job_id),
        upload=UploadInstructions(
            method="POST",
            url=post["url"],
            headers={},
            fields={k: str(v) for k, v in post["fields"].items()},
            expires_at=expires_at_after(expires_in),
            max_bytes=deps.settings.max_upload_bytes,
        ),
    ).model_dump()


def cancel_import(account_id: str, job_id: str, deps: CreateDeps) -> JobStatus:
    if not deps.jobs.cancel(account_id, job_id, now=utc_now()):
        job = deps.jobs.get(account_id, job_id)
        if job is None:
            raise NotFound(f"No import job {job_id}.")
        raise Conflict(
            f"Job {job_id} has already ended ({job['status']}); it cannot be cancelled.",
            details={"status": job["status"]},
        )
    job = deps.jobs.get(account_id, job_id)
    assert job is not None
    if "upload_id" in job and "upload_completed_at" not in job:
        # A multipart upload never completed: its parts go now rather than a day later.
        deps.objects.abort_multipart(job["object_key"], job["upload_id"])
    first_errors, _ = deps.row_errors.page(account_id, job_id, 100, None)
    return status_document(job, first_errors)
