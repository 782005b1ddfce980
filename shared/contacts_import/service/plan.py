"""A dry run's plan, ``GET /imports/{id}/plan``: its change journal (``pipeline.journal``, every row
a reduce decided) and its row errors (the invalid rows), merged in row order and paged by row."""

from __future__ import annotations

from typing import Any

from contacts_import.errors import NotADryRun, NotFound, NotReady
from contacts_import.models import ENDED_STATES, PlanRow
from contacts_import.store.change_journal import ChangeJournalStore
from contacts_import.store.dynamo import NO_PAGE, decode_cursor, encode_cursor
from contacts_import.store.row_errors import RowErrorReader

INVALID = "invalid"


def check_plan(job: dict[str, Any]) -> None:
    """A plan is a completed dry run's: NotADryRun for an import, NotReady while it runs, NotFound
    for one that failed or was cancelled (its plan is not whole)."""
    if not job.get("dry_run"):
        raise NotADryRun(f"Import {job['job_id']} was not a dry run: only a dry run has a plan.")
    if job["status"] not in ENDED_STATES:
        raise NotReady(f"Import {job['job_id']} is {job['status']}: its plan is ready when it has completed.")
    if job["status"] != "completed":
        raise NotFound(f"Import {job['job_id']} ended {job['status']}: it has no plan.")


def plan_page(
    job: dict[str, Any],
    journal: ChangeJournalStore,
    row_errors: RowErrorReader,
    limit: int,
    cursor: str | None,
    outcome: str | None,
) -> tuple[list[dict[str, Any]], str | None]:
    """A page of the plan's rows past the cursor's, in row order, and the next page's cursor."""
    check_plan(job)
    account_id, job_id = job["account_id"], job["job_id"]
    start = decode_cursor(cursor, {"plan": job_id})
    after = start.get("row") if start else 0
    if not isinstance(after, int):
        raise NotFound(NO_PAGE, details={"option": "cursor"})
    rows: list[dict[str, Any]] = []
    more = False
    if outcome != INVALID:
        entries, more = journal.after(after, limit, outcome=outcome)
        rows.extend(_decided(entry) for entry in entries)
    if outcome is None or outcome == INVALID:
        errors, errors_more = row_errors.after(account_id, job_id, after, limit)
        rows.extend(_invalid(error) for error in errors)
        more = more or errors_more
    rows.sort(key=lambda row: row["row"])
    if len(rows) > limit:
        rows, more = rows[:limit], True
    next_cursor = encode_cursor({"plan": job_id, "row": rows[-1]["row"]}) if more and rows else None
    return rows, next_cursor


def _decided(entry: dict[str, Any]) -> dict[str, Any]:
    row = PlanRow(row=entry["row"], phone=entry["phone"], outcome=entry["outcome"], changes=entry.get("changes"))
    return row.model_dump(mode="json")


def _invalid(error: dict[str, Any]) -> dict[str, Any]:
    return PlanRow(row=int(error["row"]), phone=None, outcome=INVALID, code=error["code"]).model_dump(mode="json")
