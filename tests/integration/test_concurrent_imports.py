"""Imports into one list at once: one writer job per shard of the list (its lease), taken before a
reduce reads the list and let go of when no task of the phase needs it any more, or with the job's
end. Every phone is created by exactly one job, every count is exact, and a job that dies holding a
shard loses it when its lease runs out.

The chunk queue is driven by hand, so that one job's reduce holds a shard while the other job's
tasks for it arrive; a task that meets a held shard is sent again (``busy_shard_retry_seconds`` is
0 here: it is visible again at once)."""

from __future__ import annotations

import time
from typing import Any

import pytest

from contacts_import.clock import utc_now
from contacts_import.pipeline.shards import LEGACY, partition_key, shard_of, shard_spans
from contacts_import.service.process_chunk import process_task
from contacts_import.service.sweep_jobs import sweep
from contacts_import.store import contacts as contacts_module
from contacts_import.store.leases import held_by
from contacts_import.store.task_queue import Task
from contacts_import.store.tasks import MAP, REDUCE
from tests.integration.pipeline import Pipeline

SHARDS = 4


def phones_file(numbers: range, label: str) -> bytes:
    return b"phone,name\n" + b"".join(f"+1212555{n:04d},{label} {n}\n".encode() for n in numbers)


# FIRST is 0-299, SECOND 150-449; the list holds 100-199 already.
FIRST = phones_file(range(0, 300), "First")
SECOND = phones_file(range(150, 450), "Second")
OLD = phones_file(range(100, 200), "Old")
# Valid UTF-8 at first, then bytes that are not, past the 64 KiB that decide the encoding: refused
# part-way, the rows before it imported.
MIXED_ENCODINGS = (
    "phone,name\n+12125550000,Zoë\n".encode()
    + b"".join(f"+1212555{n:04d},x\n".encode() for n in range(1, 300))
    + b"+12125550003,again\n" * 4_000
    + b"+12125559999,Bj\xf6rn\n"
)


@pytest.fixture
def pipeline(stack) -> Pipeline:
    # Four shards, ranges of about 40 rows: each job's reduce is many tasks on parts of shards.
    return Pipeline(stack, chunk_bytes=2000, rows_per_range=40, list_shards=SHARDS, busy_shard_retry_seconds=0)


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


def list_item(pipeline: Pipeline, list_id: str) -> dict[str, Any]:
    return pipeline.deps.leases.item("local", list_id)


def stored_by_creator(pipeline: Pipeline, list_id: str) -> dict[str, int]:
    creators: dict[str, int] = {}
    for contact in pipeline.stored(list_id).values():
        creators[contact["created_job_id"]] = creators.get(contact["created_job_id"], 0) + 1
    return creators


def assert_adds_up(counts: dict[str, int]) -> None:
    decided = counts["created"] + counts["updated"] + counts["unchanged"] + counts["skipped_existing"]
    decided += counts["skipped_duplicates"]
    assert counts["total_rows"] == counts["processed_rows"] == decided + counts["invalid"]


@pytest.mark.parametrize("on_existing", ["skip", "update"])
def test_two_jobs_on_one_list_write_a_shard_one_at_a_time_and_count_each_contact_once(pipeline, on_existing):
    old = imported(pipeline, OLD, list_id="shared")
    first = pipeline.start(FIRST, list_id="shared", on_existing=on_existing)
    second = pipeline.start(SECOND, list_id="shared", on_existing=on_existing)
    reduces = mapped(pipeline, first, second)

    # FIRST's first reduce takes its shard; SECOND's tasks on that shard find it held and are sent
    # again, the others run; then FIRST runs the rest, and whatever was sent again.
    process_task(reduces[first][0], pipeline.deps)
    held = held_by(list_item(pipeline, "shared"), first)
    assert held, "the first job holds the shard its task wrote"
    for task in reduces[second]:
        process_task(task, pipeline.deps)
    sent_again = [task for task in pipeline.take() if task.job_id == second]
    assert sent_again, "a task on a shard the other job held came back"
    for task in reduces[first][1:] + sent_again:
        process_task(task, pipeline.deps)
    pipeline.drain()

    a, b = pipeline.job(first), pipeline.job(second)
    assert (a["status"], b["status"]) == ("completed", "completed")
    creators = stored_by_creator(pipeline, "shared")
    assert creators == {old: 100, first: a["counts"]["created"], second: b["counts"]["created"]}
    # 450 phones in all, 100 of them in the list before: 350 created, each by one job.
    assert a["counts"]["created"] + b["counts"]["created"] == 350
    # Found existing: skipped, or with update, updated or (the same values again) unchanged.
    for job in (a, b):
        found = job["counts"]["updated"] + job["counts"]["unchanged"] + job["counts"]["skipped_existing"]
        assert job["counts"]["created"] + found == 300
    for job in (a, b):
        assert_adds_up(job["counts"])
    assert pipeline.deps.lists.total_contacts("local", "shared") == 450 == sum(creators.values())
    assert max(a["total_contacts"], b["total_contacts"]) == 450
    item = list_item(pipeline, "shared")
    assert held_by(item, first) == held_by(item, second) == [], "each job let go of its shards"


def test_a_job_lets_go_of_a_shard_once_no_task_of_its_phase_needs_it(pipeline):
    job_id = pipeline.start(FIRST, list_id="let-go")
    (reduces,) = mapped(pipeline, job_id).values()
    shards_of = {task.number: set(_task_shards(pipeline, job_id, task.number)) for task in reduces}
    first = reduces[0]
    process_task(first, pipeline.deps)
    others = set().union(*(shards_of[t.number] for t in reduces[1:]))
    expected_held = sorted(shards_of[first.number] & others)
    assert held_by(list_item(pipeline, "let-go"), job_id) == expected_held
    for task in reduces[1:]:
        process_task(task, pipeline.deps)
    pipeline.drain()
    assert pipeline.job(job_id)["status"] == "completed"
    assert held_by(list_item(pipeline, "let-go"), job_id) == []


@pytest.mark.parametrize("stale_reads", [1, 2], ids=["ended-before-its-leases", "ended-while-it-read"])
def test_a_late_duplicate_whose_job_ends_under_it_lets_go_of_its_shards_and_stops(pipeline, monkeypatch, stale_reads):
    # The duplicate read the job before it ended: once (it then finds the job ended once it holds
    # its leases), or twice (it reads the runs too, which went with the job's work area).
    job_id = pipeline.start(FIRST, list_id="late")
    reduces = mapped(pipeline, job_id)[job_id]
    running = pipeline.job(job_id)
    for task in reduces:
        process_task(task, pipeline.deps)
    pipeline.drain()
    ended = pipeline.job(job_id)
    assert (ended["status"], held_by(list_item(pipeline, "late"), job_id)) == ("completed", [])
    reads = {"n": 0}
    real_get = pipeline.deps.jobs.get

    def get(account_id: str, wanted: str) -> Any:
        reads["n"] += 1
        return running if wanted == job_id and reads["n"] <= stale_reads else real_get(account_id, wanted)

    monkeypatch.setattr(pipeline.deps.jobs, "get", get)
    monkeypatch.setattr(pipeline.deps.tasks, "get", lambda *key: None)  # as if not recorded yet when read
    assert process_task(reduces[-1], pipeline.deps) is None
    assert held_by(list_item(pipeline, "late"), job_id) == [], "it let go of what it took again"
    assert pipeline.job(job_id)["counts"] == ended["counts"]


def test_a_lease_is_renewed_by_its_holder_and_lost_once_another_job_took_it(pipeline):
    from contacts_import.store.leases import LeaseLost

    leases, shards = pipeline.deps.leases, [0, 1, 2]
    leases.acquire("local", "renewed", "imp_first", shards, now=time.time(), hold_seconds=120)
    leases.renew("local", "renewed", "imp_first", shards, now=time.time(), hold_seconds=120)
    until = float(list_item(pipeline, "renewed")["lease_000_until"])
    assert until > time.time() + 100
    # It runs out (its holder stopped renewing), and another job takes one of the shards.
    leases.renew("local", "renewed", "imp_first", shards, now=time.time() - 200, hold_seconds=60)
    leases.acquire("local", "renewed", "imp_second", [1], now=time.time(), hold_seconds=120)
    with pytest.raises(LeaseLost):
        leases.renew("local", "renewed", "imp_first", shards, now=time.time(), hold_seconds=120)
    assert held_by(list_item(pipeline, "renewed"), "imp_second") == [1]


def _task_shards(pipeline: Pipeline, job_id: str, number: int) -> list[int]:
    lo, hi = pipeline.job(job_id)["ranges"][number]
    return [span.shard for span in shard_spans(lo, hi, SHARDS)]


@pytest.mark.parametrize("ending", ["failed part-way", "cancelled", "stalled"])
def test_a_job_that_does_not_complete_lets_go_of_its_shards_with_its_end(pipeline, ending):
    job_id = pipeline.start(MIXED_ENCODINGS if ending == "failed part-way" else FIRST, list_id="ends")
    reduces = mapped(pipeline, job_id)[job_id]
    process_task(reduces[0], pipeline.deps)
    assert held_by(list_item(pipeline, "ends"), job_id), "it holds a shard while it runs"
    if ending == "cancelled":
        pipeline.deps.jobs.cancel("local", job_id, now=utc_now())
    if ending == "stalled":
        report = sweep(pipeline.deps, resend_after_minutes=35, stalled_after_minutes=60, now=_later(61))
        assert report.stalled == 1  # its other reduce tasks were lost
    else:
        for task in reduces[1:]:
            process_task(task, pipeline.deps)
        pipeline.drain()
    job = pipeline.job(job_id)
    expected = {"failed part-way": "failed", "cancelled": "cancelled", "stalled": "failed"}[ending]
    assert (job["status"], job["ended"]) == (expected, True)
    assert held_by(list_item(pipeline, "ends"), job_id) == []


def _later(minutes: int):
    from datetime import UTC, datetime, timedelta

    return datetime.now(UTC) + timedelta(minutes=minutes)


def test_a_dry_run_takes_no_lease(pipeline):
    job_id = pipeline.start(FIRST, list_id="dry", dry_run="true")
    for task in mapped(pipeline, job_id)[job_id]:
        process_task(task, pipeline.deps)
        assert held_by(list_item(pipeline, "dry"), job_id) == []
    pipeline.drain()
    assert pipeline.job(job_id)["counts"]["created"] == 300


def test_a_shard_held_by_a_job_that_died_is_taken_once_its_lease_runs_out(pipeline, monkeypatch):
    job_id = pipeline.start(FIRST, list_id="died")
    reduces = mapped(pipeline, job_id)[job_id]
    everything = range(SHARDS)
    pipeline.deps.leases.acquire("local", "died", "imp_gone", everything, now=time.time(), hold_seconds=600)
    for task in reduces:
        process_task(task, pipeline.deps)  # every shard held: every task is sent again
    assert len(pipeline.take()) == len(reduces)
    assert pipeline.job(job_id)["counts"]["created"] == 0
    in_eleven_minutes = time.time() + 660
    monkeypatch.setattr("contacts_import.service.process_chunk.time.time", lambda: in_eleven_minutes)
    for task in reduces:
        process_task(task, pipeline.deps)
    pipeline.drain()
    job = pipeline.job(job_id)
    assert (job["status"], job["counts"]["created"]) == ("completed", 300)
    assert held_by(list_item(pipeline, "died"), "imp_gone") == []


def counting_reads(monkeypatch) -> list[int]:
    """How many contact keys the contacts store asks DynamoDB for."""
    asked: list[int] = []
    original = contacts_module.batch_get

    def batch_get(client, table, keys, *args, **kwargs):
        asked.append(len(keys))
        return original(client, table, keys, *args, **kwargs)

    monkeypatch.setattr(contacts_module, "batch_get", batch_get)
    return asked


def test_an_import_into_a_new_list_reads_no_contact_and_the_next_one_reads_them_all(pipeline, monkeypatch):
    asked = counting_reads(monkeypatch)
    first = imported(pipeline, FIRST, list_id="fresh")
    assert pipeline.job(first)["counts"]["created"] == 300
    assert sum(asked) == 0, "only this job ever wrote the list's shards: nothing to look up"
    second = imported(pipeline, SECOND, list_id="fresh")
    counts = pipeline.job(second)["counts"]
    assert (counts["created"], counts["skipped_existing"]) == (150, 150)
    assert sum(asked) == 300, "another job wrote these shards: every phone is looked up"
    third = imported(pipeline, FIRST, list_id="fresh", on_existing="update")
    # The same rows again: every phone looked up, each found as it is, so none written.
    assert (pipeline.job(third)["counts"]["unchanged"], pipeline.job(third)["counts"]["updated"]) == (300, 0)


def test_a_new_list_is_spread_over_its_shards_and_read_by_phone_and_by_page(pipeline):
    job_id = imported(pipeline, FIRST, list_id="spread")
    assert pipeline.job(job_id)["shards"] == SHARDS == pipeline.deps.lists.shards("local", "spread")
    table = pipeline.deps.dynamodb.Table(pipeline.deps.settings.contacts_table)
    keys: dict[str, int] = {}
    for shard in range(SHARDS):
        key = partition_key("local", "spread", shard, SHARDS)
        keys[key] = table.query(KeyConditionExpression="list_key = :k", ExpressionAttributeValues={":k": key})["Count"]
    assert sorted(keys) == [f"local#spread#{shard:03d}" for shard in range(SHARDS)]
    assert all(count > 40 for count in keys.values()) and sum(keys.values()) == 300
    store = pipeline.store("spread")
    for n in range(0, 300, 37):
        phone = f"+1212555{n:04d}"
        assert store.get(phone)["name"] == f"First {n}"
        assert store.partition_key(phone) == partition_key("local", "spread", shard_of(phone, SHARDS), SHARDS)
    seen, cursor, pages = [], None, 0
    while True:
        page, cursor = store.page(7, cursor)
        seen += [contact["phone"] for contact in page]
        pages += 1
        if cursor is None:
            break
    assert sorted(seen) == sorted(f"+1212555{n:04d}" for n in range(300)) and len(seen) == 300
    assert pages >= 300 // 7


def test_a_list_made_before_shards_is_read_and_written_where_its_contacts_are(pipeline):
    # A list as the service stored it before shards: one partition key, a size, no shards.
    legacy = pipeline.deps.contacts("local", "legacy", shards=LEGACY)
    legacy.write(
        [
            {"phone": f"+1212555{n:04d}", "name": f"Old {n}", "created_job_id": "imp_old", "import_job_id": "imp_old"}
            for n in range(100, 200)
        ]
    )
    pipeline.deps.dynamodb.Table(pipeline.deps.settings.lists_table).put_item(
        Item={"account_id": "local", "list_id": "legacy", "total_contacts": 100}
    )
    job_id = imported(pipeline, FIRST, list_id="legacy", on_existing="update")
    job = pipeline.job(job_id)
    assert job["shards"] == LEGACY == pipeline.deps.lists.shards("local", "legacy")
    assert (job["counts"]["created"], job["counts"]["updated"]) == (200, 100)
    assert job["total_contacts"] == 300 == pipeline.deps.lists.total_contacts("local", "legacy")
    table = pipeline.deps.dynamodb.Table(pipeline.deps.settings.contacts_table)
    everything = table.query(KeyConditionExpression="list_key = :k", ExpressionAttributeValues={":k": "local#legacy"})
    assert everything["Count"] == 300, "every contact in the list's one partition, the old ones updated in place"
    assert pipeline.store("legacy").get("+12125550150")["name"] == "First 150"


def test_tasks_of_one_job_share_its_shards(pipeline):
    job_id = pipeline.start(FIRST, list_id="together")
    reduces = mapped(pipeline, job_id)[job_id]
    for task in reduces:  # every task of the job, one after another, none sent again
        process_task(task, pipeline.deps)
    assert [task for task in pipeline.take() if task.kind == REDUCE] == []
    pipeline.drain()
    assert pipeline.job(job_id)["counts"]["created"] == 300


def test_an_import_into_an_empty_list_costs_a_write_unit_a_contact_and_almost_no_reads(stack):
    pipeline = Pipeline(stack, chunk_bytes=64 * 1024, rows_per_range=2000, list_shards=SHARDS)
    data = phones_file(range(0, 6000), "Contact")
    job_id = imported(pipeline, data, list_id="costed")
    job = pipeline.job(job_id)
    created = job["counts"]["created"]
    consumed = job["consumed"]
    assert created == 6000
    assert consumed["write_units"] <= 1.05 * created, consumed
    assert consumed["read_units"] <= 0.05 * created, consumed
    assert consumed["s3_requests"] > 0
    # A second import into the list reads each of its contacts (and writes the changed ones).
    again = pipeline.job(imported(pipeline, data, list_id="costed", on_existing="update"))
    assert again["consumed"]["read_units"] >= 0.5 * created / 2, again["consumed"]  # 2 a unit, read consistent
