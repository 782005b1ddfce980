"""Issue 6's measure: a 100,000-row file through the local stack end to end, against the speed at
which the same local DynamoDB endpoint takes batch writes, both measured in one run.

    .venv/bin/python -m benchmarks.scale [ROWS]

Starts the local stack on free ports (as `make local` would, default flags), uploads the generated
file (benchmarks.generate, seeded: duplicates, invalid rows, quoted line breaks) through a presigned
upload, and times it until the job has completed; then batch-writes as many contact-shaped items
from one client into the same endpoint. Prints both, their ratio, and how the job was cut up.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

import boto3
import requests

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
sys.path[:0] = [str(ROOT)]

from benchmarks.generate import write_file  # noqa: E402

BATCH_ITEMS = 20_000


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_healthy(url: str, process: subprocess.Popen[bytes]) -> None:
    give_up = time.monotonic() + 180
    while time.monotonic() < give_up:
        if process.poll() is not None:
            raise RuntimeError("the local stack exited before it was healthy")
        try:
            with urllib.request.urlopen(url, timeout=2) as answer:
                if answer.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.5)
    raise RuntimeError("the local stack was not healthy within 180 s")


def upload_and_wait(api: str, path: Path) -> tuple[dict[str, Any], float, float]:
    """The finished job, the seconds from the first request to its end, and the upload's share."""
    session = requests.Session()
    session.headers["Authorization"] = "Bearer local-dev-key"
    started = time.perf_counter()
    answer = session.post(
        f"{api}/imports/uploads",
        json={"file_name": path.name, "list_id": "scale", "phone_validation": "possible"},
        timeout=60,
    )
    answer.raise_for_status()
    data = answer.json()["data"]
    upload = data["upload"]
    with path.open("rb") as handle:
        sent = requests.post(upload["url"], data=upload["fields"], files={"file": (path.name, handle)}, timeout=600)
    sent.raise_for_status()
    uploaded = time.perf_counter()
    while True:
        job = session.get(f"{api}/imports/{data['job_id']}", timeout=60).json()["data"]
        if job["status"] in ("completed", "failed", "cancelled"):
            return job, time.perf_counter() - started, uploaded - started
        time.sleep(1.0)  # as a client would; a status read costs the stack a little CPU too


def batch_write_rate(endpoint: str, table: str, items: int = BATCH_ITEMS) -> float:
    client = boto3.client(
        "dynamodb",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    started = time.perf_counter()
    for start in range(0, items, 25):
        requests_ = [
            {
                "PutRequest": {
                    "Item": {
                        "list_key": {"S": "local#batch-write-yardstick"},
                        "phone": {"S": f"+1650{n:07d}"},
                        "account_id": {"S": "local"},
                        "list_id": {"S": "batch-write-yardstick"},
                        "name": {"S": f"Jane Doe {n}"},
                        "first_name": {"S": "Jane"},
                        "last_name": {"S": f"Doe {n}"},
                        "email": {"S": f"jane.doe{n}@example.com"},
                        "company": {"S": "Acme"},
                        "created_job_id": {"S": "imp_yardstick"},
                        "import_job_id": {"S": "imp_yardstick"},
                        "created_at": {"S": "2026-01-01T00:00:00.000Z"},
                        "updated_at": {"S": "2026-01-01T00:00:00.000Z"},
                    }
                }
            }
            for n in range(start, start + 25)
        ]
        pending: dict[str, Any] = {table: requests_}
        while pending:
            pending = client.batch_write_item(RequestItems=pending).get("UnprocessedItems") or {}
    return items / (time.perf_counter() - started)


def main() -> None:
    rows = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    path = write_file(ROOT / "bench-data" / f"scale-{rows}.csv", rows)
    api_port, aws_port = free_port(), free_port()
    log_path = ROOT / "bench-data" / "scale-local-stack.log"
    with log_path.open("w") as log:
        stack = subprocess.Popen(
            [str(BIN / "contacts-import-local"), "--api-port", str(api_port), "--aws-port", str(aws_port)],
            cwd=ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            env={**os.environ},
        )
        try:
            api, endpoint = f"http://127.0.0.1:{api_port}", f"http://127.0.0.1:{aws_port}"
            wait_healthy(f"{api}/health", stack)
            job, seconds, upload_seconds = upload_and_wait(api, path)
            dynamodb = boto3.resource(
                "dynamodb",
                endpoint_url=endpoint,
                region_name="us-east-1",
                aws_access_key_id="testing",
                aws_secret_access_key="testing",
            )
            contacts = next(t.name for t in dynamodb.tables.all() if t.name.endswith("ContactsTable"))
            jobs = next(t.name for t in dynamodb.tables.all() if t.name.endswith("JobsTable"))
            stored = dynamodb.Table(jobs).get_item(Key={"account_id": "local", "job_id": job["job_id"]})["Item"]
            rate = batch_write_rate(endpoint, contacts)
            stats = requests.get(f"{api}/_local/stats", timeout=30).json()
        finally:
            os.killpg(stack.pid, signal.SIGINT)
            try:
                stack.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(stack.pid, signal.SIGKILL)
    e2e = rows / seconds
    report = {
        "rows": rows,
        "file_mb": round(path.stat().st_size / 1e6, 1),
        "status": job["status"],
        "counts": job["counts"],
        "chunks": int(stored.get("map_tasks", 0)),
        "ranges": len(stored.get("ranges") or []),
        "seconds_end_to_end": round(seconds, 1),
        "seconds_upload": round(upload_seconds, 1),
        "e2e_rows_per_s": round(e2e),
        "batch_write_items_per_s": round(rate),
        "ratio": round(e2e / rate, 2),
        "chunk_worker_invocations": stats["functions"].get("ProcessChunkFunction", {}).get("invocations"),
        "load_average": os.getloadavg()[0],
    }
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
