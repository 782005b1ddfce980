"""How jobs end: mirror mode once every range is done, the sweeper for jobs that went quiet, and
the EventBridge event every ended job publishes."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest

from contacts_import.clock import utc_now
from contacts_import.service.process_chunk import process_task
from contacts_import.service.sweep_jobs import sweep
from contacts_import.store.contacts import ContactStore
from contacts_import.store.task_queue import Task
from contacts_import.store.tasks import TaskStore
from tests.integration.pipeline import Pipeline, WorkerDied

OLD = b"phone,name\n" + b"".join(f"+1212555{n:04d},Old {n}\n".encode() for n in range(0, 600, 3))
# Keeps every other old contact, adds new ones, and has a row whose phone is invalid.
NEW = (
    b"phone,name\n"
    + b"".join(f"+1212555{n:04d},New {n}\n".encode() for n in range(0, 600, 6))
    + b"".join(f"+1212555{n:04d},Added {n}\n".encode() for n in range(700, 760))
    + b"12345,Invalid\n"
)
# Valid UTF-8 at first, then bytes that are not: refused part-way, the rows before it imported.
MIXED_ENCODINGS = "phone,name\n+12125550000,Zoë\n".encode() + b"+12125550003,x\n" * 5_000 + b"+12125550006,Bj\xf6rn\n"
KEPT = {f"+1212555{n:04d}" for n in range(0, 600, 6)} | {f"+1212555{n:04d}" for n in range(700, 760)}


@pytest.fixture
def pipeline(stack) -> Pipeline:
    return Pipeline(stack, chunk_bytes=300, rows_per_range=25)


def coarse(pipeline: Pipeline) -> Pipeline:
    """The same stack, cutting files into fewer, larger tasks (for files of thousands of rows)."""
    return Pipeline(pipeline.stack, chunk_bytes=32 * 1024, rows_per_range=1000)


def imported(pipeline: Pipeline, data: bytes, **options: Any) -> str:
    job_id = pipeline.start(data, **options)
    pipeline.drain()
    return job_id


def total_contacts(pipeline: Pipeline, list_id: str) -> int:
    return pipeline.deps.lists.total_contacts("local", list_id)


# ------------------------------------------------------------------------------ mirror mode


def test_mirror_mode_deletes_what_the_file_lacks_once_every_range_is_done(pipeline):
    imported(pipeline, OLD, list_id="mirror")
    assert total_contacts(pipeline, "mirror") == 200
    job_id = imported(pipeline, NEW, list_id="mirror", replace_list="true")
    job = pipeline.job(job_id)
    assert job["status"] == "completed" and len(job["ranges"]) > 3
    counts = job["counts"]
    assert (counts["created"], counts["skipped_existing"], counts["invalid"], counts["deleted"]) == (60, 100, 1, 100)
    assert set(pipeline.contacts("mirror")) == KEPT
    assert total_contacts(pipeline, "mirror") == job["total_contacts"] == len(KEPT)


def test_a_prune_repeated_after_a_crash_deletes_the_same_and_counts_the_same(pipeline, monkeypatch):
    imported(pipeline, OLD, list_id="mirror-crash")
    original = ContactStore.delete
    deaths = {"left": 3}

    def delete(self, phones):
        original(self, phones)
        if phones and deaths["left"]:
            deaths["left"] -= 1
            raise WorkerDied("after deleting, before recording")

    monkeypatch.setattr(ContactStore, "delete", delete)

    def deliver(task: Task) -> None:
        while True:
            try:
                process_task(task, pipeline.deps)
                return
            except WorkerDied:
                continue  # the message comes back

    job_id = pipeline.start(NEW, list_id="mirror-crash", replace_list="true")
    pipeline.drain(run=deliver, repeat=True)
    assert deaths["left"] == 0
    assert pipeline.job(job_id)["counts"]["deleted"] == 100
    assert set(pipeline.contacts("mirror-crash")) == KEPT
    assert total_contacts(pipeline, "mirror-crash") == len(KEPT)


def test_a_large_prune_resumes_where_it_got(pipeline, monkeypatch):
    many = b"phone\n" + b"".join(f"+1212555{n:04d}\n".encode() for n in range(2500))
    imported(coarse(pipeline), many, list_id="mirror-resume", phone_validation="possible")
    monkeypatch.setattr("contacts_import.service.process_chunk.DELETE_BATCH", 100)
    original = TaskStore.note_progress
    notes: list[int] = []

    def note_progress(self, account_id, job_id, kind, number, done):
        original(self, account_id, job_id, kind, number, done)
        notes.append(done)
        if len(notes) == 5:
            raise WorkerDied("half-way through a range's deletions")

    monkeypatch.setattr(TaskStore, "note_progress", note_progress)
    deletes: list[int] = []
    monkeypatch.setattr(
        ContactStore,
        "delete",
        lambda self, phones, o=ContactStore.delete: (deletes.append(len(phones)), o(self, phones)),
    )
    pipeline = Pipeline(pipeline.stack, chunk_bytes=10**7, rows_per_range=10**7)  # one range

    def deliver(task: Task) -> None:
        try:
            process_task(task, pipeline.deps)
        except WorkerDied:
            process_task(task, pipeline.deps)

    job_id = pipeline.start(b"phone\n+12125550000\n", list_id="mirror-resume", replace_list="true")
    pipeline.drain(run=deliver)
    assert pipeline.job(job_id)["counts"]["deleted"] == 2499
    assert set(pipeline.contacts("mirror-resume")) == {"+12125550000"}
    assert sum(deletes) == 2499, "nothing was deleted twice: the repeat resumed after the last note"


@pytest.mark.parametrize("ending", ["failed part-way", "cancelled", "dry run"])
def test_mirror_mode_deletes_nothing_unless_the_job_completes(pipeline, ending):
    imported(pipeline, OLD, list_id="no-mirror")
    if ending == "failed part-way":
        job_id = imported(coarse(pipeline), MIXED_ENCODINGS, list_id="no-mirror", replace_list="true")
        assert pipeline.job(job_id)["failure"]["code"] == "bad_encoding"
    elif ending == "cancelled":
        job_id = pipeline.start(NEW, list_id="no-mirror", replace_list="true")
        maps = pipeline.take()
        for task in maps:
            process_task(task, pipeline.deps)
        reduces = pipeline.take()
        pipeline.deps.jobs.cancel("local", job_id, now=utc_now())
        for task in reduces:
            process_task(task, pipeline.deps)
        pipeline.drain()
        assert pipeline.job(job_id)["status"] == "cancelled"
    else:
        job_id = imported(pipeline, NEW, list_id="no-mirror", replace_list="true", dry_run="true")
        assert pipeline.job(job_id)["status"] == "completed"
    assert pipeline.job(job_id)["counts"]["deleted"] == 0
    assert {f"+1212555{n:04d}" for n in range(0, 600, 3)} <= set(pipeline.contacts("no-mirror"))


# ------------------------------------------------------------------------------ the sweeper


def later(minutes: int) -> datetime:
    return datetime.now(UTC) + timedelta(minutes=minutes)


def test_the_sweeper_fails_a_job_that_stopped_moving_with_what_it_wrote(pipeline):
    job_id = pipeline.start(NEW, list_id="stalled")
    for task in pipeline.take()[:2]:  # two chunks mapped; the rest of the messages are lost
        process_task(task, pipeline.deps)
    assert sweep(pipeline.deps, resend_after_minutes=35, stalled_after_minutes=60, now=later(10)).stalled == 0
    report = sweep(pipeline.deps, resend_after_minutes=35, stalled_after_minutes=60, now=later(61))
    assert report.stalled == 1
    job = pipeline.job(job_id)
    assert (job["status"], job["failure"]["code"]) == ("failed", "stalled")
    assert 0 < job["counts"]["total_rows"] < 161
    again = sweep(pipeline.deps, resend_after_minutes=35, stalled_after_minutes=60, now=later(120))
    assert (again.stalled, again.announced) == (0, 0), "an ended, announced job leaves the sweeper's index"


def test_the_sweeper_fails_a_queued_job_whose_file_never_came(pipeline):
    job_id, _ = pipeline.upload(NEW, list_id="never-planned")  # its S3 event is lost
    report = sweep(pipeline.deps, resend_after_minutes=35, stalled_after_minutes=60, now=later(61))
    assert report.stalled == 1
    assert pipeline.job(job_id)["failure"]["code"] == "stalled"


def test_the_sweeper_announces_a_job_that_ended_unannounced(pipeline, monkeypatch):
    calls: list[str] = []
    monkeypatch.setattr("contacts_import.service.job_end.announce", lambda *args: calls.append("died"))
    job_id = imported(pipeline, NEW, list_id="unannounced")
    assert calls == ["died"] and "notified_at" not in pipeline.job(job_id)
    monkeypatch.undo()
    report = sweep(pipeline.deps, resend_after_minutes=35, stalled_after_minutes=60, now=later(36))
    assert report.announced == 1 and "notified_at" in pipeline.job(job_id)


# ------------------------------------------------------------------------------ EventBridge


def test_every_ended_job_publishes_its_status_document(pipeline):
    events = boto3.client("events", region_name="us-east-1")
    sqs = boto3.client("sqs", region_name="us-east-1")
    queue = sqs.create_queue(QueueName="import-events")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    events.put_rule(Name="imports", EventPattern=json.dumps({"source": ["contacts-import"]}))
    events.put_targets(Rule="imports", Targets=[{"Id": "q", "Arn": arn}])

    done = imported(pipeline, NEW, list_id="events")
    failed = imported(coarse(pipeline), MIXED_ENCODINGS, list_id="events")

    received = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10)["Messages"]
    published = {json.loads(m["Body"])["detail"]["job_id"]: json.loads(m["Body"]) for m in received}
    assert set(published) == {done, failed}
    assert published[done]["detail-type"] == "import.completed"
    assert published[done]["detail"]["counts"]["created"] == 160
    assert published[failed]["detail-type"] == "import.failed"
    assert published[failed]["detail"]["failure"]["code"] == "bad_encoding"


# ------------------------------------------------------------------------------ the list's size


def test_a_job_ends_with_its_list_size_in_the_same_transaction(pipeline):
    first = imported(pipeline, OLD, list_id="sized")
    second = imported(pipeline, NEW, list_id="sized")
    jobs = pipeline.deps.jobs
    assert jobs.get("local", first)["total_contacts"] == 200
    # NEW adds 60 phones the list lacks; the job's total is the list's size at its end.
    assert jobs.get("local", second)["total_contacts"] == 260 == total_contacts(pipeline, "sized")


def test_a_list_moved_by_another_job_between_read_and_write_is_read_again(pipeline, monkeypatch):
    imported(pipeline, OLD, list_id="contended")
    jobs = pipeline.deps.jobs
    real_state = jobs._list_state
    moved = []

    def state_then_another_job_ends(account_id: str, list_id: str, job_id: str) -> tuple[int | None, list[int]]:
        state = real_state(account_id, list_id, job_id)
        if not moved:  # another job's end adds 5 contacts after our read, before our write
            moved.append(True)
            boto3.resource("dynamodb", region_name="us-east-1").Table(jobs._lists_table).update_item(
                Key={"account_id": account_id, "list_id": list_id},
                UpdateExpression="ADD total_contacts :five",
                ExpressionAttributeValues={":five": 5},
            )
        return state

    monkeypatch.setattr(jobs, "_list_state", state_then_another_job_ends)
    job_id = imported(pipeline, NEW, list_id="contended")
    assert moved
    assert jobs.get("local", job_id)["total_contacts"] == 265 == total_contacts(pipeline, "contended")
