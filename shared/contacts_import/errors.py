"""Domain errors: each type carries a stable ``code`` and the HTTP ``status`` it maps to.

One place (``contacts_import.api.resolver``) turns them into the error envelope; the processor
turns the file-level ones into a job's ``failure``. Nobody chooses a status by reading a message.
"""

from __future__ import annotations

from typing import Any


class ContactsImportError(Exception):
    code: str = "internal_error"
    status: int = 500

    def __init__(self, message: str, *, details: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details

    @property
    def api_code(self) -> str:
        """The code an HTTP client sees; file failures may answer under a more general HTTP code."""
        return self.code


class InvalidOptions(ContactsImportError):
    code = "validation_error"
    status = 400


class IncompleteBody(InvalidOptions):
    """A request body that stops before its end: shorter than its ``Content-Length``, or a
    ``multipart/form-data`` body without its closing boundary. ``details.missing`` says what is
    missing; nothing of the body is imported (a cut-off last row would be imported as a wrong one)."""


class FieldsInvalid(InvalidOptions):
    """Members of a request body that are missing or malformed, each as ``{"loc", "msg", "type"}``
    (``loc`` from the body down, as ``["body", "contacts", 0, "phone_number"]``). Our routes answer
    400 validation_error; a compatibility route answers them as the API it stands in for does."""

    def __init__(self, message: str, problems: list[dict[str, Any]]) -> None:
        super().__init__(message, details={"errors": problems})
        self.problems = problems


class OptionsDoNotFitFile(InvalidOptions):
    """Options valid in themselves that the file does not fit (a mapping naming a column it lacks):
    422 on a direct request, since only the file's bytes say so; a job fails with validation_error."""

    status = 422


class Unauthorized(ContactsImportError):
    code = "unauthorized"
    status = 401


class Forbidden(ContactsImportError):
    code = "forbidden"
    status = 403


class NotFound(ContactsImportError):
    code = "not_found"
    status = 404


class Conflict(ContactsImportError):
    code = "conflict"
    status = 409


class NoWebhookSecret(Conflict):
    """A webhook_url for an account that has no signing secret yet (its operator makes one with
    `contacts-import keys webhook-secret`): the account's state, not the request, is at fault."""

    code = "no_webhook_secret"


class NotReady(Conflict):
    """A plan, commit or undo asked of a job that has not ended yet."""

    code = "not_ready"


class NotADryRun(Conflict):
    """A plan asked of a job that was not a dry run (only a dry run has one)."""

    code = "not_a_dry_run"


class IdempotencyKeyReused(ContactsImportError):
    code = "idempotency_key_reused"
    status = 422


class RateLimited(ContactsImportError):
    """429, with the headers a client's back-off reads: ``Retry-After`` (seconds), and
    ``X-RateLimit-Limit``/``-Remaining``/``-Reset`` (Unix time in seconds, as GitHub's API has it)."""

    code = "rate_limited"
    status = 429

    def __init__(
        self, message: str, *, limit: int, retry_after_seconds: int, now: float, details: dict[str, Any] | None = None
    ) -> None:
        super().__init__(message, details=details)
        self.headers = {
            "Retry-After": str(retry_after_seconds),
            **rate_limit_headers(limit, remaining=0, reset=int(now) + retry_after_seconds),
        }


def rate_limit_headers(limit: int, *, remaining: int, reset: int) -> dict[str, str]:
    """``X-RateLimit-Limit``, ``-Remaining`` and ``-Reset`` (Unix time in seconds worth retrying at)."""
    return {"X-RateLimit-Limit": str(limit), "X-RateLimit-Remaining": str(remaining), "X-RateLimit-Reset": str(reset)}


# ---- a multipart upload (docs/api.md, Resumable uploads) refused when it is completed or touched


class PartRefused(InvalidOptions):
    """A completion whose parts are not the file's: nothing is completed, the upload stays open
    for the client to send what is wrong and complete again. ``details.parts`` names the parts."""


class MissingPart(PartRefused):
    code = "missing_part"


class EtagMismatch(PartRefused):
    code = "etag_mismatch"


class SizeMismatch(PartRefused):
    """The parts S3 holds add up to another size than the one declared when the upload began."""

    code = "size_mismatch"


class PartTooLarge(PartRefused):
    """A part larger than the upload's ``part_size``: a presigned URL does not bind a part's size,
    so the limit is ours to keep."""

    code = "part_too_large"
    status = 413


class NotMultipartUpload(Conflict):
    """A job that was not started as a multipart upload (``"multipart": true``)."""

    code = "not_multipart_upload"


class UploadCompleted(Conflict):
    """The upload was completed already: its file is the job's, and the job runs or has ended."""

    code = "upload_completed"


class UploadAborted(Conflict):
    """The upload was aborted (``DELETE``, a cancelled job) or removed by the bucket's lifecycle rule."""

    code = "upload_aborted"


# ---- a file that cannot be imported at all: a job's `failure`, or a 4xx on a direct request


class FileRejected(ContactsImportError):
    """The whole file is refused. ``code`` is the job's failure code."""

    status = 422


class EmptyFile(FileRejected):
    code = "empty_file"


class NotCsv(FileRejected):
    code = "not_csv"
    status = 415

    @property
    def api_code(self) -> str:
        return "unsupported_media_type"


class WorkbookTooLarge(NotCsv):
    """An .xlsx past what a workbook may unpack to, or wider or longer than a sheet may be: a
    decompression bomb, or a sheet padded out to a million rows. 415 on a direct request."""

    code = "workbook_too_large"


class MissingRequiredColumn(FileRejected):
    code = "missing_required_column"


class FileTooLarge(FileRejected):
    code = "file_too_large"
    status = 413

    @property
    def api_code(self) -> str:
        return "payload_too_large"


class BadEncoding(FileRejected):
    code = "bad_encoding"


class TooManyColumns(FileRejected):
    code = "too_many_columns"


class TruncatedFile(FileRejected):
    """A file that stops before the end its own format marks: a gzip stream without its
    end-of-stream marker and trailer (its CRC and size). Refused whole, never part-way: what was
    read is a prefix of the file the sender meant. Sent directly, an incomplete body: 400."""

    code = "truncated_file"
    status = 400

    @property
    def api_code(self) -> str:
        return "validation_error"


class Stalled(FileRejected):
    code = "stalled"


class TaskFailed(FileRejected):
    """A task of the job failed on every receive the chunk queue allows."""

    code = "task_failed"


def failure_as_error(code: str, message: str) -> ContactsImportError:
    """A failed job's ``failure`` as the error a direct request meets for it: a compatibility route
    that waited for the job answers a file refused part-way as if it had been refused at once."""
    kinds: tuple[type[ContactsImportError], ...] = (*FileRejected.__subclasses__(), InvalidOptions)
    for kind in kinds:
        if kind.code == code:
            return kind(message)
    refused = FileRejected(message)
    refused.code = code
    return refused
