"""Resumable uploads of big files: an S3 multipart upload behind a job awaiting its upload.

The client PUTs the file's parts to presigned UploadPart URLs, in parallel and in any order; it
asks which parts S3 holds (and for fresh URLs) after an interruption; it completes the upload with
every part's ETag, and S3's ObjectCreated event then starts the job as for any upload. Until the
completion is accepted nothing runs: a completion is checked against what S3 holds (every part
there, each ETag its own, no part over the part size, the sizes adding up to the one declared),
and only then is the job queued and the parts joined. An upload never completed is aborted by the
bucket's lifecycle rule (template.yaml, abort-incomplete-multipart). docs/api.md has the routes,
docs/decisions.md why the part size is what it is.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger
from botocore.exceptions import ClientError
from pydantic import ValidationError

from contacts_import.clock import utc_now
from contacts_import.errors import (
    EtagMismatch,
    FileTooLarge,
    InvalidOptions,
    MissingPart,
    NotFound,
    NotMultipartUpload,
    PartTooLarge,
    SizeMismatch,
    UploadAborted,
    UploadCompleted,
)
from contacts_import.models import (
    CompleteUpload,
    ImportOptions,
    JobAccepted,
    JobStatus,
    MultipartInstructions,
    MultipartState,
    PartHeld,
    PartUrl,
    UploadAccepted,
)
from contacts_import.service.create_import import (
    CreateDeps,
    awaiting_upload_job,
    check_webhook,
    expires_at_after,
    with_named_profile,
)
from contacts_import.service.jobs_in_flight import check_jobs_in_flight, upload_expiry_seconds
from contacts_import.service.reports import status_document, status_url

logger = Logger(child=True)

# S3's limits for one multipart upload.
MAX_PARTS = 10_000
S3_MIN_PART_BYTES = 5 * 1024 * 1024
MIB = 1024 * 1024


def part_size_for(size: int, smallest: int) -> int:
    """The part size for a file of ``size`` bytes: ``smallest`` (8 MiB unless a setting lowers it
    towards S3's 5 MiB minimum), or more, in whole MiB, when the file would need more than S3's
    10,000 parts."""
    needed = -(-size // MAX_PARTS)
    return max(smallest, S3_MIN_PART_BYTES, -(-needed // MIB) * MIB)


def parts_count(size: int, part_size: int) -> int:
    return max(1, -(-size // part_size))


def check_upload_size(size: int, limit: int) -> None:
    """Nothing, or FileTooLarge (413) for a declared size over MaxUploadBytes."""
    if size > limit:
        raise FileTooLarge(
            f"The file is {size} bytes; the most an upload may bring is {limit}.",
            details={"limit_bytes": limit, "size_bytes": size},
        )


def create_multipart_upload(
    account_id: str,
    file_name: str,
    size: int,
    options: ImportOptions,
    deps: CreateDeps,
    *,
    session_id: str | None = None,
) -> dict[str, Any]:
    """A job awaiting a multipart upload of ``size`` bytes, and a URL for each of its parts."""
    options = with_named_profile(account_id, options, deps.profiles)
    limit = deps.settings.max_upload_bytes
    check_upload_size(size, limit)
    check_webhook(account_id, options, deps)
    check_jobs_in_flight(account_id, deps.jobs, deps.settings)
    job_id, key, item = awaiting_upload_job(account_id, file_name, options, session_id=session_id)
    part_size = part_size_for(size, deps.settings.multipart_part_bytes)
    # The upload first, then the job naming it: a job never names an upload that does not exist,
    # and an upload without its job (the put failing) is aborted here or by the lifecycle rule.
    upload_id = deps.objects.create_multipart(key)
    item |= {"upload_id": upload_id, "part_size": part_size, "upload_size": size}
    try:
        deps.jobs.create(item)
    except Exception:
        deps.objects.abort_multipart(key, upload_id)
        raise
    expires_in = upload_expiry_seconds(deps.settings)
    return UploadAccepted(
        job_id=job_id,
        status="awaiting_upload",
        status_url=status_url(job_id),
        upload=MultipartInstructions(
            method="MULTIPART",
            upload_id=upload_id,
            part_size=part_size,
            size=size,
            parts=[
                PartUrl(part_number=n, url=deps.objects.presigned_part(key, upload_id, n, expires_in=expires_in))
                for n in range(1, parts_count(size, part_size) + 1)
            ],
            expires_at=expires_at_after(expires_in),
            max_bytes=limit,
        ),
    ).model_dump()


def _awaiting_job(account_id: str, job_id: str, deps: CreateDeps) -> dict[str, Any]:
    """The job, still awaiting its multipart upload; else the error that says why not."""
    job = deps.jobs.get(account_id, job_id)
    if job is None:
        raise NotFound(f"No import job {job_id}.")
    if "upload_id" not in job:
        raise NotMultipartUpload(
            f"Job {job_id} was not started as a multipart upload.", details={"source": job["source"]}
        )
    if job["status"] == "awaiting_upload":
        return job
    if "upload_completed_at" in job:
        raise UploadCompleted(
            f"The upload of job {job_id} was completed already; the job is {job['status']}.",
            details={"status": job["status"]},
        )
    raise UploadAborted(
        f"The upload of job {job_id} was aborted; the job is {job['status']}.", details={"status": job["status"]}
    )


def _held_parts(job: dict[str, Any], deps: CreateDeps) -> dict[int, tuple[str, int]]:
    held = deps.objects.list_parts(job["object_key"], job["upload_id"])
    if held is None:
        # S3 no longer has it: the lifecycle rule removed it after a day. The job cannot run.
        raise UploadAborted(
            f"The upload of job {job['job_id']} no longer exists (uploads are aborted a day after they begin).",
            details={"status": job["status"]},
        )
    return held


def upload_state(account_id: str, job_id: str, deps: CreateDeps) -> MultipartState:
    """What S3 holds of the upload, and a fresh URL for every part it lacks."""
    job = _awaiting_job(account_id, job_id, deps)
    held = _held_parts(job, deps)
    part_size, size = int(job["part_size"]), int(job["upload_size"])
    expires_in = upload_expiry_seconds(deps.settings)
    parts: list[PartHeld | PartUrl] = []
    for n in range(1, parts_count(size, part_size) + 1):
        if n in held:
            parts.append(PartHeld(part_number=n, etag=held[n][0], size=held[n][1]))
        else:
            url = deps.objects.presigned_part(job["object_key"], job["upload_id"], n, expires_in=expires_in)
            parts.append(PartUrl(part_number=n, url=url))
    return MultipartState(
        job_id=job_id,
        upload_id=job["upload_id"],
        part_size=part_size,
        size=size,
        parts=parts,
        expires_at=expires_at_after(expires_in),
    )


def _bare(etag: str) -> str:
    # S3 quotes ETags; a browser's fetch, or a shell, may hand them over with or without.
    return etag.strip().strip('"')


def check_completion(job: dict[str, Any], request: CompleteUpload, held: dict[int, tuple[str, int]]) -> None:
    """Nothing, or the first reason these parts are not the file that was declared."""
    part_size, size = int(job["part_size"]), int(job["upload_size"])
    wanted = range(1, parts_count(size, part_size) + 1)
    given: dict[int, str] = {}
    for part in request.parts:
        if part.part_number in given:
            raise InvalidOptions(f"Part {part.part_number} is listed twice.", details={"parts": [part.part_number]})
        if part.part_number not in wanted:
            raise InvalidOptions(
                f"Part {part.part_number} is beyond the upload's {len(wanted)} parts.",
                details={"parts": [part.part_number], "parts_count": len(wanted)},
            )
        given[part.part_number] = part.etag
    missing = [n for n in wanted if n not in given or n not in held]
    if missing:
        raise MissingPart(
            f"The upload lacks {len(missing)} of its {len(wanted)} parts (first: {missing[0]}); send them, "
            "then complete it with every part's ETag.",
            details={"parts": missing[:100], "missing_count": len(missing)},
        )
    wrong = [n for n in wanted if _bare(given[n]) != _bare(held[n][0])]
    if wrong:
        raise EtagMismatch(
            f"The ETag of part {wrong[0]} is not that of the part S3 holds"
            + (f" (and {len(wrong) - 1} more)." if len(wrong) > 1 else "."),
            details={"parts": wrong[:100]},
        )
    # Part n holds the file's bytes from (n - 1) * part_size: each its full size but the last.
    expected = {n: min(part_size, size - (n - 1) * part_size) for n in wanted}
    too_large = [n for n in wanted if held[n][1] > part_size]
    if too_large:
        raise PartTooLarge(
            f"Part {too_large[0]} is {held[too_large[0]][1]} bytes; the upload's part size is {part_size}.",
            details={"parts": too_large[:100], "part_size": part_size},
        )
    other = [n for n in wanted if held[n][1] != expected[n]]
    if other:
        n = other[0]
        raise SizeMismatch(
            f"Part {n} is {held[n][1]} bytes; of a file of {size} bytes in parts of {part_size} "
            f"it holds {expected[n]}.",
            details={"parts": other[:100], "size": size, "part_size": part_size},
        )


def read_completion(body: bytes) -> CompleteUpload:
    """The body of ``upload/complete``, or InvalidOptions naming what is wrong with it."""
    try:
        return CompleteUpload.model_validate_json(body or b"{}")
    except ValidationError as error:
        problems = [
            {"option": ".".join(str(p) for p in e["loc"]) or "body", "problem": e["msg"]}
            for e in error.errors(include_url=False, include_context=False, include_input=False)
        ]
        raise InvalidOptions(
            "The body must be {'parts': [{'part_number', 'etag'}, ...]}: "
            + "; ".join(f"{p['option']}: {p['problem']}" for p in problems),
            details={"errors": problems},
        ) from None


def complete_upload(account_id: str, job_id: str, body: bytes, deps: CreateDeps) -> dict[str, Any]:
    """Join the parts into the file and queue the job (its S3 event then starts it): JobAccepted.
    The job is looked up before the body is read: another account's job is 404 whatever is sent."""
    job = _awaiting_job(account_id, job_id, deps)
    request = read_completion(body)
    check_completion(job, request, _held_parts(job, deps))
    if not deps.jobs.claim_upload(account_id, job_id, now=utc_now()):
        _awaiting_job(account_id, job_id, deps)  # raises why: completed or aborted meanwhile
        raise UploadCompleted(f"The upload of job {job_id} is being completed.", details={"status": "queued"})
    parts = sorted((p.part_number, p.etag) for p in request.parts)
    try:
        deps.objects.complete_multipart(job["object_key"], job["upload_id"], parts)
    except ClientError as error:
        code = error.response.get("Error", {}).get("Code")
        # Checked against ListParts a moment ago: only a part replaced since (a retried PUT) gets here.
        deps.jobs.release_upload(account_id, job_id, now=utc_now())
        if code in {"InvalidPart", "InvalidPartOrder", "EntityTooSmall"}:
            raise EtagMismatch(
                f"S3 refused the parts ({code}): a part changed since; ask GET /imports/{job_id}/upload again.",
                details={"parts": [], "s3_code": code},
            ) from None
        if code == "NoSuchUpload":
            raise UploadAborted(
                f"The upload of job {job_id} no longer exists.", details={"status": job["status"]}
            ) from None
        raise
    logger.info("Multipart upload completed", extra={"job_id": job_id, "parts": len(parts)})
    return JobAccepted(job_id=job_id, status="queued", status_url=status_url(job_id)).model_dump()


def abort_upload(account_id: str, job_id: str, deps: CreateDeps) -> JobStatus:
    """Drop the parts and end the job cancelled: the cancelled job's status document."""
    job = _awaiting_job(account_id, job_id, deps)
    if not deps.jobs.cancel_upload(account_id, job_id, now=utc_now()):
        _awaiting_job(account_id, job_id, deps)
        raise UploadCompleted(f"The upload of job {job_id} is being completed.", details={"status": "queued"})
    # After the job is cancelled: a completion racing this one is refused by the job's state, and
    # were this call to fail, the lifecycle rule still removes the parts.
    deps.objects.abort_multipart(job["object_key"], job["upload_id"])
    cancelled = deps.jobs.get(account_id, job_id)
    assert cancelled is not None
    return status_document(cancelled, [])
