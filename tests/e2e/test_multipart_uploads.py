"""Resumable multipart uploads on the local stack: the presigned part URLs against moto's S3, and
the client killed part-way through an upload, resumed, and importing what `validate` counts.

The file is kept to three 8 MiB parts (the template's smallest part size): the 300 MB run of the
same steps is `make bench-multipart` (benchmarks/multipart_upload.py), too heavy for the test run.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import requests

from tests.e2e.jobs import new_list, wait_for_end
from tests.e2e.stack import LocalStackHandle

MIB = 1024 * 1024
CLI = str(Path(sys.executable).parent / "contacts-import")


def write_contacts(path: Path, size: int) -> None:
    """A CSV of about ``size`` bytes: valid and invalid numbers, and a long notes column so that
    the file is big in bytes but quick to import."""
    notes = "n" * 900
    with path.open("w", encoding="utf-8") as out:
        out.write("phone,name,notes\n")
        row = 0
        while out.tell() < size:
            phone = f"+1212555{row % 10_000:04d}" if row % 50 else "not a phone"
            out.write(f"{phone},Person {row},{notes}\n")
            row += 1


def test_part_urls_take_parts_in_any_order_and_complete_into_a_job(local_stack: LocalStackHandle, tmp_path):
    api = local_stack.session()
    body = b"phone,name\n+12125550100,Ann\n+12125550101,Bob\n"
    answer = api.post(
        local_stack.url("/imports/uploads"),
        json={"file_name": "small.csv", "multipart": True, "size": len(body), "list_id": new_list("mp")},
    )
    assert answer.status_code == 201, answer.text
    data = answer.json()["data"]
    (part,) = data["upload"]["parts"]
    put = requests.put(part["url"], data=body, timeout=60)  # no API key: the URL is the grant
    assert put.status_code == 200, put.text
    held = api.get(local_stack.url(f"/imports/{data['job_id']}/upload")).json()["data"]["parts"]
    assert held == [{"part_number": 1, "etag": put.headers["ETag"], "size": len(body)}]
    done = api.post(
        local_stack.url(f"/imports/{data['job_id']}/upload/complete"),
        json={"parts": [{"part_number": 1, "etag": put.headers["ETag"]}]},
    )
    assert done.status_code == 202, done.text
    final = wait_for_end(local_stack, data["job_id"])
    assert final["status"] == "completed" and final["counts"]["created"] == 2


def test_a_killed_client_resumes_sending_only_the_missing_parts(local_stack: LocalStackHandle, tmp_path):
    path = tmp_path / "big export.csv"
    write_contacts(path, 3 * 8 * MIB - MIB)  # three parts, the last a short one
    environment = {
        **os.environ,
        "CONTACTS_API_URL": local_stack.api_url,
        "CONTACTS_API_KEY": local_stack.api_key,
        "CONTACTS_MULTIPART_THRESHOLD": str(8 * MIB),
        "XDG_CACHE_HOME": str(tmp_path / "cache"),
    }
    records = tmp_path / "cache" / "contacts-import" / "uploads"
    list_id = new_list("resume")
    # One part at a time, 4 MiB a second: a few seconds in all, so it is killed part-way.
    first = subprocess.Popen(
        [CLI, "upload", str(path), "--list", list_id, "--parallel", "1", "--limit-rate", "4M"],
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    api = local_stack.session()
    held: list[dict] = []
    job_id = None
    try:
        deadline = time.monotonic() + 300  # a guard against a hang, not a timed assertion
        while time.monotonic() < deadline and first.poll() is None:
            found = sorted(records.glob("imp_*.json")) if records.exists() else []
            if found:
                job_id = found[0].stem
                state = api.get(local_stack.url(f"/imports/{job_id}/upload"))
                if state.status_code == 200:
                    held = [p for p in state.json()["data"]["parts"] if "etag" in p]
                    if held:
                        first.send_signal(signal.SIGKILL)
                        break
            time.sleep(0.05)
    finally:
        if first.poll() is None:
            first.kill()
        first.wait(60)
    assert job_id is not None and held, first.stderr.read().decode()[-2000:] if first.stderr else ""
    assert first.returncode == -signal.SIGKILL
    state = api.get(local_stack.url(f"/imports/{job_id}/upload")).json()["data"]
    held = [p for p in state["parts"] if "etag" in p]
    assert 1 <= len(held) < 3, state  # part-way: some parts there, not all
    assert api.get(local_stack.url(f"/imports/{job_id}")).json()["data"]["status"] == "awaiting_upload"

    # The record names the job: --resume without JOB_ID finds it.
    resumed = subprocess.run(
        [CLI, "upload", str(path), "--resume", "--wait", "--json"],
        env=environment,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    assert f"S3 holds {len(held)} of 3 parts" in resumed.stderr
    job = json.loads(resumed.stdout)
    assert job["job_id"] == job_id and job["status"] == "completed"
    assert not list(records.glob("imp_*.json"))  # the record is forgotten once completed

    validated = subprocess.run(
        [CLI, "validate", str(path), "--json"], env=environment, capture_output=True, text=True, timeout=900
    )
    assert validated.returncode == 0, validated.stderr[-2000:]
    report = json.loads(validated.stdout)
    assert report["counts"] == job["counts"]
    assert report["error_count"] == job["error_count"] > 0
    assert job["counts"]["total_rows"] > 20_000 and job["counts"]["created"] > 5_000
