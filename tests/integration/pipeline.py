"""The import pipeline driven by hand, for the integration tier: the processor and the chunk worker
called as their event sources would, the chunk queue drained by the test (so that deliveries can be
repeated, reordered, run at once or broken), and what the same engine run in one process
(``tests.unit.helpers.run``: plan, map and reduce with contacts in memory, as the offline validator
runs it) would have stored, to compare row by row."""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any
from urllib.parse import quote_plus

import boto3

from contacts_import.clock import utc_now
from contacts_import.service.pipeline_deps import PipelineDeps, pipeline_deps
from contacts_import.service.process_chunk import process_task
from contacts_import.service.process_import import StoredObject, process_object
from contacts_import.settings import ProcessChunkSettings
from contacts_import.store.contacts import ContactStore
from contacts_import.store.dynamo import json_ready
from contacts_import.store.row_errors import job_key
from contacts_import.store.task_queue import Task
from tests.integration.api_calls import post_csv
from tests.sample_events import body_of
from tests.unit.helpers import MemoryList, run


class WorkerDied(Exception):
    """The Lambda runtime went away at a named point."""


VOLATILE = {"created_at", "updated_at", "created_job_id", "import_job_id", "list_id", "list_key", "account_id"}


def contacts_file(rows: int = 320, seed: int = 5) -> bytes:
    """Phones drawn from a small pool (so duplicates cross chunks), spelled several ways, with
    invalid phones and emails, quoted line breaks and blank lines."""
    rng = random.Random(seed)
    pool = [f"+1212555{n:04d}" for n in range(0, 1200, 10)]
    lines = ["phone,name,email,note"]
    for number in range(rows):
        phone = rng.choice(pool)
        spelled = rng.choice([phone, f"(212) 555-{phone[-4:]}", f"212.555.{phone[-4:]}"])
        kind = rng.random()
        if kind < 0.05:
            lines.append(",,,")
        elif kind < 0.10:
            lines.append(f"12345,Bad phone {number},,")
        elif kind < 0.15:
            lines.append(f"{spelled},Bad mail {number},nope@,")
        elif kind < 0.30:
            lines.append(f'"{spelled}","Quoted {number}",q{number}@example.com,"line one\nline two"')
        else:
            lines.append(f"{spelled},Name {number},n{number}@example.com,")
    return ("\n".join(lines) + "\n").encode()


def normalized(item: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in json_ready(item).items() if k not in VOLATILE and v not in (None, "", [], {})}


class Pipeline:
    """The processor and the chunk worker, called as their event sources would, with the chunk
    queue drained by hand (so that deliveries can be repeated, reordered, run at once or broken)."""

    def __init__(self, stack: Any, *, chunk_bytes: int = 900, rows_per_range: int = 40, **settings: Any) -> None:
        self.stack = stack
        environment = {k.lower(): v for k, v in stack.template.function("ProcessChunkFunction").environment.items()}
        environment.update(chunk_bytes=chunk_bytes, rows_per_range=rows_per_range, **settings)
        self.deps: PipelineDeps = pipeline_deps(ProcessChunkSettings(**environment))
        self.sqs = boto3.client("sqs", region_name="us-east-1")
        self.queue_url = self.deps.settings.chunk_queue_url

    # -- starting

    def upload(self, data: bytes, **options: Any) -> tuple[str, str]:
        accepted = post_csv(self.stack, data, **options)
        assert accepted["statusCode"] == 202, accepted["body"]
        job_id = body_of(accepted)["data"]["job_id"]
        return job_id, self.job(job_id)["object_key"]

    def s3_event(self, key: str) -> str | None:
        head = self.stack.s3().head_object(Bucket=self.stack.bucket, Key=key)
        stored = StoredObject(self.stack.bucket, quote_plus(key), head["ContentLength"], head["ETag"], "01", utc_now())
        return process_object(stored, self.deps)

    def start(self, data: bytes, **options: Any) -> str:
        job_id, key = self.upload(data, **options)
        self.s3_event(key)
        return job_id

    # -- the queue

    def take(self) -> list[Task]:
        """Every visible task, taken off the queue (as deleted after a successful invocation)."""
        tasks = []
        while True:
            messages = self.sqs.receive_message(QueueUrl=self.queue_url, MaxNumberOfMessages=10).get("Messages", [])
            if not messages:
                return tasks
            for message in messages:
                tasks.append(Task.from_message(message["Body"]))
                self.sqs.delete_message(QueueUrl=self.queue_url, ReceiptHandle=message["ReceiptHandle"])

    def drain(
        self,
        *,
        rng: random.Random | None = None,
        repeat: bool = False,
        run: Callable[[Task], None] | None = None,
        limit: int = 20,
    ) -> None:
        run = run or (lambda task: process_task(task, self.deps))
        for _ in range(limit):
            tasks = self.take()
            if not tasks:
                return
            if rng:
                rng.shuffle(tasks)
            for task in tasks:
                run(task)
                if repeat:
                    run(task)  # the same message delivered again, after the first delivery ended
        raise AssertionError("the job kept sending tasks")

    # -- what is stored

    def job(self, job_id: str) -> dict[str, Any]:
        job = self.deps.jobs.get("local", job_id)
        assert job is not None
        return job

    def store(self, list_id: str) -> ContactStore:
        """The list's contacts as the API reads them: its shards from the list's item."""
        return self.deps.contacts("local", list_id, shards=self.deps.lists.shards("local", list_id))

    def stored(self, list_id: str) -> dict[str, dict[str, Any]]:
        """The list's contacts as stored, by phone (the jobs that created and last wrote each kept)."""
        store, items, cursor = self.store(list_id), {}, None
        while True:
            page, cursor = store.page(1000, cursor)
            items.update({item["phone"]: json_ready(item) for item in page})
            if not cursor:
                return items

    def contacts(self, list_id: str) -> dict[str, dict[str, Any]]:
        store = self.store(list_id)
        items, cursor = {}, None
        while True:
            page, cursor = store.page(1000, cursor)
            items.update({item["phone"]: normalized(item) for item in page})
            if not cursor:
                return items

    def row_errors(self, job_id: str) -> dict[int, tuple]:
        table = self.deps.dynamodb.Table(self.deps.settings.row_errors_table)
        items = table.query(
            KeyConditionExpression="job_key = :k", ExpressionAttributeValues={":k": job_key("local", job_id)}
        )
        return {int(i["row"]): (i["code"], i["message"], i.get("column"), i.get("value")) for i in items["Items"]}


def expected_run(data: bytes, existing: MemoryList | None = None, **options: Any):
    contacts = existing or MemoryList()
    result, _, errors, _ = run(data, contacts=contacts, **options)
    rows = {e.row: (e.code, e.message, e.column, e.value) for e, _ in errors.errors}
    return result.counts, {phone: normalized(item) for phone, item in contacts.items.items()}, rows


def assert_like_a_clean_run(pipeline: Pipeline, job_id: str, list_id: str, data: bytes, **options: Any) -> None:
    counts, contacts, errors = expected_run(data, **options)
    job = pipeline.job(job_id)
    assert (job["status"], job["ended"]) == ("completed", True)
    assert job["counts"] == counts.model_dump()
    assert job["error_count"] == counts.invalid == len(errors)
    assert pipeline.contacts(list_id) == contacts
    assert pipeline.row_errors(job_id) == errors
    assert job["total_contacts"] == len(contacts)
