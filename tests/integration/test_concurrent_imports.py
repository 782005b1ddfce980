"""Two jobs importing into one list at the same time: every phone is counted ``created`` by exactly
one of them, and the list's size counts each contact once.

The chunk queue is driven by hand so that one job's reduce reads the list, then the other job's
reduce reads and writes the same phones, and only then the first one writes."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from botocore.exceptions import ClientError

from contacts_import.clock import utc_now
from contacts_import.pipeline.outcomes import GuardedWrite
from contacts_import.service.process_chunk import process_task
from contacts_import.service.sweep_jobs import sweep
from contacts_import.store.contacts import ContactsContended, ContactStore
from contacts_import.store.dynamo import MAX_UNPROCESSED_ROUNDS
from contacts_import.store.task_queue import Task
from contacts_import.store.tasks import MAP, REDUCE
from tests.integration.pipeline import Pipeline
from tests.integration.test_job_ends import MIXED_ENCODINGS, coarse, later


def phones_file(numbers: range, label: str) -> bytes:
    return b"phone,name\n" + b"".join(f"+1212555{n:04d},{label} {n}\n".encode() for n in numbers)


# Three batches of 100 phones each: FIRST decides 0-99, 100-199, 200-299; SECOND 150-249,
# 250-349, 350-449. The list holds 100-199 already; 200-299 are new to both.
FIRST = phones_file(range(0, 300), "First")
SECOND = phones_file(range(150, 450), "Second")
OLD = phones_file(range(100, 200), "Old")


@pytest.fixture
def pipeline(stack) -> Pipeline:
    # One range per job (each reduce task is the whole file), a few chunks each.
    return Pipeline(stack, chunk_bytes=2000, rows_per_range=10_000)


def imported(pipeline: Pipeline, data: bytes, **options: Any) -> str:
    job_id = pipeline.start(data, **options)
    pipeline.drain()
    return job_id


def mapped(pipeline: Pipeline, *job_ids: str) -> dict[str, list[Task]]:
    """Run the jobs' map tasks; their reduce tasks, taken off the queue, by job."""
    reduces: dict[str, list[Task]] = {job_id: [] for job_id in job_ids}
    while tasks := pipeline.take():
        for task in tasks:
            if task.kind == MAP:
                process_task(task, pipeline.deps)
            else:
                assert task.kind == REDUCE
                reduces[task.job_id].append(task)
    assert all(reduces.values()), "every job is in its reduce phase"
    return reduces


def reducing_jobs(pipeline: Pipeline, list_id: str) -> set[str]:
    table = pipeline.deps.dynamodb.Table(pipeline.deps.settings.lists_table)
    item = table.get_item(Key={"account_id": "local", "list_id": list_id}, ConsistentRead=True).get("Item") or {}
    return set(item.get("reducing_jobs", ()))


def interleaved(monkeypatch, read: int, run_between: Callable[[], None]) -> None:
    """``run_between`` is called right after the ``read``-th read of the list, before what was read
    is written: another job's reads and writes fall between that read and its write."""
    original = ContactStore.find_existing
    reads = {"seen": 0}

    def find_existing(self, phones):
        found = original(self, phones)
        reads["seen"] += 1
        if reads["seen"] == read:
            run_between()
        return found

    monkeypatch.setattr(ContactStore, "find_existing", find_existing)


def stored_by_creator(pipeline: Pipeline, list_id: str) -> dict[str, int]:
    """How many of the list's contacts each job created, from a Query of the whole list."""
    table = pipeline.deps.dynamodb.Table(pipeline.deps.settings.contacts_table)
    query: dict[str, Any] = {
        "KeyConditionExpression": "list_key = :k",
        "ExpressionAttributeValues": {":k": f"local#{list_id}"},
    }
    creators: dict[str, int] = {}
    while True:
        page = table.query(**query)
        for item in page["Items"]:
            creators[item["created_job_id"]] = creators.get(item["created_job_id"], 0) + 1
        if "LastEvaluatedKey" not in page:
            return creators
        query["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def assert_adds_up(counts: dict[str, int]) -> None:
    decided = counts["created"] + counts["updated"] + counts["skipped_existing"] + counts["skipped_duplicates"]
    assert counts["total_rows"] == counts["processed_rows"] == decided + counts["invalid"]


@pytest.mark.parametrize("on_existing", ["skip", "update"])
def test_two_jobs_reducing_into_one_list_at_once_count_each_contact_once(pipeline, monkeypatch, on_existing):
    old = imported(pipeline, OLD, list_id="shared")
    first = pipeline.start(FIRST, list_id="shared", on_existing=on_existing)
    second = pipeline.start(SECOND, list_id="shared", on_existing=on_existing)
    reduces = mapped(pipeline, first, second)
    assert reducing_jobs(pipeline, "shared") == {first, second}, "each announced before its first reduce"

    guarded: list[int] = []
    original_guarded = ContactStore.write_unless_changed

    def write_unless_changed(self, writes: list[GuardedWrite]) -> set[str]:
        guarded.append(len(writes))
        return original_guarded(self, writes)

    monkeypatch.setattr(ContactStore, "write_unless_changed", write_unless_changed)

    def second_reduces() -> None:
        for task in reduces[second]:
            process_task(task, pipeline.deps)

    # The first job reads 200-299 as missing (its third read); the second then reads and writes all
    # its phones, 200-299 among them, still missing; only then does the first write what it read.
    interleaved(monkeypatch, 3, second_reduces)
    for task in reduces[first]:
        process_task(task, pipeline.deps)
    pipeline.drain()

    a, b = pipeline.job(first), pipeline.job(second)
    assert (a["status"], b["status"]) == ("completed", "completed")
    assert guarded, "both jobs reduced while the other was announced: their writes were guarded"
    creators = stored_by_creator(pipeline, "shared")
    assert creators == {old: 100, first: a["counts"]["created"], second: b["counts"]["created"]}
    # 450 phones in all, 100 of them in the list before: 350 created, each by one job.
    assert (a["counts"]["created"], b["counts"]["created"]) == (100, 250)
    kept = "updated" if on_existing == "update" else "skipped_existing"
    # FIRST: 100-199 (old) and 200-299 (created by SECOND between its read and its write).
    assert (a["counts"][kept], b["counts"][kept]) == (200, 50)
    for job in (a, b):
        assert_adds_up(job["counts"])
    assert pipeline.deps.lists.total_contacts("local", "shared") == 450 == sum(creators.values())
    assert b["total_contacts"] == 100 + b["counts"]["created"], "the second job ended first"
    assert a["total_contacts"] == 450
    assert reducing_jobs(pipeline, "shared") == set(), "each job left with its end"


def test_one_job_at_a_time_writes_in_batches_and_leaves_the_list_with_its_end(pipeline, monkeypatch):
    imported(pipeline, OLD, list_id="alone")
    job_id = pipeline.start(FIRST, list_id="alone")
    reduces = mapped(pipeline, job_id)
    assert reducing_jobs(pipeline, "alone") == {job_id}

    batches: list[int] = []
    original_write = ContactStore.write
    monkeypatch.setattr(
        ContactStore, "write", lambda self, items: (batches.append(len(items)), original_write(self, items))
    )

    def no_guarded_writes(self, writes):
        raise AssertionError("a job alone on its list writes in batches")

    monkeypatch.setattr(ContactStore, "write_unless_changed", no_guarded_writes)
    for task in reduces[job_id]:
        process_task(task, pipeline.deps)
    pipeline.drain()
    job = pipeline.job(job_id)
    assert job["status"] == "completed" and job["counts"]["created"] == 200
    assert sum(batches) == 200
    assert reducing_jobs(pipeline, "alone") == set()
    assert pipeline.deps.lists.total_contacts("local", "alone") == 300


@pytest.mark.parametrize("ending", ["failed part-way", "cancelled", "stalled"])
def test_a_job_that_does_not_complete_leaves_the_list_with_its_end(pipeline, ending):
    if ending == "failed part-way":  # planned failed, it still reduces the rows before the bad bytes
        pipeline = coarse(pipeline)
    job_id = pipeline.start(MIXED_ENCODINGS if ending == "failed part-way" else FIRST, list_id="ends")
    reduces = mapped(pipeline, job_id)
    assert reducing_jobs(pipeline, "ends") == {job_id}
    assert pipeline.deps.lists.get("local", "ends") is None, "a list without a finished import is not found"
    if ending == "cancelled":
        pipeline.deps.jobs.cancel("local", job_id, now=utc_now())
    if ending == "stalled":
        report = sweep(pipeline.deps, resend_after_minutes=35, stalled_after_minutes=60, now=later(61))
        assert report.stalled == 1  # its reduce tasks were lost
    else:
        for task in reduces[job_id]:
            process_task(task, pipeline.deps)
        pipeline.drain()
    job = pipeline.job(job_id)
    expected = {"failed part-way": "failed", "cancelled": "cancelled", "stalled": "failed"}[ending]
    assert (job["status"], job["ended"]) == (expected, True)
    assert reducing_jobs(pipeline, "ends") == set()


def test_a_dry_run_does_not_announce_itself(pipeline):
    job_id = pipeline.start(FIRST, list_id="dry", dry_run="true")
    mapped(pipeline, job_id)
    assert reducing_jobs(pipeline, "dry") == set()


def test_guarded_writes_go_in_transactions_of_at_most_100_and_say_which_contacts_changed(pipeline, monkeypatch):
    deps = pipeline.deps
    store = deps.contacts("local", "guarded")
    stale = {"phone": "+12125550000", "created_job_id": "job-a", "import_job_id": "job-a", "list_id": "guarded"}
    store.write([{**stale, "created_job_id": "job-b", "import_job_id": "job-b"}])  # another job created it
    sizes: list[int] = []
    client = deps.dynamodb_client
    original = client.transact_write_items

    def transact_write_items(**request):
        sizes.append(len(request["TransactItems"]))
        return original(**request)

    monkeypatch.setattr(client, "transact_write_items", transact_write_items)
    writes = [GuardedWrite({**stale, "phone": f"+1212555{n:04d}"}, None) for n in range(250)]
    assert store.write_unless_changed(writes) == {"+12125550000"}
    assert max(sizes) <= 100
    assert sizes == [100, 99, 100, 50], "a cancelled transaction is sent again without what changed"
    assert store.get("+12125550000")["created_job_id"] == "job-b"
    assert len(store.find_existing([f"+1212555{n:04d}" for n in range(1, 100)])) == 99


def test_a_job_that_came_and_went_between_a_read_and_its_write_is_seen(pipeline, monkeypatch):
    first = pipeline.start(FIRST, list_id="came-and-went")
    reduces = mapped(pipeline, first)
    second: list[str] = []

    def a_whole_job() -> None:  # announced after our last look, ended before our write
        second.append(imported(pipeline, SECOND, list_id="came-and-went"))
        assert reducing_jobs(pipeline, "came-and-went") == {first}

    interleaved(monkeypatch, 3, a_whole_job)
    for task in reduces[first]:
        process_task(task, pipeline.deps)
    pipeline.drain()
    a, b = pipeline.job(first), pipeline.job(second[0])
    # SECOND found 150-199 written by FIRST and created 200-449; FIRST had read 200-299 as missing.
    assert (a["counts"]["created"], b["counts"]["created"]) == (200, 250)
    assert (a["counts"]["skipped_existing"], b["counts"]["skipped_existing"]) == (100, 50)
    assert stored_by_creator(pipeline, "came-and-went") == {first: 200, second[0]: 250}
    assert pipeline.deps.lists.total_contacts("local", "came-and-went") == 450 == a["total_contacts"]


def cancelled(*reasons: str) -> ClientError:
    return ClientError(
        {
            "Error": {"Code": "TransactionCanceledException", "Message": "Transaction cancelled"},
            "CancellationReasons": [{"Code": reason} for reason in reasons],
        },
        "TransactWriteItems",
    )


@pytest.mark.parametrize("conflicts", [1, MAX_UNPROCESSED_ROUNDS])
def test_a_transaction_cancelled_by_a_conflict_is_sent_again_until_it_is_written(pipeline, monkeypatch, conflicts):
    store = pipeline.deps.contacts("local", "conflicts")
    client = pipeline.deps.dynamodb_client
    original = client.transact_write_items
    sent: list[int] = []

    def transact_write_items(**request):
        sent.append(len(request["TransactItems"]))
        if len(sent) <= conflicts:  # another write to one of its contacts while it ran
            raise cancelled("None", "TransactionConflict", "None")
        return original(**request)

    monkeypatch.setattr(client, "transact_write_items", transact_write_items)
    monkeypatch.setattr("contacts_import.store.contacts.backoff_sleep", lambda attempt: None)
    item = {"created_job_id": "job-a", "import_job_id": "job-a", "list_id": "conflicts"}
    writes = [GuardedWrite({**item, "phone": f"+1212555000{n}"}, None) for n in range(3)]
    if conflicts == MAX_UNPROCESSED_ROUNDS:
        with pytest.raises(ContactsContended):
            store.write_unless_changed(writes)
        assert store.find_existing([w.item["phone"] for w in writes]) == {}
    else:
        assert store.write_unless_changed(writes) == set()
        assert sent == [3, 3] and len(store.find_existing([w.item["phone"] for w in writes])) == 3
