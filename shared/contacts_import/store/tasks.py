"""The import tasks table: one item per finished task of a job (a chunk mapped, a phone range
reduced or pruned), keyed by job and task.

An item is written once, conditionally: the first worker to finish a task records its counts, and
a second worker on the same task (a redelivered message, a duplicate) finds it recorded and
changes nothing. A job's counts are the sum of its tasks' items, so they are exact whatever was
retried. Items expire with the row errors.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from boto3.dynamodb.conditions import Key
from botocore.exceptions import ClientError

from contacts_import.pipeline.runs import RunIndex
from contacts_import.pipeline.tally import Tally
from contacts_import.store.dynamo import json_ready
from contacts_import.store.metering import Consumed
from contacts_import.store.row_errors import job_key

MAP, REDUCE, PRUNE, PRUNE_PLAN, PRUNE_PROGRESS = "map", "reduce", "prune", "prune-plan", "prune-progress"
# The processor's reading of the file, recorded for what it consumed (its counts are the tasks').
PLAN = "plan"


def task_id(kind: str, number: int) -> str:
    return f"{kind}#{number:06d}"


def parse_task_id(value: str) -> tuple[str, int]:
    kind, number = value.split("#", 1)
    return kind, int(number)


@dataclass(frozen=True)
class TaskRecord:
    kind: str
    number: int
    tally: Tally
    extra: dict[str, Any]  # what else the task recorded (a prune plan's list, say)
    consumed: Consumed  # what its recorded run cost (store.metering)


class TaskStore:
    def __init__(self, resource: Any, table_name: str, retention_days: int) -> None:
        self._table = resource.Table(table_name)
        self._retention_seconds = retention_days * 86400

    def record(
        self,
        account_id: str,
        job_id: str,
        kind: str,
        number: int,
        tally: Tally,
        *,
        now: str,
        index: RunIndex | None = None,
        extra: dict[str, Any] | None = None,
        consumed: Consumed | None = None,
    ) -> bool:
        """Record a finished task; False when it was recorded already (by another worker): the
        first run recorded is the one counted, and what it consumed with it."""
        item: dict[str, Any] = {
            "job_key": job_key(account_id, job_id),
            "task": task_id(kind, number),
            "tally": tally.to_json(),
            "recorded_at": now,
            "expires_at": int(time.time()) + self._retention_seconds,
        }
        if index is not None:
            item["index"] = index.to_json()
        if extra:
            item["extra"] = extra
        if consumed is not None:
            item["consumed"] = consumed.to_json()
        try:
            self._table.put_item(Item=item, ConditionExpression="attribute_not_exists(task)")
            return True
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
                return False
            raise

    def note_progress(self, account_id: str, job_id: str, kind: str, number: int, done: int) -> None:
        """How far a long task got (overwritten as it goes), so that a repeat resumes there."""
        self._table.put_item(
            Item={
                "job_key": job_key(account_id, job_id),
                "task": task_id(kind, number),
                "done": done,
                "expires_at": int(time.time()) + self._retention_seconds,
            }
        )

    def progress(self, account_id: str, job_id: str, kind: str, number: int) -> int:
        item = self._table.get_item(
            Key={"job_key": job_key(account_id, job_id), "task": task_id(kind, number)}, ConsistentRead=True
        ).get("Item")
        return int(item["done"]) if item else 0

    def get(self, account_id: str, job_id: str, kind: str, number: int) -> TaskRecord | None:
        item = self._table.get_item(
            Key={"job_key": job_key(account_id, job_id), "task": task_id(kind, number)}, ConsistentRead=True
        ).get("Item")
        return _record(json_ready(item)) if item else None

    def recorded(self, account_id: str, job_id: str) -> list[TaskRecord]:
        """Every recorded task of a job, without the runs' indexes."""
        return [
            _record(item)
            for item in self._query(
                Key("job_key").eq(job_key(account_id, job_id)),
                ProjectionExpression="task, tally, extra, #consumed",
                ExpressionAttributeNames={"#consumed": "consumed"},
            )
        ]

    def run_indexes(self, account_id: str, job_id: str) -> dict[int, RunIndex]:
        """The index of every mapped chunk's run, by chunk number."""
        items = self._query(Key("job_key").eq(job_key(account_id, job_id)) & Key("task").begins_with(f"{MAP}#"))
        return {parse_task_id(item["task"])[1]: RunIndex.from_json(item["index"]) for item in items}

    def _query(self, condition: Any, **extra: Any) -> list[dict[str, Any]]:
        query: dict[str, Any] = {"KeyConditionExpression": condition, "ConsistentRead": True, **extra}
        items: list[dict[str, Any]] = []
        while True:
            response = self._table.query(**query)
            items.extend(json_ready(item) for item in response.get("Items", []))
            if "LastEvaluatedKey" not in response:
                return items
            query["ExclusiveStartKey"] = response["LastEvaluatedKey"]


def _record(item: dict[str, Any]) -> TaskRecord:
    kind, number = parse_task_id(item["task"])
    return TaskRecord(
        kind,
        number,
        Tally.from_json(item.get("tally")),
        item.get("extra") or {},
        Consumed.from_json(item.get("consumed")),
    )
