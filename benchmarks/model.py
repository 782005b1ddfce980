"""The 10-million-row model: what one import into one list takes on AWS, from figures measured here.

    .venv/bin/python -m benchmarks.model [ROWS]

Measured on this machine, CPU time in one process (``time.process_time``), on a generated file:
- a map task's CPU a row (reading, normalizing, sorting and encoding its run), on one 4 MiB chunk;
- a reduce task's CPU a row (decoding the runs, merging, deciding against an in-memory list);
- the client's CPU a contact written (its item encoded, botocore building, signing and sending
  BatchWriteItem requests of 25 contacts, and reading the answers, to a server on 127.0.0.1 that
  answers at once).

The rest are AWS's published figures, or assumptions said as such: a Lambda of 1,769 MB has one
vCPU (taken as this machine's core); a BatchWriteItem takes about 10 ms to answer; a partition key
takes 1,000 write units a second, an on-demand table 40,000 by default (more on request). It prints
the inputs and the answer as JSON; docs/architecture.md has the table.
"""

from __future__ import annotations

import http.server
import io
import json
import math
import sys
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT)]

import boto3  # noqa: E402

from benchmarks.generate import sample  # noqa: E402
from contacts_import.models import ImportOptions  # noqa: E402
from contacts_import.pipeline.chunks import plan_chunks, read_chunk  # noqa: E402
from contacts_import.pipeline.fanout import map_chunk  # noqa: E402
from contacts_import.pipeline.mapping import plan_file_columns  # noqa: E402
from contacts_import.pipeline.normalize import RowNormalizer  # noqa: E402
from contacts_import.pipeline.outcomes import RunContext  # noqa: E402
from contacts_import.pipeline.reduce import reduce_range  # noqa: E402
from contacts_import.pipeline.runs import decode_run  # noqa: E402
from contacts_import.store.dynamo import FAST_CONFIG, batch_write, encode_item  # noqa: E402

# AWS (published) and assumed figures.
PARTITION_WRITES_PER_S = 1000
TABLE_WRITES_PER_S = 40_000
BATCH_WRITE_LATENCY_S = 0.010  # assumed: one BatchWriteItem of 25, in-region
CHUNK_BYTES = 4 * 1024 * 1024
ROWS_PER_RANGE = 10_000
SHARDS = 64
PLANNER_MB_PER_S = 25.0  # the processor's one pass (README: about 40 s for 1 GiB)


class _Errors:
    def add(self, error: Any, raw: Any) -> None:
        pass

    def flush(self) -> None:
        pass


class _EmptyList:
    """A new list: nothing to find; writes are counted, not kept."""

    def __init__(self) -> None:
        self.written = 0

    def find_existing(self, phones: Any) -> dict[str, Any]:
        return {}

    def write(self, items: Any) -> None:
        self.written += len(items)


def map_and_reduce_cpu(rows: int) -> dict[str, float]:
    data = sample(rows, seed=7)
    options = ImportOptions(phone_validation="possible")
    plan = plan_chunks(
        io.BytesIO(data), has_header=True, encoding=None, delimiter=None, chunk_bytes=10**12, stage=io.BytesIO
    )
    (chunk,) = plan.chunks
    normalizer = RowNormalizer(plan_file_columns(plan.first_record, options), options)
    started = time.process_time()
    mapped = map_chunk(read_chunk(io.BytesIO(data), plan, chunk), normalizer, _Errors(), shards=SHARDS)
    map_seconds = time.process_time() - started
    contacts = _EmptyList()
    started = time.process_time()
    tally, _ = reduce_range(
        [decode_run(mapped.run, None, SHARDS)],
        contacts,
        options,
        RunContext(job_id="imp_model", list_id="model", now="2026-12-02T00:00:00.000Z"),
        shards=SHARDS,
    )
    reduce_seconds = time.process_time() - started
    return {
        "rows": rows,
        "bytes_per_row": len(data) / rows,
        "map_cpu_ms_per_row": 1000 * map_seconds / rows,
        "reduce_cpu_ms_per_row": 1000 * reduce_seconds / max(tally.created, 1),
        "contacts": contacts.written,
    }


class _Answers(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers["Content-Length"]))
        body = b'{"UnprocessedItems": {}}'
        self.send_response(200)
        self.send_header("Content-Type", "application/x-amz-json-1.0")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        return None


def client_cpu_per_contact(contacts: int = 20_000) -> float:
    """Milliseconds of this process's CPU a contact batch-written (the server's is its own thread,
    and counted too: an upper bound)."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Answers)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    client = boto3.client(
        "dynamodb",
        endpoint_url=f"http://127.0.0.1:{server.server_address[1]}",
        region_name="us-east-1",
        aws_access_key_id="model",
        aws_secret_access_key="model",
        config=FAST_CONFIG,
    )
    item = {
        "list_key": "local#model#007",
        "phone": "+12125550000",
        "name": "Jane Doe",
        "first_name": "Jane",
        "last_name": "Doe",
        "email": "jane.doe@example.com",
        "company": "Acme",
        "created_job_id": "imp_01m8tjp50gzq134zksmmk3ts7w",
        "import_job_id": "imp_01m8tjp50gzq134zksmmk3ts7w",
        "created_at": "2026-12-02T00:00:00.000Z",
        "updated_at": "2026-12-02T00:00:00.000Z",
    }
    started = time.process_time()
    requests = [{"PutRequest": {"Item": encode_item({**item, "phone": f"+1212{n:07d}"})}} for n in range(contacts)]
    batch_write(client, "model", requests)
    seconds = time.process_time() - started
    server.shutdown()
    return 1000 * seconds / contacts


def model(rows_for_measuring: int, total_rows: int = 10_000_000) -> dict[str, Any]:
    measured = map_and_reduce_cpu(rows_for_measuring)
    measured["client_cpu_ms_per_contact"] = client_cpu_per_contact()
    file_mb = total_rows * measured["bytes_per_row"] / 1e6
    maps = math.ceil(total_rows * measured["bytes_per_row"] / CHUNK_BYTES)
    reduces = math.ceil(total_rows / ROWS_PER_RANGE)
    map_task_s = (CHUNK_BYTES / measured["bytes_per_row"]) * measured["map_cpu_ms_per_row"] / 1000
    per_contact_s = (measured["reduce_cpu_ms_per_row"] + measured["client_cpu_ms_per_contact"]) / 1000
    reduce_task_s = ROWS_PER_RANGE * per_contact_s + (ROWS_PER_RANGE / 25) * BATCH_WRITE_LATENCY_S
    worker_writes_per_s = ROWS_PER_RANGE / reduce_task_s
    limit = min(TABLE_WRITES_PER_S, SHARDS * PARTITION_WRITES_PER_S)
    workers_for_limit = math.ceil(limit / worker_writes_per_s)
    answer: dict[str, Any] = {"measured": measured, "rows": total_rows, "file_mb": round(file_mb)}
    answer["tasks"] = {"map": maps, "reduce": reduces, "map_task_s": round(map_task_s, 1)}
    answer["reduce_task_s"] = round(reduce_task_s, 1)
    answer["one_worker_writes_per_s"] = round(worker_writes_per_s)
    answer["write_limit_per_s"] = limit
    answer["workers_to_reach_it"] = workers_for_limit
    for workers in (10, 50, 100):
        plan_s = file_mb / PLANNER_MB_PER_S
        map_s = math.ceil(maps / workers) * map_task_s
        reduce_s = max(
            total_rows / min(workers * worker_writes_per_s, limit), math.ceil(reduces / workers) * reduce_task_s
        )
        answer[f"minutes_with_{workers}_workers"] = round((plan_s + map_s + reduce_s) / 60, 1)
    return answer


def main() -> None:
    rows = int(sys.argv[1]) if len(sys.argv) > 1 else 50_000
    print(json.dumps(model(rows), indent=2))


if __name__ == "__main__":
    main()
