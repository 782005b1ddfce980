"""Processing a file that landed in the bucket: the S3-triggered half of every import.

The processor finds (or, for the drop folder, creates) the file's job, reads the file once to plan
it into chunks (``pipeline.chunks``), stores the plan in the job's work area and sends one task per
chunk to the chunk queue; the chunk worker (``process_chunk``) does the rest. A file refused as a
whole (empty, not a CSV, no phone column...) ends its job here.

Safe to run more than once for the same object: the job id is deterministic, an ended job is left
alone, and a job is planned once (the plan is recorded conditionally); a duplicate event for a
planned job only moves it on, as a worker would.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from aws_lambda_powertools import Logger

from contacts_import.clock import epoch_ms_of, utc_now
from contacts_import.errors import ContactsImportError, FileTooLarge
from contacts_import.ids import job_id_for_object
from contacts_import.models import ENDED_STATES, ImportOptions
from contacts_import.object_keys import (
    DroppedFile,
    InvalidObjectKey,
    UploadedFile,
    key_from_event,
    parse_object_key,
)
from contacts_import.pipeline.chunks import plan_chunks
from contacts_import.pipeline.mapping import plan_file_columns
from contacts_import.pipeline.tally import Tally
from contacts_import.profiles import MappingProfile
from contacts_import.service.job_end import end_job
from contacts_import.service.job_items import new_job_item
from contacts_import.service.mapping_profiles import with_matching_profile
from contacts_import.service.pipeline_deps import PipelineDeps, pipeline_deps
from contacts_import.service.process_chunk import advance
from contacts_import.settings import ProcessImportSettings
from contacts_import.store.jobs import JobEnding
from contacts_import.store.mapping_profiles import MappingProfileStore
from contacts_import.store.metering import Consumed, metered
from contacts_import.store.task_queue import Task
from contacts_import.store.tasks import MAP, PLAN
from contacts_import.store.work_area import MultipartWriter

logger = Logger(child=True)


@dataclass(frozen=True)
class StoredObject:
    """What an S3 event record says about the object (key still URL-encoded, as events carry it)."""

    bucket: str
    encoded_key: str
    size: int
    etag: str
    sequencer: str
    event_time: str
    principal: str = ""  # who wrote it: the record's userIdentity.principalId
    bucket_owner: str = ""  # s3.bucket.ownerIdentity.principalId


def process_object(stored: StoredObject, deps: PipelineDeps) -> str | None:
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
    if "plan_key" in job:
        logger.info("Job already planned (a duplicate event); moving it on")
        advance(account_id, job_id, deps)
        return job_id

    if stored.size > deps.settings.max_upload_bytes:
        too_large = FileTooLarge(f"The file is {stored.size} bytes; the limit is {deps.settings.max_upload_bytes}.")
        end_job(job, JobEnding("failed", failure=_failure(too_large)), deps)
    elif deps.jobs.start(account_id, job_id, now=utc_now(), bytes_total=stored.size):
        _plan(job, key, deps)
    else:
        logger.info("Job was cancelled before it started")
        end_job(job, JobEnding("cancelled"), deps)
    return job_id


def _find_or_create_job(
    location: UploadedFile | DroppedFile, key: str, stored: StoredObject, deps: PipelineDeps
) -> dict[str, Any] | None:
    if isinstance(location, UploadedFile):
        job = deps.jobs.get(location.account_id, location.job_id)
        if job is None:
            logger.warning("An upload with no job was ignored", extra={"job_id": location.job_id})
        elif job.get("object_key") != key:
            # Another name under the job's prefix: not the file the job was given a URL for.
            logger.warning("An upload under another key than its job's was ignored", extra={"job_id": location.job_id})
            return None
        return job
    if not may_drop(location.account_id, stored, deps):
        logger.warning(
            "Refused a drop-folder object from a writer the account does not allow",
            extra={"account_id": location.account_id, "writer": stored.principal or "(none)"},
        )
        return None
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


def may_drop(account_id: str, stored: StoredObject, deps: PipelineDeps) -> bool:
    """Whether the object's writer may import into the account through the drop folder: one of the
    principals the operator allowed for it (``contacts-import keys drop-writer``). Locally, the
    stack's own writes too: the local stack names their writer ``AWS:<bucket owner>``."""
    if not stored.principal:
        return False
    if deps.settings.aws_sam_local and stored.principal == f"AWS:{stored.bucket_owner}":
        return True
    return stored.principal in deps.accounts.drop_writers(account_id)


def _plan(job: dict[str, Any], key: str, deps: PipelineDeps) -> None:
    """Read the file once into a chunk plan, store it, and send a map task per chunk; what the
    reading cost is recorded with the job's tasks (``store.metering``)."""
    with metered() as consumed:
        _plan_metered(job, key, deps, consumed)


def _plan_metered(job: dict[str, Any], key: str, deps: PipelineDeps, consumed: Consumed) -> None:
    account_id, job_id = job["account_id"], job["job_id"]
    options = ImportOptions.model_validate(job["options"])
    work = deps.work(account_id, job_id)
    staging: list[MultipartWriter] = []

    def stage() -> MultipartWriter:
        staging.append(work.staging_writer())
        return staging[-1]

    try:
        file_plan = plan_chunks(
            deps.objects.open(key),
            has_header=options.has_header,
            encoding=options.encoding,
            delimiter=options.delimiter,
            chunk_bytes=deps.settings.chunk_bytes,
            max_bytes=deps.settings.max_upload_bytes,
            stage=stage,
        )
        # A file that names no mapping takes the saved one its headers match (the drop folder's
        # files, and uploads): recorded before the plan, so that every map task reads with it.
        # A stored job's options all read as given: only those away from their defaults were chosen.
        chosen = ImportOptions.model_validate(options.model_dump(mode="json", exclude_defaults=True))
        matched = with_matching_profile(chosen, file_plan.first_record, lambda: _profiles(account_id, deps))
        if matched is not chosen:
            deps.jobs.set_options(account_id, job_id, matched.model_dump(mode="json", exclude_none=True))
            options = matched
        # The column plan is made again by every map task; made here, a file whose columns do not
        # fit its options (no phone column, a mapping naming a column it lacks) fails at once.
        columns = plan_file_columns(file_plan.first_record, options)
    except ContactsImportError as rejection:
        # A refused file, or options that do not fit it: the job ends failed with the error's code.
        # Anything else is re-raised, for Lambda to retry.
        for writer in staging:
            writer.abort()
        logger.info("File refused", extra={"failure": rejection.code})
        end_job(job, JobEnding("failed", failure=_failure(rejection)), deps)
        return
    except BaseException:
        for writer in staging:
            writer.abort()
        raise
    for writer in staging:
        writer.close()

    work.put_plan({**file_plan.to_json(), "source_key": work.staged_key if file_plan.staged else key})
    failure = _failure(file_plan.failure) if file_plan.failure else None
    if file_plan.failure:
        logger.info("File refused part-way: the rows before are imported", extra={"failure": file_plan.failure.code})
    chunks = len(file_plan.chunks)
    # The list's shards order the job's work (see pipeline.shards): a new list gets them now, once.
    shards = deps.lists.shards_for_import(account_id, options.list_id, deps.settings.list_shards)
    if deps.jobs.record_plan(
        account_id,
        job_id,
        plan_key=work.prefix + "plan.json",
        map_tasks=chunks,
        column_names=columns.column_names,
        failure=failure,
        now=utc_now(),
        shards=shards,
    ):
        logger.info("File planned", extra={"chunks": chunks, "staged": file_plan.staged})
        deps.tasks.record(account_id, job_id, PLAN, 0, Tally(), now=utc_now(), consumed=consumed)
        deps.queue.send([Task(account_id, job_id, MAP, number) for number in range(chunks)])
        return
    current = deps.jobs.get(account_id, job_id)
    if current is not None and "plan_key" not in current and current["status"] == "cancelled":
        end_job(current, JobEnding("cancelled"), deps)  # cancelled while it was being planned
    else:
        advance(account_id, job_id, deps)  # planned meanwhile by a duplicate event


def _profiles(account_id: str, deps: PipelineDeps) -> list[MappingProfile]:
    table = deps.settings.mapping_profiles_table
    return MappingProfileStore(deps.dynamodb, table).all(account_id) if table else []


def _failure(error: ContactsImportError) -> dict[str, str]:
    return {"code": error.code, "message": error.message}


def process_deps() -> PipelineDeps:
    """The processor's adapters, from its environment (called once per cold start)."""
    return pipeline_deps(ProcessImportSettings.from_environment())
