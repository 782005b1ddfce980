"""A dry run's plan (``GET /imports/{id}/plan``) and an import's change journal on DynamoDB Local:
every row planned once whatever the deliveries, before-images recorded before the contacts are
written, so that a worker dying in between leaves nothing unrecorded (docs/api.md, Preview)."""

from __future__ import annotations

import random
from typing import Any

import pytest

from contacts_import.service.process_chunk import process_task
from contacts_import.store.contacts import ContactStore
from contacts_import.store.task_queue import Task
from tests.integration.pipeline import Pipeline, WorkerDied, contacts_file
from tests.sample_events import api_event, body_of

FIRST = contacts_file(rows=150, seed=51)
SECOND = contacts_file(rows=150, seed=52)  # the same pool of phones: updates, new rows, duplicates


@pytest.fixture
def pipeline(stack) -> Pipeline:
    return Pipeline(stack, chunk_bytes=1500, rows_per_range=30, list_shards=4)


def plan(pipeline: Pipeline, job_id: str, **query: str) -> tuple[int, dict[str, Any]]:
    answer = pipeline.stack.invoke(
        "ImportStatusFunction", api_event("api_get_import_plan.json", path_parameters={"job_id": job_id}, query=query)
    )
    return answer["statusCode"], body_of(answer)


def whole_plan(pipeline: Pipeline, job_id: str, limit: str = "17", **query: str) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    cursor = None
    while True:
        status, page = plan(pipeline, job_id, limit=limit, **({"cursor": cursor} if cursor else {}), **query)
        assert status == 200, page
        rows.extend(page["data"])
        cursor = page["pagination"]["next_cursor"]
        if not cursor:
            return rows


def test_a_dry_run_plans_every_row_once_and_changes_nothing(pipeline) -> None:
    first = pipeline.start(FIRST, list_id="planned")
    pipeline.drain()
    before = pipeline.stored("planned")
    dry = pipeline.start(SECOND, list_id="planned", on_existing="update", dry_run="true")
    pipeline.drain(rng=random.Random(7), repeat=True)
    assert pipeline.stored("planned") == before

    counts = pipeline.job(dry)["counts"]
    rows = whole_plan(pipeline, dry)
    assert [row["row"] for row in rows] == sorted({row["row"] for row in rows})  # in row order, each once
    assert len(rows) == counts["total_rows"]
    for outcome in ("created", "updated", "unchanged", "skipped_duplicates", "invalid"):
        assert sum(1 for row in rows if row["outcome"] == outcome) == counts[outcome], outcome
    for row in rows:
        if row["outcome"] == "updated":
            assert row["changes"], row
            for field, change in row["changes"].items():
                assert before[row["phone"]].get(field) == change["from"] or field.startswith("custom:")
        elif row["outcome"] == "invalid":
            assert row["code"] and row["phone"] is None
        else:
            assert row["changes"] is None
    updated = whole_plan(pipeline, dry, limit="5", outcome="updated")
    assert updated == [row for row in rows if row["outcome"] == "updated"]
    invalid = whole_plan(pipeline, dry, outcome="invalid")
    assert invalid == [row for row in rows if row["outcome"] == "invalid"]

    status, refused = plan(pipeline, first)
    assert (status, refused["error"]["code"]) == (409, "not_a_dry_run")


def test_an_update_records_each_before_image_before_writing_even_if_the_worker_dies(pipeline, monkeypatch) -> None:
    pipeline.start(FIRST, list_id="journal")
    pipeline.drain()
    before = pipeline.stored("journal")
    job_id = pipeline.start(SECOND, list_id="journal", on_existing="update")
    original = ContactStore.write
    died = {"times": 0}

    def write_then_die(self, items):  # the worker dies as its writes go out: half of them sent
        if died["times"] < 3:
            died["times"] += 1
            original(self, items[: len(items) // 2])
            raise WorkerDied("between the journal and the contacts")
        return original(self, items)

    monkeypatch.setattr(ContactStore, "write", write_then_die)

    def deliver(task: Task) -> None:
        while True:
            try:
                process_task(task, pipeline.deps)
                break
            except WorkerDied:
                continue  # the message comes back
        process_task(task, pipeline.deps)  # and a duplicate delivery

    pipeline.drain(run=deliver)
    assert died["times"] == 3
    job = pipeline.job(job_id)
    assert job["status"] == "completed"
    after = pipeline.stored("journal")
    updated = {phone for phone, item in after.items() if item["import_job_id"] == job_id and phone in before}
    assert len(updated) == job["counts"]["updated"] > 0
    entries = list(pipeline.deps.journal("local", job_id).all())
    assert {entry["phone"] for entry in entries} == updated
    for entry in entries:
        assert entry["outcome"] == "updated"
        assert entry["before"] == before[entry["phone"]]  # as it was before this job, never a half-written state
        for field, change in entry["changes"].items():
            if not field.startswith("custom:") and field != "tags":
                assert after[entry["phone"]].get(field) == change["to"]
