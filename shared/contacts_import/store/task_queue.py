"""The chunk queue: one SQS message per task of a job, read by the chunk worker function."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import boto3
from botocore.config import Config

SEND_BATCH = 10  # SendMessageBatch takes at most 10 messages
BOTO_CONFIG = Config(retries={"mode": "standard", "max_attempts": 10})


class TaskQueueError(RuntimeError):
    """SQS refused messages even after retries; the caller fails so that it is retried whole."""


@dataclass(frozen=True)
class Task:
    """One unit of a job's work: ``kind`` is map (a chunk), reduce or prune (a phone range)."""

    account_id: str
    job_id: str
    kind: str
    number: int

    def to_message(self) -> str:
        return json.dumps({"account_id": self.account_id, "job_id": self.job_id, "task": self.kind, "n": self.number})

    @classmethod
    def from_message(cls, body: str) -> Task:
        document = json.loads(body)
        return cls(str(document["account_id"]), str(document["job_id"]), str(document["task"]), int(document["n"]))


def sqs_client() -> Any:
    return boto3.client("sqs", config=BOTO_CONFIG)


class TaskQueue:
    def __init__(self, client: Any, queue_url: str) -> None:
        self._client = client
        self._url = queue_url

    def send(self, tasks: Sequence[Task], *, delay_seconds: int = 0) -> None:
        for start in range(0, len(tasks), SEND_BATCH):
            batch = tasks[start : start + SEND_BATCH]
            entries = [
                {"Id": str(i), "MessageBody": task.to_message(), "DelaySeconds": delay_seconds}
                for i, task in enumerate(batch)
            ]
            for _ in range(5):
                failed = self._client.send_message_batch(QueueUrl=self._url, Entries=entries).get("Failed") or []
                if not failed:
                    break
                retry = {f["Id"] for f in failed if not f.get("SenderFault")}
                if len(retry) < len(failed):
                    raise TaskQueueError(f"SQS refused {len(failed) - len(retry)} task messages as malformed")
                entries = [e for e in entries if e["Id"] in retry]
            else:
                raise TaskQueueError("SQS kept refusing task messages")
