"""Chunk workers truly in parallel against DynamoDB Local: several threads take the chunk queue's
tasks as Lambda's event source hands them out, each with adapters of its own as each Lambda has,
their DynamoDB requests meeting in the engine at the same time (moto served them one at a time).

One import among parallel workers ends as one clean reader of the file would; three imports into
one list at once (the case that wedged the moto-based stack) each count every row once and
together count every contact once; and so do two, three and five while workers die at named points
and tasks are delivered twice at the same moment. Each shard of the list is written by one import
at a time (its lease); the others' tasks on it are sent again."""

from __future__ import annotations

import contextlib
import random
import threading
import time
from collections.abc import Callable
from typing import Any

import pytest

from contacts_import.service.pipeline_deps import PipelineDeps, pipeline_deps
from contacts_import.service.process_chunk import process_task
from contacts_import.store.contacts import ContactStore
from contacts_import.store.task_queue import Task
from contacts_import.store.tasks import TaskStore
from tests.integration.pipeline import Pipeline, WorkerDied, assert_like_a_clean_run, contacts_file, expected_run

WORKERS = 6
# How long the queue may stay empty with nothing in flight before the drain is over.
IDLE_ROUNDS = 20
DRAIN_TIMEOUT_SECONDS = 600  # a slow machine; never asserted as a duration

Deliver = Callable[[Task, PipelineDeps], None]


def drain_in_parallel(pipeline: Pipeline, deliver: Deliver | None = None, workers: int = WORKERS) -> list[str]:
    """Run every task the queue hands out, in ``workers`` threads, until the queue stays empty with
    no task in flight. A task that raises is made visible again at once (its retry); the names of
    what was raised, in the order raised."""
    deliver = deliver or process_task
    sqs, queue_url = pipeline.sqs, pipeline.queue_url
    state = {"in_flight": 0, "idle": 0}
    lock = threading.Lock()
    raised: list[str] = []
    give_up_at = time.monotonic() + DRAIN_TIMEOUT_SECONDS

    def worker() -> None:
        deps = pipeline_deps(pipeline.deps.settings)  # a Lambda's own adapters
        while time.monotonic() < give_up_at:
            with lock:
                messages = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=1).get("Messages", [])
                if not messages:
                    state["idle"] += 0 if state["in_flight"] else 1
                    if state["idle"] > IDLE_ROUNDS:
                        return
                else:
                    state["idle"] = 0
                    state["in_flight"] += 1
            if not messages:
                time.sleep(0.05)
                continue
            message = messages[0]
            try:
                deliver(Task.from_message(message["Body"]), deps)
                sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
            except Exception as error:  # the event source's retry: the message comes back
                with lock:
                    raised.append(type(error).__name__)
                sqs.change_message_visibility(
                    QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=0
                )
            finally:
                with lock:
                    state["in_flight"] -= 1

    threads = [threading.Thread(target=worker, name=f"worker {n}") for n in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert time.monotonic() < give_up_at, "the queue never drained"
    return raised


@pytest.fixture
def pipeline(stack) -> Pipeline:
    # Eight shards, ranges of about 30 rows: the imports meet on every shard; a task that finds one held
    # comes back at once.
    return Pipeline(stack, chunk_bytes=1200, rows_per_range=30, list_shards=8, busy_shard_retry_seconds=0)


def test_one_import_among_parallel_workers_counts_like_one_reader(pipeline: Pipeline) -> None:
    data = contacts_file(rows=600, seed=21)
    job_id = pipeline.start(data, list_id="parallel")
    assert drain_in_parallel(pipeline) == []
    assert len(pipeline.job(job_id)["ranges"]) > WORKERS, "more ranges than workers: they ran side by side"
    assert_like_a_clean_run(pipeline, job_id, "parallel", data)


# Three files over one pool of phones: each shares phones with the others and has duplicates,
# invalid rows and quoted line breaks of its own.
FILES = [contacts_file(rows=400, seed=seed) for seed in (31, 32, 33, 34, 35)]


def creators(pipeline: Pipeline, list_id: str) -> dict[str, int]:
    store = pipeline.store(list_id)
    created: dict[str, int] = {}
    cursor = None
    while True:
        page, cursor = store.page(1000, cursor)
        for contact in page:
            created[contact["created_job_id"]] = created.get(contact["created_job_id"], 0) + 1
        if not cursor:
            return created


def assert_each_row_and_contact_counted_once(
    pipeline: Pipeline, list_id: str, job_ids: list[str], on_existing: list[str]
) -> None:
    jobs = [pipeline.job(job_id) for job_id in job_ids]
    assert [(job["status"], job["ended"]) for job in jobs] == [("completed", True)] * len(jobs)
    for job, data, mode in zip(jobs, FILES, on_existing, strict=False):
        alone, _, errors = expected_run(data, on_existing=mode)
        counts = job["counts"]
        # Whatever the other jobs did, a row is a duplicate, invalid or the first of its phone in
        # the file; each first one is created, or found existing (skipped or updated).
        assert (counts["total_rows"], counts["processed_rows"]) == (alone.total_rows, alone.total_rows)
        assert (counts["skipped_duplicates"], counts["invalid"]) == (alone.skipped_duplicates, alone.invalid)
        found = counts["updated"] + counts["unchanged"] + counts["skipped_existing"]
        assert counts["created"] + found == alone.created
        assert pipeline.row_errors(job["job_id"]) == errors
    made = creators(pipeline, list_id)
    assert made == {job["job_id"]: job["counts"]["created"] for job in jobs if job["counts"]["created"]}
    in_list = len(pipeline.contacts(list_id))
    assert in_list == sum(made.values()) == pipeline.deps.lists.total_contacts("local", list_id)
    assert max(int(job["total_contacts"]) for job in jobs) == in_list, "the last job to end saw the whole list"
    everyone = set()
    for data in FILES[: len(jobs)]:
        everyone |= set(expected_run(data)[1])
    assert set(pipeline.contacts(list_id)) == everyone


@pytest.mark.parametrize("on_existing", [["skip"] * 3, ["update", "skip", "update"]], ids=["skip", "mixed"])
def test_three_imports_into_one_list_at_once_count_each_contact_once(pipeline: Pipeline, on_existing) -> None:
    job_ids = [
        pipeline.start(data, list_id="three", on_existing=mode)
        for data, mode in zip(FILES[:3], on_existing, strict=True)
    ]
    assert drain_in_parallel(pipeline) == []
    assert_each_row_and_contact_counted_once(pipeline, "three", job_ids, on_existing)


class Faults:
    """Deliveries that are sometimes made twice at the same moment (two workers on one message), and
    workers that sometimes die at a named point, drawn from one seeded generator."""

    def __init__(self, seed: int, dies: float = 0.15, twice: float = 0.2) -> None:
        self._rng = random.Random(seed)
        self._lock = threading.Lock()
        self._dies, self._twice = dies, twice

    def _draw(self, chance: float) -> bool:
        with self._lock:
            return self._rng.random() < chance

    def dies_sometimes(self, point: Callable[..., Any], name: str) -> Callable[..., Any]:
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            result = point(*args, **kwargs)
            if self._draw(self._dies):
                raise WorkerDied(name)
            return result

        return wrapped

    def deliver(self, task: Task, deps: PipelineDeps) -> None:
        if not self._draw(self._twice):
            process_task(task, deps)
            return

        def the_other_worker() -> None:
            # Its death needs no retry of its own: the first worker's delivery stands for the message.
            with contextlib.suppress(WorkerDied):
                process_task(task, pipeline_deps(deps.settings))

        other = threading.Thread(target=the_other_worker)
        other.start()
        try:
            process_task(task, deps)
        finally:
            other.join()


@pytest.mark.parametrize("imports", [2, 3, 5])
def test_imports_at_once_while_workers_die_and_tasks_come_twice(pipeline: Pipeline, monkeypatch, imports) -> None:
    on_existing = ["skip", "update", "skip", "update", "skip"][:imports]
    job_ids = [
        pipeline.start(data, list_id="faults", on_existing=mode) for data, mode in zip(FILES, on_existing, strict=False)
    ]
    faults = Faults(seed=7)  # the chunk workers die, once the files are planned
    monkeypatch.setattr(ContactStore, "write", faults.dies_sometimes(ContactStore.write, "after contact writes"))
    monkeypatch.setattr(TaskStore, "record", faults.dies_sometimes(TaskStore.record, "after the counter commit"))
    raised = drain_in_parallel(pipeline, faults.deliver)
    assert raised and set(raised) == {"WorkerDied"}, "workers died, and nothing else went wrong"
    assert_each_row_and_contact_counted_once(pipeline, "faults", job_ids, on_existing)
