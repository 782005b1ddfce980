"""A 100,000-row file through the local stack end to end, against the speed at which its DynamoDB
Local takes batch writes (from as many parallel clients as give the most), both measured in one run.

    .venv/bin/python -m benchmarks.scale [ROWS]
    .venv/bin/python -m benchmarks.scale --throttle 100:1000 [--shards 1,2,4,8,16] [ROWS]

Starts the local stack on free ports (as `make local` would, default flags), uploads the generated
file (benchmarks.generate, seeded: duplicates, invalid rows, quoted line breaks) through a presigned
upload, and times it until the job has completed; then batch-writes contact-shaped items into the
same DynamoDB Local from 1, 2, 4 and 8 clients. Prints both, their ratio, how the job was cut up,
how its list's contacts spread over its shards and what it consumed.

With ``--throttle PARTITION:TABLE`` it sends a clean file (10,000 distinct phones by default)
through stacks whose DynamoDB takes only that many writes a second a partition key and a table
(``--throttle-dynamodb``, a scaled-down AWS), once for each shard count: the speed-up shards buy
until the table's limit.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import requests

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
sys.path[:0] = [str(ROOT)]

from benchmarks.generate import write_file  # noqa: E402
from benchmarks.stack import RunningStack, batch_write_yardstick, kill_busy_chunk_workers, local_stack  # noqa: E402
from contacts_import.pipeline.shards import partition_key  # noqa: E402


def upload_and_wait(api: str, path: Path, list_id: str = "scale") -> tuple[dict[str, Any], float, float]:
    """The finished job, the seconds from the first request to its end, and the upload's share."""
    session = requests.Session()
    session.headers["Authorization"] = "Bearer local-dev-key"
    started = time.perf_counter()
    answer = session.post(
        f"{api}/imports/uploads",
        json={"file_name": path.name, "list_id": list_id, "phone_validation": "possible"},
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


def shard_counts(stack: RunningStack, list_id: str, shards: int) -> dict[str, int]:
    """Contacts under each partition key of the list: how its writes were spread."""
    table = stack.table("ContactsTable")
    counts: dict[str, int] = {}
    for shard in range(max(shards, 1)):
        key = partition_key("local", list_id, shard, shards)
        query: dict[str, Any] = {"KeyConditionExpression": "list_key = :k", "ExpressionAttributeValues": {":k": key}}
        counts[key] = 0
        while True:
            page = table.query(Select="COUNT", **query)
            counts[key] += page["Count"]
            if "LastEvaluatedKey" not in page:
                break
            query["ExclusiveStartKey"] = page["LastEvaluatedKey"]
    return counts


def clean_file(path: Path, rows: int) -> Path:
    """Distinct valid phones, nothing to refuse: every row is a contact to write."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as handle:
        handle.write("phone,name,email\n")
        for n in range(rows):
            handle.write(f"+1{2125550000 + n},Person {n},person{n}@example.com\n")
    return path


def throttled(rows: int, limits: str, shard_counts_to_try: list[int]) -> None:
    """The same clean file through stacks whose DynamoDB takes only ``limits`` (PARTITION:TABLE
    writes a second): how fast it goes in with each number of shards."""
    path = clean_file(ROOT / "bench-data" / f"clean-{rows}.csv", rows)
    results = []
    for shards in shard_counts_to_try:
        log = ROOT / "bench-data" / f"throttled-{shards}-local-stack.log"
        with local_stack(log, "--throttle-dynamodb", limits, "--parameter-overrides", f"ListShards={shards}") as stack:
            job, seconds, _ = upload_and_wait(stack.api, path)
            stats = requests.get(f"{stack.api}/_local/stats", timeout=30).json()
        results.append(
            {
                "shards": shards,
                "status": job["status"],
                "created": job["counts"]["created"],
                "seconds": round(seconds, 1),
                "rows_per_s": round(rows / seconds),
                "writes_refused_by_the_throttle": stats["dynamodb"]["throttled_writes"],
            }
        )
        print(json.dumps(results[-1]), flush=True)
    partition, _, table = limits.partition(":")
    print(
        json.dumps(
            {
                "rows": rows,
                "partition_writes_per_s": float(partition),
                "table_writes_per_s": float(table or "inf"),
                "runs": results,
                "load_average": os.getloadavg()[0],
            },
            indent=2,
        )
    )


def killed_workers(rows: int, kills: int) -> None:
    """The same file twice through one local stack: once undisturbed, once with ``kills`` chunk
    workers killed (SIGKILL) while they run a task; both jobs' times and counts, and validate's."""
    path = clean_file(ROOT / "bench-data" / f"killed-{rows}.csv", rows)
    validated = subprocess.run(
        [str(Path(sys.executable).parent / "contacts-import"), "validate", str(path), "--json"],
        capture_output=True,
        text=True,
        check=True,
    )
    with local_stack(ROOT / "bench-data" / "killed-local-stack.log") as stack:
        calm, calm_seconds, _ = upload_and_wait(stack.api, path, list_id="calm")
        killed: list[int] = []
        stats = lambda: requests.get(f"{stack.api}/_local/stats", timeout=30).json()  # noqa: E731
        killer = threading.Thread(target=kill_busy_chunk_workers, args=(stats, kills, killed), daemon=True)
        killer.start()
        hit, hit_seconds, _ = upload_and_wait(stack.api, path, list_id="killed")
        killer.join(timeout=1)
    report = {
        "rows": rows,
        "undisturbed": {"status": calm["status"], "seconds": round(calm_seconds, 1)},
        "with_workers_killed": {"status": hit["status"], "seconds": round(hit_seconds, 1), "killed_pids": killed},
        "seconds_lost": round(hit_seconds - calm_seconds, 1),
        "counts_equal_validate": calm["counts"] == hit["counts"] == json.loads(validated.stdout)["counts"],
        "load_average": os.getloadavg()[0],
    }
    print(json.dumps(report, indent=2))


def main() -> None:
    parser = argparse.ArgumentParser(prog="make bench-scale", description=__doc__)
    parser.add_argument("rows", nargs="?", type=int, default=None)
    parser.add_argument("--throttle", metavar="PARTITION:TABLE", help="the throttled run, at these writes a second")
    parser.add_argument("--shards", default="1,2,4,8,16", help="shard counts of the throttled run")
    parser.add_argument("--kill-workers", type=int, metavar="N", help="the same file again with N chunk workers killed")
    options = parser.parse_args()
    if options.kill_workers:
        killed_workers(options.rows or 60_000, options.kill_workers)
        return
    if options.throttle:
        throttled(options.rows or 10_000, options.throttle, [int(n) for n in options.shards.split(",")])
        return
    rows = options.rows or 100_000
    path = write_file(ROOT / "bench-data" / f"scale-{rows}.csv", rows)
    with local_stack(ROOT / "bench-data" / "scale-local-stack.log") as stack:
        job, seconds, upload_seconds = upload_and_wait(stack.api, path)
        stored = stack.table("JobsTable").get_item(Key={"account_id": "local", "job_id": job["job_id"]})["Item"]
        spread = shard_counts(stack, "scale", int(stored.get("shards", 0)))
        yardstick = batch_write_yardstick(stack)
        stats = requests.get(f"{stack.api}/_local/stats", timeout=30).json()
    e2e, rate = rows / seconds, yardstick.items_per_s
    created = max(job["counts"]["created"], 1)
    report = {
        "rows": rows,
        "file_mb": round(path.stat().st_size / 1e6, 1),
        "status": job["status"],
        "counts": job["counts"],
        "chunks": int(stored.get("map_tasks", 0)),
        "ranges": len(stored.get("ranges") or []),
        "shards": len(spread),
        "contacts_per_shard": {"min": min(spread.values()), "max": max(spread.values())},
        "consumed": job["consumed"],
        "write_units_per_created": round(job["consumed"]["write_units"] / created, 3),
        "read_units_per_created": round(job["consumed"]["read_units"] / created, 3),
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
