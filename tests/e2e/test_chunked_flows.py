"""A file in many chunks through the real local stack: chunk workers in parallel processes, fed by
the chunk queue's event source, end with the counts the offline validator gives; re-delivering the
finished job's S3 event changes nothing; the job's webhook reaches a receiver on 127.0.0.1, signed.

The stack here cuts files into 64 KiB chunks and 500-row phone ranges (template parameters), so
that a file of a few thousand rows is many tasks."""

from __future__ import annotations

import json
import random
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest

from benchmarks.generate import sample
from benchmarks.stack import kill_busy_chunk_workers
from contacts_import.service.notifications import SIGNATURE_HEADER, verify_signature
from local_stack.dynamodb_local import DynamoDbLocal
from tests.e2e.jobs import WebhookReceiver, webhook_secret
from tests.e2e.stack import ROOT, LocalStackHandle, console_script, running_stack

ROWS = 4000
PIPELINE_TIMEOUT_SECONDS = 300


@pytest.fixture(scope="module")
def chunky_stack(tmp_path_factory: pytest.TempPathFactory, dynamodb_local: DynamoDbLocal) -> Iterator[LocalStackHandle]:
    # Small chunks and ranges, so that a file of a few thousand rows is many tasks of each kind.
    with running_stack(
        tmp_path_factory.mktemp("chunky-stack"),
        ("ChunkBytes=65536", "RowsPerRange=500"),
        dynamodb_endpoint=dynamodb_local.endpoint,
        stack_name="contacts-import-chunky",
    ) as stack:
        yield stack


def finished(stack: LocalStackHandle, job_id: str) -> dict[str, Any]:
    session = stack.session()
    give_up_at = time.monotonic() + PIPELINE_TIMEOUT_SECONDS
    while time.monotonic() < give_up_at:
        job = session.get(stack.url(f"/imports/{job_id}"), timeout=30).json()["data"]
        if job["status"] in ("completed", "failed", "cancelled"):
            return job
        time.sleep(0.5)
    pytest.fail(f"job {job_id} did not end within {PIPELINE_TIMEOUT_SECONDS} s:\n{stack.log_tail()}")


def stored_job(stack: LocalStackHandle, job_id: str) -> dict[str, Any]:
    table = boto3.resource(
        "dynamodb",
        endpoint_url=stack.aws_endpoint,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    ).Table(stack.template.tables["JobsTable"].name)
    return table.get_item(Key={"account_id": stack.account_id, "job_id": job_id}, ConsistentRead=True)["Item"]


def post(stack: LocalStackHandle, data: bytes, **query: str) -> str:
    answer = stack.session().post(
        stack.url("/imports"), params=query, data=data, headers={"Content-Type": "text/csv"}, timeout=60
    )
    assert answer.status_code == 202, answer.text
    return str(answer.json()["data"]["job_id"])


def test_a_file_in_many_chunks_counts_like_the_offline_validator(chunky_stack, tmp_path):
    data = sample(ROWS, seed=66)
    path = tmp_path / "many-chunks.csv"
    path.write_bytes(data)
    list_id = f"chunks-{uuid.uuid4().hex[:8]}"
    job = finished(chunky_stack, post(chunky_stack, data, list_id=list_id))
    validated = subprocess.run(
        [str(Path(sys.executable).parent / "contacts-import"), "validate", str(path), "--json"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert job["status"] == "completed"
    assert job["counts"] == json.loads(validated.stdout)["counts"]
    stored = stored_job(chunky_stack, job["job_id"])
    assert int(stored["map_tasks"]) > 3 and len(stored["ranges"]) > 3
    stats = chunky_stack.session().get(chunky_stack.url("/_local/stats"), timeout=30).json()
    assert stats["functions"]["ProcessChunkFunction"]["errors"] == 0

    # Re-delivering the S3 event of the finished job (as `make invoke` would) changes nothing.
    head = chunky_stack.client("s3").head_object(Bucket=chunky_stack.bucket, Key=stored["object_key"])
    event = json.loads((ROOT / "events" / "s3_put_upload.json").read_text())
    record = event["Records"][0]
    record["s3"]["bucket"]["name"] = chunky_stack.bucket
    record["s3"]["object"].update(
        {"key": stored["object_key"], "size": head["ContentLength"], "eTag": head["ETag"].strip('"')}
    )
    event_path = tmp_path / "again.json"
    event_path.write_text(json.dumps(event))
    assert invoke(chunky_stack, "ProcessImportFunction", event_path) == {"job_ids": [job["job_id"]]}
    assert finished(chunky_stack, job["job_id"]) == job
    assert stored_job(chunky_stack, job["job_id"])["counts"] == stored["counts"]


def chunk_worker_errors(stack: LocalStackHandle) -> int:
    stats = stack.session().get(stack.url("/_local/stats"), timeout=30).json()
    return int(stats["functions"]["ProcessChunkFunction"]["errors"])


def test_chunk_workers_killed_mid_task_cost_the_tasks_visibility_not_the_queues(local_stack, tmp_path):
    # The chunk queue's visibility timeout is the worker's 300 s; a task's own, kept by its
    # heartbeat, is 60 s. Two tasks whose workers die come back within about a minute, on fresh
    # workers, and the job ends with the validator's counts: well inside the 300 s a death cost
    # before the heartbeat (the bound is generous, for a busy machine). 40,000 rows are a map task
    # and four reduce tasks of several seconds each at the template's chunk and range sizes.
    data = sample(40_000, seed=67)
    path = tmp_path / "killed.csv"
    path.write_bytes(data)
    errors_before = chunk_worker_errors(local_stack)
    job_id = post(local_stack, data, list_id=f"killed-{uuid.uuid4().hex[:8]}")
    session, killed = local_stack.session(), []
    kill_busy_chunk_workers(lambda: session.get(local_stack.url("/_local/stats"), timeout=30).json(), 2, killed)
    assert len(killed) == 2, f"found no busy chunk worker to kill; killed {killed}"
    last_kill = time.monotonic()
    job = finished(local_stack, job_id)
    recovered_in = time.monotonic() - last_kill
    validated = subprocess.run(
        [str(Path(sys.executable).parent / "contacts-import"), "validate", str(path), "--json"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert job["status"] == "completed", job
    assert job["counts"] == json.loads(validated.stdout)["counts"]
    assert chunk_worker_errors(local_stack) - errors_before >= 2, "both kills hit a running task"
    assert recovered_in < 200, f"{recovered_in:.0f} s after killing {killed}"


def test_the_webhook_reaches_a_receiver_on_this_machine_signed(local_stack):
    secret = webhook_secret(local_stack, local_stack.account_id)
    with WebhookReceiver() as receiver:
        job_id = post(
            local_stack, sample(300, seed=3), list_id=f"hook-{uuid.uuid4().hex[:8]}", webhook_url=receiver.url
        )
        job = finished(local_stack, job_id)
        ((headers, body),) = receiver.wait_for(1)
    assert verify_signature(secret, headers[SIGNATURE_HEADER.lower()], body, now=time.time())
    document = json.loads(body)
    assert (document["event"], document["data"]["job_id"]) == ("import.completed", job_id)
    assert document["data"]["counts"] == job["counts"]


def test_the_sweeper_runs_against_the_local_stack(chunky_stack):
    swept = invoke(chunky_stack, "SweepJobsFunction", ROOT / "events" / "scheduled_event.json")
    assert swept == {"announced": 0, "resent": 0, "stalled": 0}  # nothing is quiet yet


def invoke(stack: LocalStackHandle, function: str, event_path: Path) -> Any:
    """What ``make invoke FUNCTION=... EVENT=...`` prints for one run against the stack, decoded."""
    done = subprocess.run(
        [
            *(console_script(), "invoke", "--function", function, "--event", str(event_path)),
            *("--aws-endpoint", stack.aws_endpoint, "--stack-name", stack.template.account.stack_name),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=ROOT,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout)


def overlapping_file(seed: int, rows: int = 2500) -> bytes:
    """Phones from one pool of 3,000 (so three files share most of theirs, and each repeats some)."""
    rng = random.Random(seed)
    lines = ["phone,name"] + [f"+1212555{rng.randrange(3000):04d},Person {seed}-{n}" for n in range(rows)]
    return ("\n".join(lines) + "\n").encode()


def test_three_imports_into_one_list_at_once_count_each_contact_once(chunky_stack, tmp_path):
    """What wedged the stack on moto (three imports into one list): every job completes, each counts
    its own rows as the offline validator does, and together they create each contact once."""
    list_id = f"three-{uuid.uuid4().hex[:8]}"
    files = [overlapping_file(seed) for seed in (1, 2, 3)]
    job_ids = [post(chunky_stack, data, list_id=list_id) for data in files]  # all three at once
    jobs = [finished(chunky_stack, job_id) for job_id in job_ids]
    assert [job["status"] for job in jobs] == ["completed"] * 3
    phones: set[str] = set()
    for job, data in zip(jobs, files, strict=True):
        path = tmp_path / f"{job['job_id']}.csv"
        path.write_bytes(data)
        validated = subprocess.run(
            [str(Path(sys.executable).parent / "contacts-import"), "validate", str(path), "--json"],
            capture_output=True,
            text=True,
            timeout=300,
        )
        alone = json.loads(validated.stdout)["counts"]
        counts = job["counts"]
        assert counts["total_rows"] == alone["total_rows"] == 2500
        assert counts["skipped_duplicates"] == alone["skipped_duplicates"]
        assert counts["created"] + counts["skipped_existing"] == alone["created"]
        phones |= {line.split(b",")[0].decode() for line in data.splitlines()[1:]}
    listed = chunky_stack.session().get(chunky_stack.url(f"/lists/{list_id}"), timeout=60).json()["data"]
    assert listed["total_contacts"] == len(phones) == sum(job["counts"]["created"] for job in jobs)
    assert max(job["total_contacts"] for job in jobs) == len(phones)
