"""The chunk queue: one SQS message per task of a job, read by the chunk worker function."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import boto3
from botocore.config import Config

SEND_BATCH = 10  # SendMessageBatch takes at most 10 messages
MAX_VISIBILITY_SECONDS = 43_200  # SQS's limit for one message's visibility timeout
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

    def heartbeat(self, delivery: Delivery, **timing: Any) -> Heartbeat:
        """A heartbeat for a message of this queue (see Heartbeat)."""
        return Heartbeat(self._client, delivery, **timing)

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


@dataclass(frozen=True)
class Delivery:
    """One receipt of a task's message: what its visibility is changed through."""

    queue_url: str
    receipt_handle: str
    receive_count: int


class Heartbeat:
    """Keeps a task's message invisible while its worker lives, and renews what the task holds.

    Started, it sets the message's visibility to ``visibility_seconds`` and does so again every
    ``every_seconds`` from a thread of its own, calling each renewal the task has added (its shard
    leases) on the same beat; stopped, it stops. A worker that dies stops beating with it, so its
    task is visible again within ``visibility_seconds`` instead of the queue's own timeout. A beat
    that fails (the receipt is stale: the message came back and went to another worker) is logged
    by the caller's ``on_failure`` and the beating goes on for the renewals."""

    def __init__(
        self,
        client: Any,
        delivery: Delivery,
        *,
        visibility_seconds: int,
        every_seconds: float,
        on_failure: Callable[[str, Exception], None] = lambda what, error: None,
    ) -> None:
        self._client = client
        self.delivery = delivery
        self._visibility = visibility_seconds
        self._every = every_seconds
        self._on_failure = on_failure
        self._renewals: list[Callable[[], None]] = []
        self._stopped = threading.Event()
        self._thread: threading.Thread | None = None
        self.beats = 0

    def renew_also(self, renewal: Callable[[], None]) -> None:
        """Call ``renewal`` on every beat from now on (it raises to say it could not renew)."""
        self._renewals.append(renewal)

    def start(self) -> Heartbeat:
        self._keep_invisible()
        self._thread = threading.Thread(target=self._beat, name="task heartbeat", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopped.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join()

    def retry_in(self, seconds: int) -> None:
        """Stop, and let the message come back in ``seconds`` (its retry's backoff)."""
        self.stop()
        self._change_visibility(seconds)

    def __enter__(self) -> Heartbeat:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def _beat(self) -> None:
        while not self._stopped.wait(self._every):
            self.beats += 1
            self._keep_invisible()
            for renewal in list(self._renewals):
                try:
                    renewal()
                except Exception as error:
                    self._on_failure("renewal", error)

    def _keep_invisible(self) -> None:
        self._change_visibility(self._visibility)

    def _change_visibility(self, seconds: int) -> None:
        try:
            self._client.change_message_visibility(
                QueueUrl=self.delivery.queue_url,
                ReceiptHandle=self.delivery.receipt_handle,
                VisibilityTimeout=max(0, min(MAX_VISIBILITY_SECONDS, int(seconds))),
            )
        except Exception as error:
            self._on_failure("visibility", error)
