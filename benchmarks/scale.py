"""A 100,000-row file through the local stack end to end, against the speed at which its DynamoDB
Local takes batch writes (from as many parallel clients as give the most), both measured in one run.

    .venv/bin/python -m benchmarks.scale [ROWS]

Starts the local stack on free ports (as `make local` would, default flags), uploads the generated
file (benchmarks.generate, seeded: duplicates, invalid rows, quoted line breaks) through a presigned
upload, and times it until the job has completed; then batch-writes contact-shaped items into the
same DynamoDB Local from 1, 2, 4 and 8 clients. Prints both, their ratio, and how the job was cut up.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path
from typing import Any

import boto3
import requests

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
sys.path[:0] = [str(ROOT)]

from benchmarks.generate import write_file  # noqa: E402
from benchmarks.stack import batch_write_yardstick, local_stack  # noqa: E402


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


def main() -> None:
    rows = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    path = write_file(ROOT / "bench-data" / f"scale-{rows}.csv", rows)
    with local_stack(ROOT / "bench-data" / "scale-local-stack.log") as stack:
        job, seconds, upload_seconds = upload_and_wait(stack.api, path)
        jobs = boto3.resource(
            "dynamodb",
            endpoint_url=stack.aws_endpoint,
            region_name="us-east-1",
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        ).Table(stack.table_named("JobsTable"))
        stored = jobs.get_item(Key={"account_id": "local", "job_id": job["job_id"]})["Item"]
        yardstick = batch_write_yardstick(stack)
        stats = requests.get(f"{stack.api}/_local/stats", timeout=30).json()
    e2e, rate = rows / seconds, yardstick.items_per_s
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
        "batch_write_clients": yardstick.best_clients,
        "batch_write_items_per_s_by_clients": {n: round(r) for n, r in yardstick.by_clients.items()},
        "batch_write_items_per_s_through_aws_endpoint": round(yardstick.through_aws_endpoint),
        "ratio": round(e2e / rate, 2),
        "chunk_worker_invocations": stats["functions"].get("ProcessChunkFunction", {}).get("invocations"),
        "load_average": os.getloadavg()[0],
    }
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
