"""A new job's stored item, as every way in creates it (API, upload, drop folder)."""

from __future__ import annotations

from typing import Any

from contacts_import.models import Counts, ImportOptions
from contacts_import.store.jobs import ACTIVE


def new_job_item(
    *,
    account_id: str,
    job_id: str,
    status: str,
    source: str,
    options: ImportOptions,
    file_name: str | None,
    object_key: str,
    now: str,
    idempotency_key: str | None = None,
    session_id: str | None = None,
) -> dict[str, Any]:
    item: dict[str, Any] = {
        "account_id": account_id,
        "job_id": job_id,
        "status": status,
        "source": source,
        "list_id": options.list_id,
        "file_name": file_name,
        "object_key": object_key,
        "options": options.model_dump(mode="json", exclude_none=True),
        "dry_run": options.dry_run,
        "counts": Counts().model_dump(),
        "progress": 0,
        "error_count": 0,
        "created_at": now,
        "updated_at": now,
    }
    if idempotency_key:
        item["idempotency_key"] = idempotency_key
    if session_id:
        # The browser session that created it: the only session that may read it (api.resolver).
        item["session_id"] = session_id
    if status == "queued":
        # In the sweeper's index from the start: a job whose file never gets processed (its S3 event
        # lost, the processor failing every retry) is failed as stalled instead of queued for ever.
        item["active"] = ACTIVE
    return item
