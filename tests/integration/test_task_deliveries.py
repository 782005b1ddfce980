"""Tasks as the chunk worker receives them from its queue: the real handler, the real (moto) queue
with the template's redrive policy, DynamoDB Local.

A running task keeps its message invisible with a heartbeat, so a worker that dies costs the task's
short visibility, not the queue's timeout; a task that fails comes back after a backoff that grows
with its receives; a task that fails on its last receive fails its job (``task_failed``) and goes
to the dead-letter queue. Here the visibility and the heartbeat are seconds (the template's
defaults are a minute and 20 s), so that a death shows within a test; the bounds asserted are
generous, far below the queue's own visibility timeout (300 s), which is what a death cost before.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator
from typing import Any

import boto3
import pytest

from contacts_import.service import process_chunk
from contacts_import.store.contacts import ContactStore
from tests.integration.api_calls import post_csv
from tests.integration.pipeline import expected_run
from tests.sample_events import body_of

ROWS = b"phone,name\n" + b"".join(f"+1212555{n:04d},Name {n}\n".encode() for n in range(400)) + b"12345,Bad\n"
QUEUE_TIMEOUT_SECONDS = 300  # what one death cost before: the queue's visibility timeout


class WorkerKilled(BaseException):
    """The worker's process went away at a named point: nothing of the handler runs after it (a
    BaseException, so no ``except Exception`` of ours sees it), and its heartbeat stops with it."""


@pytest.fixture
def quick_visibility(stack, monkeypatch) -> Iterator[None]:
    """The chunk worker with a 3-second task visibility and a 1-second heartbeat."""
    environment = stack.template.function("ProcessChunkFunction").environment
    monkeypatch.setitem(environment, "TASK_VISIBILITY_SECONDS", "3")
    monkeypatch.setitem(environment, "TASK_HEARTBEAT_SECONDS", "1")
    monkeypatch.setitem(environment, "CHUNK_BYTES", "1500")
    monkeypatch.setitem(environment, "ROWS_PER_RANGE", "100")
    stack.modules["ProcessChunkFunction"].deps.cache_clear()
    yield
    stack.modules["ProcessChunkFunction"].deps.cache_clear()


def start(stack) -> str:
    accepted = post_csv(stack, ROWS, list_id="deliveries")
    assert accepted["statusCode"] == 202, accepted["body"]
    key = stack.pending_uploads()[0]
    stack.deliver_s3(key, run_tasks=False)
    return body_of(accepted)["data"]["job_id"]


def job(stack, job_id: str) -> dict[str, Any]:
    table = boto3.resource("dynamodb", region_name="us-east-1").Table(
        stack.template.function("ProcessChunkFunction").environment["JOBS_TABLE"]
    )
    return table.get_item(Key={"account_id": "local", "job_id": job_id}, ConsistentRead=True)["Item"]


def work_until_ended(stack, job_id: str, *, give_up_after: float = 120.0) -> tuple[float, list[int]]:
    """Receive and run the chunk queue's tasks as its event source would, one per invocation, until
    the job has ended and its end was announced: how long that took, and the receive count of
    every message run."""
    started = time.monotonic()
    receives: list[int] = []
    while not announced(job(stack, job_id)):
        assert time.monotonic() - started < give_up_after, "the job did not end"
        messages = stack.receive_tasks(1)
        if not messages:
            time.sleep(0.2)
            continue
        receives.append(int(messages[0]["Attributes"]["ApproximateReceiveCount"]))
        # A killed worker's message stays on the queue, invisible until its last visibility ends.
        with contextlib.suppress(WorkerKilled):
            stack.invoke_tasks(messages)
    return time.monotonic() - started, receives


def announced(item: dict[str, Any]) -> bool:
    return bool(item.get("ended")) and "active" not in item  # out of the sweeper's index


def fails(times: int, error: BaseException, point: Callable[..., Any]) -> Callable[..., Any]:
    left = {"n": times}

    def wrapped(*args: Any, **kwargs: Any) -> Any:
        if left["n"] > 0:
            left["n"] -= 1
            raise error
        return point(*args, **kwargs)

    return wrapped


FIRST_PHONE = "+12125550000"


def fails_on(phone: str, times: int, error: BaseException, write: Callable[..., Any]) -> Callable[..., Any]:
    """A contacts write that fails the first ``times`` times it holds ``phone`` (one task's)."""
    left = {"n": times}

    def wrapped(self: Any, items: list[dict[str, Any]]) -> Any:
        if left["n"] > 0 and any(item.get("phone") == phone for item in items):
            left["n"] -= 1
            raise error
        return write(self, items)

    return wrapped


def assert_counted_like_a_clean_run(stack, job_id: str) -> None:
    counts, contacts, _ = expected_run(ROWS)
    ended = job(stack, job_id)
    assert ended["status"] == "completed"
    assert {k: int(v) for k, v in ended["counts"].items()} == counts.model_dump()
    assert int(ended["total_contacts"]) == len(contacts)


def test_a_task_that_fails_twice_with_a_retryable_error_succeeds_on_its_third_receive_within_seconds(
    stack, quick_visibility, monkeypatch
):
    job_id = start(stack)
    monkeypatch.setattr(ContactStore, "write", fails_on(FIRST_PHONE, 2, RuntimeError("throttled"), ContactStore.write))
    took, receives = work_until_ended(stack, job_id)
    assert max(receives) == 3, receives  # the failing task came back twice, and then ran
    assert_counted_like_a_clean_run(stack, job_id)
    # Its backoffs were at most 2 and 4 seconds: far from the queue's 300.
    assert took < QUEUE_TIMEOUT_SECONDS / 5


@pytest.mark.parametrize(
    "point",
    ["map: after its run was written", "reduce: after its contacts were written", "the job's end: before announcing"],
)
def test_a_worker_killed_at_a_named_point_costs_the_tasks_visibility_not_the_queues(
    stack, quick_visibility, monkeypatch, point
):
    job_id = start(stack)
    killed = WorkerKilled(point)
    if point.startswith("map"):
        from contacts_import.store.work_area import WorkArea

        monkeypatch.setattr(WorkArea, "put_run", fails_after(1, killed, WorkArea.put_run))
    elif point.startswith("reduce"):
        monkeypatch.setattr(ContactStore, "write", fails_after(1, killed, ContactStore.write))
    else:
        monkeypatch.setattr(process_chunk, "end_job", ends_then_dies(killed, process_chunk.end_job))
    took, receives = work_until_ended(stack, job_id)
    assert max(receives) >= 2, receives  # the killed worker's task came back, and was run again
    assert_counted_like_a_clean_run(stack, job_id)
    assert took < QUEUE_TIMEOUT_SECONDS / 5, f"{took:.0f} s"


def fails_after(times: int, error: BaseException, point: Callable[..., Any]) -> Callable[..., Any]:
    """``point`` runs, then the first ``times`` calls die after it."""
    left = {"n": times}

    def wrapped(*args: Any, **kwargs: Any) -> Any:
        result = point(*args, **kwargs)
        if left["n"] > 0:
            left["n"] -= 1
            raise error
        return result

    return wrapped


def ends_then_dies(error: BaseException, end_job: Callable[..., Any]) -> Callable[..., Any]:
    """The job's end is written, and the worker dies before its end is announced."""
    left = {"n": 1}

    def wrapped(job: dict[str, Any], ending: Any, deps: Any) -> bool:
        if left["n"] == 0:
            return bool(end_job(job, ending, deps))
        left["n"] -= 1
        ended = deps.jobs.finish(job["account_id"], job["job_id"], job["list_id"], ending, now=process_chunk.utc_now())
        assert ended
        raise error

    return wrapped


def test_a_task_that_fails_on_every_receive_fails_its_job_and_goes_to_the_dead_letter_queue(
    stack, quick_visibility, monkeypatch
):
    job_id = start(stack)
    monkeypatch.setattr(ContactStore, "write", fails(10_000, RuntimeError("always"), ContactStore.write))
    took, receives = work_until_ended(stack, job_id)
    ended = job(stack, job_id)
    assert (ended["status"], ended["failure"]["code"]) == ("failed", "task_failed")
    assert max(receives) == 5  # the template's ChunkTaskMaxReceives
    sqs = boto3.client("sqs", region_name="us-east-1")
    dead_letters = stack.template.queues["ChunkDeadLetterQueue"]
    dead_url = sqs.get_queue_url(QueueName=dead_letters.name)["QueueUrl"]
    deadline = time.monotonic() + 30
    moved: list[dict[str, Any]] = []
    while not moved and time.monotonic() < deadline:
        stack.receive_tasks(10)  # a receive past the limit is what moves a message (the redrive policy)
        moved = sqs.receive_message(QueueUrl=dead_url, MaxNumberOfMessages=10).get("Messages", [])
    assert moved, "the failing task's message is in the dead-letter queue"
    assert took < QUEUE_TIMEOUT_SECONDS / 2, f"{took:.0f} s"  # backoffs of about 2 + 4 + 8 + 16 s
