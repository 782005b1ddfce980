"""The jobs table: one item per import job, keyed by account and a time-ordered job id.

State changes are conditional writes, so that a duplicate event, a retry or a racing cancel can
never move a job backwards or finish it twice.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from boto3.dynamodb.conditions import Attr, Key
from botocore.exceptions import ClientError

from contacts_import.ids import first_job_id_at
from contacts_import.models import Counts
from contacts_import.store.dynamo import cancellation_codes, decode_cursor, encode_cursor, json_ready
from contacts_import.store.leases import held_by, holder_attribute, until_attribute
from contacts_import.store.metering import Consumed

ACTIVE_STATES = ("awaiting_upload", "queued", "processing")
# A job with this attribute is in the sweeper's index (ActiveJobsIndex): from when it starts until
# its end has been announced.
ACTIVE = "1"
ACTIVE_JOBS_INDEX = "ActiveJobsIndex"
IN_FLIGHT_SCAN_LIMIT = 100


@dataclass(frozen=True)
class JobEnding:
    """How a run ended: what the job records, and how many contacts its list gained."""

    status: str
    counts: Counts = field(default_factory=Counts)
    error_count: int = 0
    errors_not_stored: int = 0  # of error_count, past the cap on stored row errors
    failure: dict[str, str] | None = None
    column_names: tuple[str, ...] = ()
    contacts_added: int = 0
    consumed: Consumed = field(default_factory=Consumed)


# Tries at ending a job while other jobs' ends move the same list's size.
LIST_SIZE_ATTEMPTS = 20


class ListContended(RuntimeError):
    """Raised to have the task retried: its job's end found the list's size moving every time."""


def _cancelled_by(error: ClientError) -> tuple[bool, bool]:
    """(the job's condition said no, the list's condition said no) for a job-and-list transaction."""
    job, list_ = [*(cancellation_codes(error) or []), None, None][:2]
    return job == "ConditionalCheckFailed", list_ == "ConditionalCheckFailed"


def _holds(write: Callable[..., Any], **request: Any) -> bool:
    """Make a conditional write (or transaction); False when its condition said no."""
    try:
        write(**request)
        return True
    except ClientError as error:
        if _condition_failed(error):
            return False
        raise


def _condition_failed(error: ClientError) -> bool:
    """A condition said no (as opposed to a conflict or throttle, which are retried)."""
    code = error.response.get("Error", {}).get("Code")
    if code == "ConditionalCheckFailedException":
        return True
    reasons = cancellation_codes(error)
    if reasons is not None:
        return "ConditionalCheckFailed" in reasons and all(
            r in ("ConditionalCheckFailed", "None", None) for r in reasons
        )
    return False


class JobStore:
    def __init__(self, resource: Any, jobs_table: str, lists_table: str) -> None:
        self._client = resource.meta.client
        self._table = resource.Table(jobs_table)
        self._jobs_table = jobs_table
        self._lists_table = lists_table

    def create(self, job: dict[str, Any]) -> bool:
        """Store a new job; False when a job with that id already exists (a duplicate event)."""
        return _holds(self._table.put_item, Item=job, ConditionExpression="attribute_not_exists(job_id)")

    def get(self, account_id: str, job_id: str) -> dict[str, Any] | None:
        item = self._table.get_item(Key={"account_id": account_id, "job_id": job_id}, ConsistentRead=True).get("Item")
        return json_ready(item) if item else None

    def page(
        self, account_id: str, limit: int, cursor: str | None, *, session_id: str | None = None
    ) -> tuple[list[dict[str, Any]], str | None]:
        """A page of the account's jobs, newest first; with ``session_id``, only those that browser
        session created (a page may then hold fewer than ``limit``, and its cursor goes on)."""
        query: dict[str, Any] = {
            "KeyConditionExpression": Key("account_id").eq(account_id),
            "ScanIndexForward": False,  # job ids sort by creation time: newest first
            "Limit": limit,
        }
        if session_id is not None:
            query["FilterExpression"] = Attr("session_id").eq(session_id)
        start = decode_cursor(cursor, {"account_id": account_id})
        if start:
            query["ExclusiveStartKey"] = start
        response = self._table.query(**query)
        return [json_ready(i) for i in response.get("Items", [])], encode_cursor(response.get("LastEvaluatedKey"))

    def count_in_flight(
        self, account_id: str, *, running_since_ms: int, awaiting_since_ms: int, scan_limit: int = IN_FLIGHT_SCAN_LIMIT
    ) -> int:
        """The account's jobs that hold a slot: queued or processing and created since
        ``running_since_ms``, or awaiting an upload whose URL is still valid (created since
        ``awaiting_since_ms``).

        One Query on the newest ``scan_limit`` job ids of that window (ids sort by creation time),
        so a POST costs the same however many jobs the account has had; jobs in flight are recent.
        Beyond the window a job no longer counts: one still running after it is stuck, and must
        not lock its account out for ever.
        """
        response = self._table.query(
            KeyConditionExpression=Key("account_id").eq(account_id)
            & Key("job_id").gte(first_job_id_at(running_since_ms)),
            ScanIndexForward=False,
            Limit=scan_limit,
            ProjectionExpression="job_id, #s",
            ExpressionAttributeNames={"#s": "status"},
        )
        awaiting_floor = first_job_id_at(awaiting_since_ms)
        return sum(
            1
            for item in response.get("Items", [])
            if item["status"] in ("queued", "processing")
            or (item["status"] == "awaiting_upload" and item["job_id"] >= awaiting_floor)
        )

    def start(self, account_id: str, job_id: str, *, now: str, bytes_total: int) -> bool:
        """Move a job to processing. False when it has ended (cancelled, or a late duplicate event)."""
        return _holds(
            self._table.update_item,
            Key={"account_id": account_id, "job_id": job_id},
            UpdateExpression="SET #s = :processing, started_at = if_not_exists(started_at, :now), "
            "bytes_total = :size, updated_at = :now, active = :active",
            ConditionExpression="#s IN (:a, :q, :processing)",
            ExpressionAttributeNames={"#s": "status"},
            ExpressionAttributeValues={
                ":processing": "processing",
                ":a": "awaiting_upload",
                ":q": "queued",
                ":now": now,
                ":size": bytes_total,
                ":active": ACTIVE,
            },
        )

    def set_options(self, account_id: str, job_id: str, options: dict[str, Any]) -> bool:
        """Replace the options of a job not yet planned (a saved mapping its file's headers matched):
        False once it is planned. A repeat writes the same options, decided from the same file."""
        return _holds(
            self._table.update_item,
            Key={"account_id": account_id, "job_id": job_id},
            UpdateExpression="SET #o = :options",
            ConditionExpression="attribute_not_exists(plan_key)",
            ExpressionAttributeNames={"#o": "options"},
            ExpressionAttributeValues={":options": options},
        )

    def record_plan(
        self,
        account_id: str,
        job_id: str,
        *,
        plan_key: str,
        map_tasks: int,
        column_names: tuple[str, ...],
        failure: dict[str, str] | None,
        now: str,
        shards: int,
    ) -> bool:
        """Record a processing job's chunk plan, once: False when a duplicate event planned it first
        (or the job has ended meanwhile). The job then waits for its chunks to be mapped."""
        return _holds(
            self._table.update_item,
            Key={"account_id": account_id, "job_id": job_id},
            UpdateExpression="SET plan_key = :plan, map_tasks = :maps, phase = :map, column_names = :columns, "
            "plan_failure = :failure, updated_at = :now, active = :active, shards = :shards",
            ConditionExpression="#s = :processing AND attribute_not_exists(plan_key)",
            ExpressionAttributeNames={"#s": "status"},
            ExpressionAttributeValues={
                ":plan": plan_key,
                ":maps": map_tasks,
                ":map": "map",
                ":columns": list(column_names),
                ":failure": failure,
                ":now": now,
                ":processing": "processing",
                ":active": ACTIVE,
                ":shards": shards,
            },
        )

    def begin_phase(
        self,
        account_id: str,
        job_id: str,
        *,
        current: str,
        following: str,
        now: str,
        ranges: list[list[str | None]] | None = None,
    ) -> bool:
        """Move a job from one phase to the next, once: the caller that gets True sends the next
        phase's tasks; every other caller (a racing or repeated worker) gets False."""
        update = "SET phase = :next, updated_at = :now"
        values: dict[str, Any] = {":next": following, ":current": current, ":now": now}
        if ranges is not None:
            update += ", ranges = :ranges"
            values[":ranges"] = ranges
        return _holds(
            self._table.update_item,
            Key={"account_id": account_id, "job_id": job_id},
            UpdateExpression=update,
            ConditionExpression="phase = :current AND attribute_not_exists(ended)",
            ExpressionAttributeValues=values,
        )

    def record_progress(
        self,
        account_id: str,
        job_id: str,
        *,
        counts: Counts,
        error_count: int,
        progress: float,
        tasks_done: int,
        now: str,
        consumed: Consumed | None = None,
    ) -> bool:
        """Show the counts of the tasks recorded so far on a processing job. Workers finish in any
        order, so counts that cover fewer tasks than those shown already are not written."""
        return _holds(
            self._table.update_item,
            Key={"account_id": account_id, "job_id": job_id},
            UpdateExpression="SET #c = :counts, error_count = :errors, progress = :progress, "
            "tasks_counted = :tasks, updated_at = :now, #consumed = :consumed",
            ConditionExpression="#s = :processing AND attribute_not_exists(ended) AND "
            "(attribute_not_exists(tasks_counted) OR tasks_counted < :tasks)",
            ExpressionAttributeNames={"#s": "status", "#c": "counts", "#consumed": "consumed"},
            ExpressionAttributeValues={
                ":counts": counts.model_dump(),
                ":errors": error_count,
                ":progress": _decimal(progress),
                ":tasks": tasks_done,
                ":consumed": (consumed or Consumed()).to_json(),
                ":processing": "processing",
                ":now": now,
            },
        )

    def quiet_since(self, before: str) -> Iterator[tuple[str, str]]:
        """(account, job id) of the jobs in the sweeper's index not updated since ``before``,
        oldest first (the index holds only jobs that run, or ended and were not announced)."""
        query: dict[str, Any] = {
            "IndexName": ACTIVE_JOBS_INDEX,
            "KeyConditionExpression": Key("active").eq(ACTIVE) & Key("updated_at").lt(before),
        }
        while True:
            response = self._table.query(**query)
            for item in response.get("Items", []):
                yield item["account_id"], item["job_id"]
            if "LastEvaluatedKey" not in response:
                return
            query["ExclusiveStartKey"] = response["LastEvaluatedKey"]

    def mark_notified(self, account_id: str, job_id: str, *, now: str) -> None:
        """The ended job's events and webhook are sent: it leaves the sweeper's index."""
        self._table.update_item(
            Key={"account_id": account_id, "job_id": job_id},
            UpdateExpression="SET notified_at = :now REMOVE active",
            ExpressionAttributeValues={":now": now},
        )

    def finish(self, account_id: str, job_id: str, list_id: str, ending: JobEnding, *, now: str) -> bool:
        """End a job and move its list's size, in one transaction, exactly once.

        A job cancelled while it ran stays ``cancelled`` (what it wrote stays, and is counted).
        False when an earlier delivery had already finished it.
        """
        running = ("processing", "queued", "awaiting_upload")
        if self._finish_once(account_id, job_id, list_id, ending, ending.status, running, now):
            return True
        return self._finish_once(account_id, job_id, list_id, ending, "cancelled", ("cancelled",), now)

    def _finish_once(
        self,
        account_id: str,
        job_id: str,
        list_id: str,
        ending: JobEnding,
        final_status: str,
        expected_states: tuple[str, ...],
        now: str,
    ) -> bool:
        """One transaction: the job ends, with the list's size after it, the list's size moves, and
        the job lets go of the list's shards it still holds (``store.leases``). The size is read
        first and the list's update is conditional on it, so the size the job records is the list's
        at its end even while other jobs end on the same list (a list that moved between the read
        and the write is read again)."""
        states = {f":state{i}": state for i, state in enumerate(expected_states)}
        for _ in range(LIST_SIZE_ATTEMPTS):
            before, held = self._list_state(account_id, list_id, job_id)
            total = (before or 0) + ending.contacts_added
            job_update = {
                "Update": {
                    "TableName": self._jobs_table,
                    "Key": {"account_id": account_id, "job_id": job_id},
                    "UpdateExpression": "SET #s = :final, #c = :counts, error_count = :errors, "
                    "errors_not_stored = :not_stored, "
                    "failure = :failure, completed_at = :now, updated_at = :now, column_names = :columns, "
                    "progress = :one, ended = :true, total_contacts = :total, #consumed = :consumed",
                    "ConditionExpression": f"attribute_not_exists(ended) AND #s IN ({', '.join(states)})",
                    "ExpressionAttributeNames": {"#s": "status", "#c": "counts", "#consumed": "consumed"},
                    "ExpressionAttributeValues": {
                        ":final": final_status,
                        ":counts": ending.counts.model_dump(),
                        ":errors": ending.error_count,
                        ":not_stored": ending.errors_not_stored,
                        ":failure": ending.failure,
                        ":now": now,
                        ":columns": list(ending.column_names),
                        ":one": 1,
                        ":true": True,
                        ":total": total,
                        ":consumed": ending.consumed.to_json(),
                        **states,
                    },
                }
            }
            # The job lets go of its shards with its end, whichever way it ends (completed, failed,
            # cancelled, stalled), on the condition that it still holds them: one that ran out and
            # was taken over is read again.
            holds = {f"#h{n}": holder_attribute(shard) for n, shard in enumerate(held)}
            holds |= {f"#u{n}": until_attribute(shard) for n, shard in enumerate(held)}
            condition = "attribute_not_exists(total_contacts)" if before is None else "total_contacts = :before"
            condition += "".join(f" AND #h{n} = :me" for n in range(len(held)))
            removal = " REMOVE " + ", ".join(f"#h{n}, #u{n}" for n in range(len(held))) if held else ""
            list_update: dict[str, Any] = {
                "Update": {
                    "TableName": self._lists_table,
                    "Key": {"account_id": account_id, "list_id": list_id},
                    "UpdateExpression": "SET total_contacts = :total, updated_at = :now" + removal,
                    "ConditionExpression": condition,
                    "ExpressionAttributeValues": {":total": total, ":now": now}
                    | ({} if before is None else {":before": before})
                    | ({":me": job_id} if held else {}),
                }
                | ({"ExpressionAttributeNames": holds} if holds else {})
            }
            try:
                self._client.transact_write_items(TransactItems=[_low_level(job_update), _low_level(list_update)])
                return True
            except ClientError as error:
                job_refused, list_moved = _cancelled_by(error)
                if job_refused:
                    return False  # ended already, or not in the states this attempt expects
                if not list_moved:
                    raise
        raise ListContended(f"The size of list {list_id!r} kept moving while job {job_id} ended; it is retried.")

    def _list_state(self, account_id: str, list_id: str, job_id: str) -> tuple[int | None, list[int]]:
        """The list's size (None before its first import ends), and the shards ``job_id`` holds."""
        item = (
            self._client.get_item(
                TableName=self._lists_table, Key={"account_id": account_id, "list_id": list_id}, ConsistentRead=True
            ).get("Item")
            or {}
        )
        size = int(item["total_contacts"]) if "total_contacts" in item else None
        return size, held_by(item, job_id)

    def touch(self, account_id: str, job_id: str, *, now: str) -> bool:
        """Note that a job that has not ended is alive though it moved on no count (a task that waits
        for another import's shards), so that the sweeper leaves it be; False when it had ended."""
        return _holds(
            self._table.update_item,
            Key={"account_id": account_id, "job_id": job_id},
            UpdateExpression="SET updated_at = :now",
            ConditionExpression="attribute_exists(job_id) AND attribute_not_exists(ended)",
            ExpressionAttributeValues={":now": now},
        )

    def cancel(self, account_id: str, job_id: str, *, now: str) -> bool:
        """Cancel a job that has not ended; False when it already had."""
        return self._cancel_from(account_id, job_id, ("awaiting_upload", "queued", "processing"), now=now)

    def _cancel_from(self, account_id: str, job_id: str, statuses: tuple[str, ...], *, now: str) -> bool:
        """Cancel the job if its status is one of ``statuses``; False when it was not."""
        names = {f":s{n}": status for n, status in enumerate(statuses)}
        return _holds(
            self._table.update_item,
            Key={"account_id": account_id, "job_id": job_id},
            UpdateExpression="SET #s = :cancelled, cancelled_at = :now, updated_at = :now",
            ConditionExpression=f"#s IN ({', '.join(names)})",
            ExpressionAttributeNames={"#s": "status"},
            ExpressionAttributeValues={":cancelled": "cancelled", ":now": now, **names},
        )

    # ---- a multipart upload's job (service.multipart_upload): awaiting_upload until completed.

    def claim_upload(self, account_id: str, job_id: str, *, now: str) -> bool:
        """Mark a multipart upload completing: the job is queued (and in the sweeper's index, so a
        lost S3 event ends it stalled) before S3 joins the parts. False when it was not awaiting
        its upload (completed before, aborted, cancelled)."""
        return _holds(
            self._table.update_item,
            Key={"account_id": account_id, "job_id": job_id},
            UpdateExpression="SET #s = :q, active = :active, updated_at = :now, upload_completed_at = :now",
            ConditionExpression="#s = :a AND attribute_exists(upload_id)",
            ExpressionAttributeNames={"#s": "status"},
            ExpressionAttributeValues={":q": "queued", ":a": "awaiting_upload", ":active": ACTIVE, ":now": now},
        )

    def release_upload(self, account_id: str, job_id: str, *, now: str) -> bool:
        """Undo ``claim_upload`` when S3 refused to join the parts: the upload stays open. False when
        the job moved on meanwhile (only the processor moves a queued job, and it had no file)."""
        return _holds(
            self._table.update_item,
            Key={"account_id": account_id, "job_id": job_id},
            UpdateExpression="SET #s = :a, updated_at = :now REMOVE active, upload_completed_at",
            ConditionExpression="#s = :q AND attribute_exists(upload_completed_at)",
            ExpressionAttributeNames={"#s": "status"},
            ExpressionAttributeValues={":q": "queued", ":a": "awaiting_upload", ":now": now},
        )

    def cancel_upload(self, account_id: str, job_id: str, *, now: str) -> bool:
        """Cancel a job still awaiting its upload; False when it was not (completed, or ended)."""
        return self._cancel_from(account_id, job_id, ("awaiting_upload",), now=now)


def _decimal(value: float) -> Any:
    from decimal import Decimal

    return Decimal(str(round(value, 4)))


def _low_level(operation: dict[str, Any]) -> dict[str, Any]:
    """A transaction item for the resource's client, which serializes Python values itself but
    takes no floats."""
    kind, body = next(iter(operation.items()))
    typed = dict(body)
    if "ExpressionAttributeValues" in body:
        typed["ExpressionAttributeValues"] = {k: _decimals(v) for k, v in body["ExpressionAttributeValues"].items()}
    return {kind: typed}


def _decimals(value: Any) -> Any:
    from decimal import Decimal

    if isinstance(value, float):
        return Decimal(str(value))
    if isinstance(value, dict):
        return {k: _decimals(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_decimals(v) for v in value]
    return value
