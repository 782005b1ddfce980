"""Hostile files through the deployed path (processor and chunk workers against moto): a workbook
bomb dropped into the drop folder fails its job at once with its code, a line without end is one
row error between good rows, and a file of many bad rows stores no more row errors than the cap."""

from __future__ import annotations

import time
from urllib.parse import quote_plus

import pytest

from benchmarks.hostile_inputs import endless_line, shared_strings_bomb, sparse_sheet
from contacts_import.clock import utc_now
from contacts_import.service.process_import import StoredObject, process_object
from contacts_import.service.reports import status_document
from tests.integration.pipeline import Pipeline

WRITER = "AWS:AIDAHOSTILETEST"


def drop(pipeline: Pipeline, name: str, data: bytes) -> str:
    """Put ``data`` into account local's drop folder as an allowed writer would; the job's id."""
    pipeline.deps.accounts.allow_drop_writer("local", WRITER)
    key = f"drop/local/hostile/{name}"
    s3 = pipeline.stack.s3()
    s3.put_object(Bucket=pipeline.stack.bucket, Key=key, Body=data)
    head = s3.head_object(Bucket=pipeline.stack.bucket, Key=key)
    stored = StoredObject(
        pipeline.stack.bucket, quote_plus(key), head["ContentLength"], head["ETag"], "01", utc_now(), principal=WRITER
    )
    job_id = process_object(stored, pipeline.deps)
    assert job_id is not None
    pipeline.drain()
    return job_id


@pytest.fixture
def pipeline(stack) -> Pipeline:
    return Pipeline(stack, chunk_bytes=64 * 1024)


def test_a_dropped_workbook_bomb_fails_its_job_at_once(pipeline):
    started = time.monotonic()
    job = pipeline.job(drop(pipeline, "bomb.xlsx", shared_strings_bomb()))
    assert (job["status"], job["failure"]["code"]) == ("failed", "workbook_too_large")
    assert time.monotonic() - started < 60  # generous: it is refused before anything is unpacked


def test_a_dropped_sheet_that_claims_a_million_rows_imports_its_rows(pipeline):
    job = pipeline.job(drop(pipeline, "sparse.xlsx", sparse_sheet()))
    assert (job["status"], job["counts"]["total_rows"], job["counts"]["created"]) == ("completed", 1, 1)
    assert "+12127365000" in pipeline.contacts("hostile")


def test_a_line_without_end_is_one_row_error_between_good_rows(pipeline):
    job_id = drop(pipeline, "endless.csv", endless_line(2))
    job = pipeline.job(job_id)
    assert (job["status"], job["counts"]["invalid"], job["counts"]["created"]) == ("completed", 1, 1)
    errors, _ = pipeline.deps.row_errors.page("local", job_id, 10, None)
    assert [(e["row"], e["code"]) for e in errors] == [(2, "row_too_long")]


def test_the_row_errors_stored_are_capped_and_the_counts_stay_exact(stack):
    pipeline = Pipeline(stack, chunk_bytes=2048, max_row_errors_stored=20)
    bad_rows = b"".join(f"not-a-phone-{n},Row {n}\n".encode() for n in range(600))
    job_id = drop(pipeline, "bad.csv", b"phone,name\n" + bad_rows)
    job = pipeline.job(job_id)
    assert (job["status"], job["counts"]["invalid"], job["error_count"]) == ("completed", 600, 600)
    stored, cursor = [], None
    while True:
        page, cursor = pipeline.deps.row_errors.page("local", job_id, 100, cursor)
        stored += page
        if not cursor:
            break
    document = status_document(job, stored[:100])
    assert len(stored) <= 20 and document.errors_stored == len(stored) and document.errors_truncated
