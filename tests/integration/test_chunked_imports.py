"""Chunked imports against DynamoDB Local and moto, under every fault we can produce: duplicate S3 events, tasks
delivered twice, reordered, run by two workers at once, workers dying at named points, DynamoDB
throttling. Each ends with the contacts, counts and row errors of a clean run of the same engine in
one process, with contacts in memory (``tests.unit.helpers.run``, as the offline validator runs it),
row by row."""

from __future__ import annotations

import dataclasses
import gzip
import http.server
import json
import random
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from contacts_import.clock import utc_now
from contacts_import.models import ImportOptions
from contacts_import.service.process_chunk import process_task
from contacts_import.service.sweep_jobs import sweep
from contacts_import.store import dynamo
from contacts_import.store.contacts import ContactStore
from contacts_import.store.task_queue import Task, TaskQueue
from contacts_import.store.tasks import TaskStore
from tests.integration.pipeline import (
    Pipeline,
    WorkerDied,
    assert_like_a_clean_run,
    contacts_file,
    expected_run,
)
from tests.unit.helpers import MemoryList, run


@pytest.fixture
def pipeline(stack) -> Iterator[Pipeline]:
    yield Pipeline(stack)


DATA = contacts_file()


def test_many_chunks_and_ranges_in_any_order_count_like_one_reader(pipeline):
    job_id = pipeline.start(DATA, list_id="any-order")
    job = pipeline.job(job_id)
    assert job["map_tasks"] > 5, "the file is planned as many chunks"
    pipeline.drain(rng=random.Random(3))
    assert len(pipeline.job(job_id)["ranges"]) > 3, "and decided as many phone ranges"
    assert_like_a_clean_run(pipeline, job_id, "any-order", DATA)


def test_every_task_delivered_twice_and_the_s3_event_too(pipeline):
    job_id, key = pipeline.upload(DATA, list_id="twice")
    pipeline.s3_event(key)
    pipeline.s3_event(key)  # a duplicate event while the chunks wait: the job is planned once
    pipeline.drain(rng=random.Random(11), repeat=True)
    assert_like_a_clean_run(pipeline, job_id, "twice", DATA)
    before = (pipeline.job(job_id), pipeline.contacts("twice"))
    pipeline.s3_event(key)  # re-delivering the S3 event of a finished job changes nothing
    pipeline.drain()
    assert (pipeline.job(job_id), pipeline.contacts("twice")) == before


def test_two_workers_on_every_task_at_once(pipeline):
    job_id = pipeline.start(DATA, list_id="together")

    def both_at_once(task: Task) -> None:
        errors: list[BaseException] = []

        def worker() -> None:
            try:
                process_task(task, pipeline.deps)
            except BaseException as error:  # collected for the assertion below
                errors.append(error)

        threads = [threading.Thread(target=worker) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert errors == []

    pipeline.drain(run=both_at_once)
    assert_like_a_clean_run(pipeline, job_id, "together", DATA)


def dies_once(point: Callable[..., Any], when: Callable[[], bool] = lambda: True) -> Callable[..., Any]:
    state = {"died": False}

    def wrapped(*args: Any, **kwargs: Any) -> Any:
        result = point(*args, **kwargs)
        if not state["died"] and when():
            state["died"] = True
            raise WorkerDied(point.__name__)
        return result

    return wrapped


@pytest.mark.parametrize("point", ["after contact writes", "before counter commit", "after the counter commit"])
def test_a_worker_dying_at_a_named_point_is_redelivered_and_counts_once(pipeline, monkeypatch, point):
    list_id = "dies-" + point.replace(" ", "-")
    job_id = pipeline.start(DATA, list_id=list_id)
    if point == "after contact writes":
        monkeypatch.setattr(ContactStore, "write", dies_once(ContactStore.write))
    elif point == "before counter commit":
        # The task's work is done and written; the process dies as it records the task's counts.
        original = TaskStore.record
        state = {"died": False}

        def record(self, account_id, job_id_, kind, *args, **kwargs):
            if kind == "reduce" and not state["died"]:
                state["died"] = True
                raise WorkerDied("record")
            return original(self, account_id, job_id_, kind, *args, **kwargs)

        monkeypatch.setattr(TaskStore, "record", record)
    else:
        monkeypatch.setattr(TaskStore, "record", dies_once(TaskStore.record))

    def deliver(task: Task) -> None:
        try:
            process_task(task, pipeline.deps)
        except WorkerDied:
            process_task(task, pipeline.deps)  # the message comes back after its visibility timeout

    pipeline.drain(run=deliver)
    assert_like_a_clean_run(pipeline, job_id, list_id, DATA)


def test_a_worker_dying_between_phases_is_healed_by_the_sweeper(pipeline, monkeypatch):
    job_id = pipeline.start(DATA, list_id="between")
    original = TaskQueue.send

    def send(self, tasks, **kwargs):
        if tasks and tasks[0].kind == "reduce" and not getattr(send, "died", False):
            send.died = True  # type: ignore[attr-defined]
            raise WorkerDied("between the phase change and sending its tasks")
        return original(self, tasks, **kwargs)

    monkeypatch.setattr(TaskQueue, "send", send)

    def deliver(task: Task) -> None:
        try:
            process_task(task, pipeline.deps)
        except WorkerDied:
            process_task(task, pipeline.deps)  # redelivered: the phase has changed, nothing is sent

    pipeline.drain(run=deliver)
    assert pipeline.job(job_id)["phase"] == "reduce" and not pipeline.job(job_id).get("ended")
    report = sweep(pipeline.deps, resend_after_minutes=35, stalled_after_minutes=60, now=datetime.now(UTC))
    assert report.resent == 0, "a job that moved recently is left alone"
    later = datetime.now(UTC) + timedelta(minutes=40)
    assert sweep(pipeline.deps, resend_after_minutes=35, stalled_after_minutes=60, now=later).resent == 1
    pipeline.drain()
    assert_like_a_clean_run(pipeline, job_id, "between", DATA)


class Throttled:
    """A DynamoDB client or resource under pressure: part of every batch comes back unprocessed,
    and every few batches are refused with ProvisionedThroughputExceeded before they are applied
    (as they would be once botocore's own retries are spent)."""

    def __init__(self, inner: Any, rng: random.Random, pressure: dict[str, int]) -> None:
        self._inner = inner
        self._rng = rng
        self.pressure = pressure

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    def _maybe_refuse(self, operation: str) -> None:
        self.pressure["batches"] += 1
        if self.pressure["batches"] % 9 == 0:
            self.pressure["refused"] += 1
            raise ClientError(
                {"Error": {"Code": "ProvisionedThroughputExceededException", "Message": "Rate exceeded"}}, operation
            )

    def batch_write_item(self, RequestItems: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        self._maybe_refuse("BatchWriteItem")
        ((table, requests),) = RequestItems.items()
        kept = [r for r in requests if self._rng.random() < 0.6]
        left = [r for r in requests if r not in kept]
        self.pressure["unprocessed"] += len(left)
        if kept:
            self._inner.batch_write_item(RequestItems={table: kept}, **kwargs)
        return {"UnprocessedItems": {table: left} if left else {}}

    def batch_get_item(self, RequestItems: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        self._maybe_refuse("BatchGetItem")
        ((table, request),) = RequestItems.items()
        keys = request["Keys"]
        asked = [k for k in keys if self._rng.random() < 0.6]
        left = [k for k in keys if k not in asked]
        self.pressure["unprocessed"] += len(left)
        answer = self._inner.batch_get_item(RequestItems={table: {**request, "Keys": asked}}, **kwargs) if asked else {}
        unprocessed = {table: {**request, "Keys": left}} if left else {}
        return {"Responses": answer.get("Responses", {table: []}), "UnprocessedKeys": unprocessed}


def test_throttling_unprocessed_items_and_throughput_errors_end_like_a_clean_run(pipeline, monkeypatch):
    waits: list[int] = []
    monkeypatch.setattr(dynamo, "backoff_sleep", lambda attempt: waits.append(attempt))  # no real waiting
    pressure = {"batches": 0, "refused": 0, "unprocessed": 0}
    rng = random.Random(2)
    pipeline.deps = dataclasses.replace(
        pipeline.deps,
        dynamodb=Throttled(pipeline.deps.dynamodb, rng, pressure),
        dynamodb_client=Throttled(pipeline.deps.dynamodb_client, rng, pressure),
    )
    failed: list[str] = []

    def deliver(task: Task) -> None:
        for _ in range(10):  # a task that fails comes back after its visibility timeout
            try:
                process_task(task, pipeline.deps)
                return
            except ClientError as error:
                failed.append(error.response["Error"]["Code"])
        raise AssertionError("a task failed ten times")

    job_id = pipeline.start(DATA, list_id="throttled")
    pipeline.drain(rng=random.Random(5), run=deliver)
    assert pressure["unprocessed"] > 50 and waits, "batches came back part-done and were retried after a wait"
    assert pressure["refused"] > 5 and set(failed) == {"ProvisionedThroughputExceededException"}
    assert_like_a_clean_run(pipeline, job_id, "throttled", DATA)


def test_throughput_errors_are_retried_by_the_client_with_backoff(monkeypatch):
    """What the stores rely on: a ProvisionedThroughputExceeded answer is retried by botocore (its
    standard mode: exponential backoff with jitter), here against a server that refuses twice."""
    answers = [
        (400, {"__type": "com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException", "message": "x"}),
        (400, {"__type": "com.amazonaws.dynamodb.v20120810#ThrottlingException", "message": "x"}),
        (200, {"UnprocessedItems": {}}),
    ]
    seen: list[str] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers["Content-Length"]))
            seen.append(self.headers["X-Amz-Target"])
            status, body = answers[min(len(seen), len(answers)) - 1]
            payload = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/x-amz-json-1.0")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, *args: Any) -> None:
            return None

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    sleeps: list[float] = []
    monkeypatch.setattr("time.sleep", sleeps.append)
    try:
        client = boto3.client(
            "dynamodb",
            region_name="us-east-1",
            endpoint_url=f"http://127.0.0.1:{server.server_address[1]}",
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
            config=dynamo.FAST_CONFIG,
        )
        dynamo.batch_write(client, "t", [{"PutRequest": {"Item": {"k": {"S": "v"}}}}])
    finally:
        server.shutdown()
    assert seen == ["DynamoDB_20120810.BatchWriteItem"] * 3
    assert len(sleeps) == 2 and all(0 <= s <= 20 for s in sleeps)


def test_an_existing_list_updated_in_many_chunks(pipeline):
    first = pipeline.start(DATA[: len(DATA) // 2] + b"\n", list_id="existing")
    pipeline.drain()
    assert pipeline.job(first)["status"] == "completed"
    existing = MemoryList()
    run(DATA[: len(DATA) // 2] + b"\n", contacts=existing, job_id=first)
    # A tag for every row, so that the rows the list has change (the same values again are unchanged).
    job_id = pipeline.start(DATA, list_id="existing", on_existing="update", tags="again")
    pipeline.drain(rng=random.Random(8), repeat=True)
    counts, contacts, _ = expected_run(DATA, existing, on_existing="update", job_id=job_id, tags="again")
    assert pipeline.job(job_id)["counts"] == counts.model_dump()
    assert counts.updated > 0 and counts.created > 0
    assert pipeline.contacts("existing") == contacts


def test_a_cancelled_job_ends_cancelled_and_counts_what_it_wrote(pipeline):
    job_id = pipeline.start(DATA, list_id="cancelled")
    tasks = pipeline.take()
    for task in tasks[: len(tasks) // 2]:
        process_task(task, pipeline.deps)
    assert pipeline.deps.jobs.cancel("local", job_id, now=utc_now())
    for task in tasks[len(tasks) // 2 :]:
        process_task(task, pipeline.deps)
    pipeline.drain()
    job = pipeline.job(job_id)
    assert (job["status"], job["ended"]) == ("cancelled", True)
    assert job["counts"]["created"] == 0 and 0 < job["counts"]["total_rows"] < 320
    assert pipeline.contacts("cancelled") == {}


def test_options_flow_to_every_chunk(pipeline):
    data = "Telefon;Vorname;Nachname\n".encode("cp1252") + b"".join(
        f"+49 30 9018{n:04d};J\xf6rg;M\xfcller {n}\n".encode("latin-1") for n in range(200)
    )
    job_id = pipeline.start(data, list_id="options", tags="vip,de", default_region="DE", phone_validation="possible")
    pipeline.drain()
    assert pipeline.job(job_id)["map_tasks"] > 3
    assert_like_a_clean_run(
        pipeline, job_id, "options", data, tags="vip,de", default_region="DE", phone_validation="possible"
    )
    contact = pipeline.contacts("options")["+493090180007"]
    assert (contact["name"], contact["tags"]) == ("Jörg Müller 7", ["de", "vip"])


def test_a_staged_gzip_file_in_many_chunks(pipeline):
    job_id = pipeline.start(gzip.compress(DATA), list_id="gzip")
    pipeline.drain(rng=random.Random(1))
    assert pipeline.job(job_id)["map_tasks"] > 5
    assert_like_a_clean_run(pipeline, job_id, "gzip", DATA)
    assert _listing(pipeline, job_id) == []


def _listing(pipeline: Pipeline, job_id: str) -> list[str]:
    prefix = pipeline.deps.work("local", job_id).prefix
    answer = pipeline.stack.s3().list_objects_v2(Bucket=pipeline.stack.bucket, Prefix=prefix)
    return [item["Key"] for item in answer.get("Contents", [])]


def test_working_objects_are_gone_when_the_job_ends(pipeline):
    job_id = pipeline.start(DATA, list_id="tidy")
    pipeline.drain()
    assert pipeline.job(job_id)["status"] == "completed"
    assert _listing(pipeline, job_id) == []


def test_counts_while_processing_only_grow(pipeline):
    job_id = pipeline.start(DATA, list_id="growing")
    seen = []
    pipeline.drain(run=lambda task: (process_task(task, pipeline.deps), seen.append(pipeline.job(job_id)["counts"])))
    totals = [counts["total_rows"] for counts in seen]
    processed = [counts["processed_rows"] for counts in seen]
    assert totals == sorted(totals) and processed == sorted(processed)
    assert ImportOptions.model_validate(pipeline.job(job_id)["options"]).list_id == "growing"
