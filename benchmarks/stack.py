"""The local stack as the benchmarks use it: started on free ports, and the yardstick of its
DynamoDB endpoint (how fast it takes batch writes from one client). `make bench` and
`make bench-scale` both measure against it."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
BATCH_ITEMS = 20_000


@dataclass(frozen=True)
class RunningStack:
    api: str  # http://127.0.0.1:<port>
    aws_endpoint: str

    def table_named(self, suffix: str) -> str:
        client = dynamodb_client(self.aws_endpoint)
        return next(name for name in client.list_tables()["TableNames"] if name.endswith(suffix))


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def local_stack(log_path: Path, *flags: str) -> Iterator[RunningStack]:
    """`make local` on free ports (with ``flags``), its output in ``log_path``; stopped on leaving."""
    api_port, aws_port = free_port(), free_port()
    command = [str(BIN / "contacts-import-local"), "--api-port", str(api_port), "--aws-port", str(aws_port), *flags]
    with log_path.open("w") as log:
        stack = subprocess.Popen(command, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        try:
            api = f"http://127.0.0.1:{api_port}"
            _wait_healthy(f"{api}/health", stack)
            yield RunningStack(api=api, aws_endpoint=f"http://127.0.0.1:{aws_port}")
        finally:
            os.killpg(stack.pid, signal.SIGINT)
            try:
                stack.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(stack.pid, signal.SIGKILL)


def dynamodb_client(endpoint: str) -> Any:
    return boto3.client(
        "dynamodb",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


def batch_write_rate(stack: RunningStack, items: int = BATCH_ITEMS) -> float:
    """Items per second that one client batch-writes, 25 at a time, into the contacts table: items
    shaped as the import writes them."""
    client = dynamodb_client(stack.aws_endpoint)
    table = stack.table_named("ContactsTable")
    started = time.perf_counter()
    for start in range(0, items, 25):
        puts = [{"PutRequest": {"Item": _contact_item(n)}} for n in range(start, start + 25)]
        pending: dict[str, Any] = {table: puts}
        while pending:
            pending = client.batch_write_item(RequestItems=pending).get("UnprocessedItems") or {}
    return items / (time.perf_counter() - started)


def _contact_item(n: int) -> dict[str, Any]:
    return {
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


def _wait_healthy(url: str, process: subprocess.Popen[bytes]) -> None:
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
