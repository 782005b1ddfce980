"""Processing a file that landed in the bucket: the S3-triggered half of every import.

Safe to run more than once for the same object: the job is found (or, for the drop folder,
created) by a deterministic id, an ended job is left alone, and the counts of a repeated run are
derived from what is stored, so a crash, retry or duplicate event never loses, doubles or
miscounts a row.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit

from contacts_import.clock import epoch_ms_of, utc_now
from contacts_import.errors import ContactsImportError, FileTooLarge
from contacts_import.ids import job_id_for_object
from contacts_import.models import ENDED_STATES, Counts, ImportOptions
from contacts_import.object_keys import (
    DroppedFile,
    InvalidObjectKey,
    UploadedFile,
    key_from_event,
    parse_object_key,
    result_key,
)
from contacts_import.pipeline.containers import open_records
from contacts_import.pipeline.importer import ImportResult, RunContext, run_import
from contacts_import.service.job_items import new_job_item
from contacts_import.service.reports import status_document
from contacts_import.settings import ProcessImportSettings
from contacts_import.store.contacts import ContactStore
from contacts_import.store.jobs import JobEnding, JobStore
from contacts_import.store.lists import ListStore
from contacts_import.store.objects import ObjectStore
from contacts_import.store.row_errors import RowErrorReader, RowErrorWriter

logger = Logger(child=True)
metrics = Metrics()  # shares the handler's metric set: Powertools keeps one per namespace


@dataclass(frozen=True)
class ProcessDeps:
    settings: ProcessImportSettings
    dynamodb: Any
    dynamodb_client: Any
    objects: ObjectStore
    jobs: JobStore
    lists: ListStore
    row_errors: RowErrorReader


@dataclass(frozen=True)
class StoredObject:
    """What an S3 event record says about the object (key still URL-encoded, as events carry it)."""

    bucket: str
    encoded_key: str
    size: int
    etag: str
    sequencer: str
    event_time: str


class JobProgress:
    """The run's ProgressSink: writes counts to the job, and learns there of a cancel."""

    def __init__(self, jobs: JobStore, account_id: str, job_id: str, bytes_total: int, errors: RowErrorWriter) -> None:
        self._jobs = jobs
        self._account_id = account_id
        self._job_id = job_id
        self._bytes_total = max(bytes_total, 1)
        self._errors = errors

    def report(self, counts: Counts, bytes_read: int) -> None:
        self._jobs.report_progress(
            self._account_id,
            self._job_id,
            counts=counts,
            error_count=self._errors.count,
            progress=min(bytes_read / self._bytes_total, 0.99),
            now=utc_now(),
        )


def process_object(stored: StoredObject, deps: ProcessDeps) -> str | None:
    """Process one object; returns the job id, or None when the object is not ours to process."""
    key = key_from_event(stored.encoded_key)
    try:
        location = parse_object_key(key)
    except InvalidObjectKey as error:
        logger.warning("Refused an object outside the key patterns", extra={"reason": str(error)})
        return None

    if not deps.objects.exists(key):
        # Deleted or expired since the event was sent: retrying cannot help, so it is passed over.
        logger.warning("The object of an S3 event no longer exists", extra={"prefix": key.split("/", 1)[0]})
        return None
    job = _find_or_create_job(location, key, stored, deps)
    if job is None:
        return None
    account_id, job_id = job["account_id"], job["job_id"]
    logger.append_keys(job_id=job_id, account_id=account_id)
    if job["status"] in ENDED_STATES and job.get("ended"):
        logger.info("Job already ended; nothing to do", extra={"status": job["status"]})
        return job_id

    if stored.size > deps.settings.max_upload_bytes:
        too_large = FileTooLarge(f"The file is {stored.size} bytes; the limit is {deps.settings.max_upload_bytes}.")
        _finish(deps, job, JobEnding("failed", failure=_failure(too_large)))
    elif deps.jobs.start(account_id, job_id, now=utc_now(), bytes_total=stored.size):
        _run(job, key, stored, deps)
    else:
        logger.info("Job was cancelled before it started")
        _finish(deps, job, JobEnding("cancelled"))

    if isinstance(location, DroppedFile):
        _write_result(location, account_id, job_id, deps)
    return job_id


def _find_or_create_job(
    location: UploadedFile | DroppedFile, key: str, stored: StoredObject, deps: ProcessDeps
) -> dict[str, Any] | None:
    if isinstance(location, UploadedFile):
        job = deps.jobs.get(location.account_id, location.job_id)
        if job is None:
            logger.warning("An upload with no job was ignored", extra={"job_id": location.job_id})
        return job
    # The same object (key, etag, sequencer) delivered twice gets the same job id: one job.
    job_id = job_id_for_object(
        epoch_ms_of(stored.event_time), f"{stored.bucket}/{key}/{stored.etag}/{stored.sequencer}"
    )
    options = ImportOptions(list_id=location.list_id)
    deps.jobs.create(
        new_job_item(
            account_id=location.account_id,
            job_id=job_id,
            status="queued",
            source="drop_folder",
            options=options,
            file_name=location.file_name,
            object_key=key,
            now=utc_now(),
        )
    )
    return deps.jobs.get(location.account_id, job_id)


def _run(job: dict[str, Any], key: str, stored: StoredObject, deps: ProcessDeps) -> None:
    account_id, job_id = job["account_id"], job["job_id"]
    options = ImportOptions.model_validate(job["options"])
    errors = RowErrorWriter(
        deps.dynamodb,
        deps.settings.row_errors_table,
        account_id,
        job_id,
        deps.settings.row_error_retention_days,
    )
    contacts = ContactStore(
        deps.dynamodb, deps.settings.contacts_table, account_id, options.list_id, deps.dynamodb_client
    )
    progress = JobProgress(deps.jobs, account_id, job_id, stored.size, errors)
    try:
        source = open_records(
            deps.objects.open(key),
            encoding=options.encoding,
            delimiter=options.delimiter,
            max_bytes=deps.settings.max_upload_bytes,
        )
        result = run_import(
            source,
            options,
            RunContext(job_id=job_id, list_id=options.list_id, now=utc_now()),
            contacts,
            errors,
            progress,
        )
    except ContactsImportError as rejection:
        # A refused file (FileRejected) or options that do not fit it (a mapping naming a column
        # the file lacks): the job ends failed with the error's code. Anything else is re-raised,
        # for Lambda to retry.
        logger.info("File refused", extra={"failure": rejection.code})
        _finish(deps, job, JobEnding("failed", error_count=errors.count, failure=_failure(rejection)))
        return

    counts = result.counts
    status = "failed" if result.failure else ("cancelled" if result.cancelled else "completed")
    if status == "completed" and options.replace_list and not options.dry_run:
        counts.deleted = _delete_missing(contacts, result)
    _finish(
        deps,
        job,
        JobEnding(
            status,
            counts=counts,
            error_count=errors.count,
            failure=_failure(result.failure) if result.failure else None,
            column_names=result.column_names,
            contacts_added=0 if options.dry_run else counts.created - counts.deleted,
        ),
    )


def _delete_missing(contacts: ContactStore, result: ImportResult) -> int:
    """Mirror mode: remove the list's contacts that the file did not contain."""
    missing = [phone for phone in contacts.all_phones() if phone not in result.seen_phones]
    contacts.delete(missing)
    return len(missing)


def _failure(error: ContactsImportError) -> dict[str, str]:
    return {"code": error.code, "message": error.message}


def _finish(deps: ProcessDeps, job: dict[str, Any], ending: JobEnding) -> None:
    account_id, job_id = job["account_id"], job["job_id"]
    if deps.jobs.finish(account_id, job_id, job["list_id"], ending, now=utc_now()):
        total = deps.lists.total_contacts(account_id, job["list_id"])
        deps.jobs.set_total_contacts(account_id, job_id, total)
        logger.info("Job ended", extra={"status": ending.status, "counts": ending.counts.model_dump()})
        metrics.add_metric(name=f"Jobs{ending.status.capitalize()}", unit=MetricUnit.Count, value=1)
        for outcome in ("created", "updated", "skipped_existing", "skipped_duplicates", "invalid", "deleted"):
            metrics.add_metric(name=f"Rows_{outcome}", unit=MetricUnit.Count, value=getattr(ending.counts, outcome))
    else:
        logger.info("Job had already been finished by another delivery")


def _write_result(location: DroppedFile, account_id: str, job_id: str, deps: ProcessDeps) -> None:
    job = deps.jobs.get(account_id, job_id)
    if job is None:
        return
    first_errors, _ = deps.row_errors.page(account_id, job_id, 100, None)
    deps.objects.put_json(result_key(location), status_document(job, first_errors).model_dump(mode="json"))


def process_deps() -> ProcessDeps:
    """The processor's adapters, from its environment (called once per cold start)."""
    from contacts_import.store.dynamo import dynamodb_fast_client, dynamodb_resource
    from contacts_import.store.objects import s3_client

    settings = ProcessImportSettings()  # type: ignore[call-arg]
    dynamodb = dynamodb_resource()
    return ProcessDeps(
        settings=settings,
        dynamodb=dynamodb,
        dynamodb_client=dynamodb_fast_client(),
        objects=ObjectStore(s3_client(), settings.bucket_name),
        jobs=JobStore(dynamodb, settings.jobs_table, settings.lists_table),
        lists=ListStore(dynamodb, settings.lists_table),
        row_errors=RowErrorReader(dynamodb, settings.row_errors_table),
    )
