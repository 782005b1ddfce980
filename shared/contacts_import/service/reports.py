"""What clients read: job status documents, job lists, row error reports, lists and contacts."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator
from typing import Any

from contacts_import.models import ContactOut, Counts, Failure, JobStatus, ListOut, RowError

FIRST_ERRORS = 100
# OWASP CSV injection: a cell starting with one of these is read as a formula by spreadsheets.
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


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
        progress=float(job.get("progress", 0.0)),
        errors=[RowError(**_error_fields(e)) for e in first_errors[:FIRST_ERRORS]],
        error_count=int(job.get("error_count", 0)),
        errors_url=f"{status_url(job['job_id'])}/errors",
        failure=Failure(**failure) if failure else None,
        total_contacts=job.get("total_contacts"),
        created_at=job["created_at"],
        started_at=job.get("started_at"),
        completed_at=job.get("completed_at"),
    )


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
