"""Ending a job, once, and telling the world.

``end_job`` finishes the job in the transaction that also moves its list's size (``JobStore.finish``,
conditional on the job not having ended): of any number of callers, one gets True and announces
the end. ``announce`` then writes the drop folder's result document, publishes the EventBridge
event, calls the webhook, deletes the job's working objects, and takes the job out of the sweeper's
index. Each step may be repeated: the sweeper calls ``announce`` again for a job that ended but was
never announced (a worker that died in between).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit

from contacts_import.clock import utc_now
from contacts_import.models import ImportOptions
from contacts_import.object_keys import DroppedFile, InvalidObjectKey, parse_object_key, result_key
from contacts_import.service.notifications import (
    WebhookDelivery,
    WebhookRefused,
    backoff_seconds,
    check_webhook_url,
    deliver,
    detail_type,
    publish_event,
)
from contacts_import.service.reports import status_document
from contacts_import.store.jobs import JobEnding
from contacts_import.store.task_queue import Task

if TYPE_CHECKING:
    from contacts_import.service.pipeline_deps import PipelineDeps

logger = Logger(child=True)
metrics = Metrics()  # shares the handler's metric set: Powertools keeps one per namespace

WEBHOOK = "webhook"  # the task kind of a webhook attempt put off to later
SQS_MAX_DELAY_SECONDS = 900


def end_job(job: dict[str, Any], ending: JobEnding, deps: PipelineDeps) -> bool:
    """Finish ``job`` with ``ending`` unless something else finished it first; then announce it."""
    account_id, job_id = job["account_id"], job["job_id"]
    if not deps.jobs.finish(account_id, job_id, job["list_id"], ending, now=utc_now()):
        logger.info("Job had already been finished by another worker")
        return False
    logger.info("Job ended", extra={"status": ending.status, "counts": ending.counts.model_dump()})
    metrics.add_metric(name=f"Jobs{ending.status.capitalize()}", unit=MetricUnit.Count, value=1)
    for outcome in ("created", "updated", "unchanged", "skipped_existing", "skipped_duplicates", "invalid", "deleted"):
        metrics.add_metric(name=f"Rows_{outcome}", unit=MetricUnit.Count, value=getattr(ending.counts, outcome))
    announce(account_id, job_id, deps)
    return True


def announce(account_id: str, job_id: str, deps: PipelineDeps) -> None:
    job = deps.jobs.get(account_id, job_id)
    if job is None or not job.get("ended"):
        return
    first_errors, _ = deps.row_errors.page(account_id, job_id, 100, None)
    document = status_document(job, first_errors).model_dump(mode="json")
    dropped = _dropped_file(job)
    if dropped is not None:
        deps.objects.put_json(result_key(dropped), document)
    publish_event(deps.events, deps.settings.event_bus_name, job["status"], document)
    _webhook(job, document, deps)
    deps.work(account_id, job_id).delete_all()
    deps.jobs.mark_notified(account_id, job_id, now=utc_now())


def _dropped_file(job: dict[str, Any]) -> DroppedFile | None:
    if job.get("source") != "drop_folder":
        return None
    try:
        location = parse_object_key(job["object_key"])
    except (InvalidObjectKey, KeyError):
        return None
    return location if isinstance(location, DroppedFile) else None


# ------------------------------------------------------------------------------ the webhook


def _webhook(job: dict[str, Any], document: dict[str, Any], deps: PipelineDeps, first_attempt: int = 0) -> None:
    url = ImportOptions.model_validate(job.get("options") or {}).webhook_url
    if not url:
        return
    delivery = webhook_delivery(job, url, document, deps)
    if delivery is None:
        return
    settings = deps.settings
    outcome, next_attempt = deliver(delivery, attempts=settings.webhook_inline_attempts, first_attempt=first_attempt)
    metrics.add_metric(name="WebhookAttempts", unit=MetricUnit.Count, value=next_attempt - first_attempt)
    if outcome.delivered or not outcome.retry:
        if not outcome.delivered:
            logger.warning("Webhook refused by its receiver", extra={"status": outcome.status})
        return
    if next_attempt >= settings.webhook_max_attempts:
        logger.warning("Webhook given up after every attempt", extra={"attempts": next_attempt})
        metrics.add_metric(name="WebhooksGivenUp", unit=MetricUnit.Count, value=1)
        return
    # The receiver is down: try again later from the chunk queue, backing off as far as SQS delays go.
    delay = int(min(SQS_MAX_DELAY_SECONDS, max(1.0, backoff_seconds(next_attempt, base=settings.webhook_base_seconds))))
    deps.queue.send([Task(job["account_id"], job["job_id"], WEBHOOK, next_attempt)], delay_seconds=delay)


def webhook_delivery(
    job: dict[str, Any], url: str, document: dict[str, Any], deps: PipelineDeps
) -> WebhookDelivery | None:
    """The signed delivery of a job's webhook; None when it must not be sent (logged)."""
    account_id = job["account_id"]
    secret_ids = deps.accounts.webhook_secret_ids(account_id, datetime.now(UTC))
    if not secret_ids:
        logger.warning("A webhook of an account without a signing secret is not sent")
        return None
    allow_loopback = deps.settings.aws_sam_local
    try:
        check_webhook_url(url, allow_loopback=allow_loopback, unresolved=True)
    except WebhookRefused as refused:
        logger.warning("Webhook URL refused", extra={"reason": str(refused)})
        return None
    status = job["status"]
    body = json.dumps({"event": detail_type(status), "data": document}, ensure_ascii=False).encode("utf-8")
    secrets = tuple(deps.webhook_secrets.secret(account_id, entry.secret_id) for entry in secret_ids)
    return WebhookDelivery(url, detail_type(status), f"{job['job_id']}.{status}", body, secrets, allow_loopback)


def retry_webhook(task: Task, deps: PipelineDeps) -> None:
    """A webhook attempt put off to later (``WEBHOOK`` tasks)."""
    job = deps.jobs.get(task.account_id, task.job_id)
    if job is None or not job.get("ended"):
        return
    first_errors, _ = deps.row_errors.page(task.account_id, task.job_id, 100, None)
    document = status_document(job, first_errors).model_dump(mode="json")
    _webhook(job, document, deps, first_attempt=task.number)
