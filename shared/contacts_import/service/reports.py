"""What clients read: job status documents, job lists, row error reports, lists and contacts."""

from __future__ import annotations

import csv
import io
import itertools
import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from contacts_import.models import Consumption, ContactOut, Counts, Failure, JobStatus, ListOut, RowError
from contacts_import.object_keys import report_key

if TYPE_CHECKING:
    from contacts_import.store.objects import ObjectStore

FIRST_ERRORS = 100
# Lambda answers at most 6 MB, and that is the proxy response as JSON: the report's text, escaped
# as JSON (quotes doubled, non-ASCII letters as \u escapes), must stay well under it to be answered inline.
MAX_INLINE_REPORT_BYTES = 4 * 1024 * 1024
# A larger report is stored and fetched through a presigned GET: short-lived, it holds row values.
REPORT_URL_SECONDS = 300
# OWASP CSV injection: a cell starting with one of these is read as a formula by spreadsheets.
# A leading NUL is dropped by some spreadsheets, which then read what follows it as a formula.
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "\x00")


def status_url(job_id: str) -> str:
    return f"/imports/{job_id}"


def status_document(job: dict[str, Any], first_errors: list[dict[str, Any]]) -> JobStatus:
    counts = Counts(**(job.get("counts") or {}))
    failure = job.get("failure")
    return JobStatus(
        job_id=job["job_id"],
        status=job["status"],
        source=job["source"],
        list_id=job["list_id"],
        file_name=job.get("file_name"),
        dry_run=bool(job.get("dry_run", False)),
        counts=counts,
        consumed=Consumption(**(job.get("consumed") or {})),
        progress=float(job.get("progress", 0.0)),
        errors=[RowError(**_error_fields(e)) for e in first_errors[:FIRST_ERRORS]],
        error_count=int(job.get("error_count", 0)),
        errors_stored=int(job.get("error_count", 0)) - int(job.get("errors_not_stored", 0)),
        errors_truncated=int(job.get("errors_not_stored", 0)) > 0,
        errors_url=f"{status_url(job['job_id'])}/errors",
        failure=Failure(**failure) if failure else None,
        total_contacts=job.get("total_contacts"),
        created_at=job["created_at"],
        started_at=job.get("started_at"),
        completed_at=job.get("completed_at"),
    )


def settled_total(job: dict[str, Any], list_size: Callable[[], int]) -> dict[str, Any]:
    """The job with its list's size filled in if it has ended and the size is not written yet.

    A job ends with its list's size in the same transaction; a job ended by an earlier version of
    the service, which wrote the size a moment after the end, may lack it: it gets the list's size
    now."""
    if job.get("ended") and job.get("total_contacts") is None:
        return {**job, "total_contacts": list_size()}
    return job


def job_summary(job: dict[str, Any]) -> dict[str, Any]:
    """A job in the account's list: its status document without the row errors."""
    document = status_document(job, []).model_dump()
    document.pop("errors")
    return document


def _error_fields(error: dict[str, Any]) -> dict[str, Any]:
    return {k: error.get(k) for k in ("row", "code", "message", "column", "value")}


def public_error(error: dict[str, Any]) -> dict[str, Any]:
    return RowError(**_error_fields(error)).model_dump()


def contact_document(contact: dict[str, Any]) -> dict[str, Any]:
    return ContactOut(**{k: v for k, v in contact.items() if k in ContactOut.model_fields}).model_dump()


def list_document(list_id: str, total_contacts: int) -> dict[str, Any]:
    return ListOut(list_id=list_id, total_contacts=total_contacts).model_dump()


def spreadsheet_safe(value: str) -> str:
    return "'" + value if value.startswith(_FORMULA_STARTS) else value


def errors_csv(column_names: list[str], errors: Iterable[dict[str, Any]]) -> Iterator[str]:
    """The error report as CSV text, a line at a time: the original row's cells, then row, code,
    message. Every cell is made safe to open in a spreadsheet."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")

    def flush() -> str:
        text = buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
        return text

    writer.writerow([spreadsheet_safe(c) for c in [*column_names, "row", "code", "message"]])
    yield flush()
    width = len(column_names)
    for error in errors:
        raw = list(error.get("raw") or [])
        cells = (raw + [""] * width)[:width] if width else raw
        writer.writerow([spreadsheet_safe(str(c)) for c in [*cells, error["row"], error["code"], error["message"]]])
        yield flush()


@dataclass(frozen=True)
class InlineReport:
    text: str


@dataclass(frozen=True)
class StoredReport:
    url: str
    expires_at: str
    size_bytes: int


def error_report(
    account_id: str,
    job: dict[str, Any],
    errors: Iterable[dict[str, Any]],
    objects: ObjectStore,
) -> InlineReport | StoredReport:
    """The job's CSV error report: inline when it fits in one Lambda answer, else written to
    ``results/<account>/_reports/`` and offered through a presigned GET valid REPORT_URL_SECONDS.
    Either way the rows stream from the table; at most MAX_INLINE_REPORT_BYTES of text is held."""
    lines = errors_csv(list(job.get("column_names") or []), errors)
    head: list[str] = []
    size = 0
    for line in lines:
        head.append(line)
        size += len(json.dumps(line)) - 2  # its length inside the JSON answer, without the quotes
        if size > MAX_INLINE_REPORT_BYTES:
            break
    else:
        return InlineReport("".join(head))
    key = report_key(account_id, job["job_id"])
    stored = objects.put_stream(key, (line.encode("utf-8") for line in itertools.chain(head, lines)), CSV_TYPE)
    expires_at = datetime.now(UTC) + timedelta(seconds=REPORT_URL_SECONDS)
    return StoredReport(
        url=objects.presigned_get(key, expires_in=REPORT_URL_SECONDS, download_name=report_file_name(job["job_id"])),
        expires_at=expires_at.isoformat(timespec="seconds").replace("+00:00", "Z"),
        size_bytes=stored,
    )


def report_file_name(job_id: str) -> str:
    return f"{job_id}-errors.csv"


CSV_TYPE = "text/csv; charset=utf-8"
