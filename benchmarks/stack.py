"""The local stack as the benchmarks use it: started on free ports, and the yardstick of its
DynamoDB (how fast DynamoDB Local takes contact-shaped batch writes from as many parallel clients
as give the most items per second here). `make bench` and `make bench-scale` both measure against it.

The clients are processes, as the chunk workers are, and write straight to DynamoDB Local, as the
chunk workers do (the AWS endpoint passes DynamoDB requests on to it: that path is measured too, from
one client, to show what it costs)."""

from __future__ import annotations

import json
import multiprocessing
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
BATCH_ITEMS = 20_000
YARDSTICK_CLIENTS = (1, 2, 4, 8)


@dataclass(frozen=True)
class RunningStack:
    api: str  # http://127.0.0.1:<port>
    aws_endpoint: str
    dynamodb_endpoint: str  # DynamoDB Local itself, where the functions' DynamoDB requests go

    def table_named(self, suffix: str) -> str:
        client = dynamodb_client(self.aws_endpoint)
        return next(name for name in client.list_tables()["TableNames"] if name.endswith(suffix))

    def table(self, suffix: str) -> Any:
        """The stack's table whose name ends with ``suffix``, as a boto3 resource table."""
        resource = boto3.resource(
            "dynamodb",
            endpoint_url=self.aws_endpoint,
            region_name="us-east-1",
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )
        return resource.Table(self.table_named(suffix))


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
            with urllib.request.urlopen(f"{api}/_local/stats", timeout=30) as answer:
                dynamodb_endpoint = json.loads(answer.read())["dynamodb"]["endpoint"]
            yield RunningStack(
                api=api, aws_endpoint=f"http://127.0.0.1:{aws_port}", dynamodb_endpoint=dynamodb_endpoint
            )
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


@dataclass(frozen=True)
class Yardstick:
    """Batch writes into the contacts table: items per second by the number of parallel clients."""

    by_clients: dict[int, float]
    through_aws_endpoint: float  # one client, through the AWS endpoint

    @property
    def best_clients(self) -> int:
        return max(self.by_clients, key=lambda clients: self.by_clients[clients])

    @property
    def items_per_s(self) -> float:
        return self.by_clients[self.best_clients]


def batch_write_yardstick(
    stack: RunningStack, items: int = BATCH_ITEMS, clients: tuple[int, ...] = YARDSTICK_CLIENTS
) -> Yardstick:
    table = stack.table_named("ContactsTable")
    by_clients = {count: batch_write_rate(stack.dynamodb_endpoint, table, items, count) for count in clients}
    return Yardstick(by_clients, batch_write_rate(stack.aws_endpoint, table, items // 2, 1))


def batch_write_rate(endpoint: str, table: str, items: int, clients: int) -> float:
    """Items per second that ``clients`` processes batch-write, 25 at a time, into ``table``, from
    the moment all are ready to the moment the last is done: items shaped as the import writes them,
    each client in a partition of its own."""
    context = multiprocessing.get_context("spawn")
    ready, go = context.Barrier(clients + 1), context.Event()
    share = items // clients
    writers = [
        context.Process(target=_write_share, args=(endpoint, table, n, share, ready, go)) for n in range(clients)
    ]
    for writer in writers:
        writer.start()
    ready.wait(timeout=120)
    started = time.perf_counter()
    go.set()
    for writer in writers:
        writer.join(600)
    seconds = time.perf_counter() - started
    if any(writer.exitcode != 0 for writer in writers):
        raise RuntimeError(f"a batch-writing client failed: exit codes {[w.exitcode for w in writers]}")
    return share * clients / seconds


def _write_share(endpoint: str, table: str, client_number: int, items: int, ready: Any, go: Any) -> None:
    client = dynamodb_client(endpoint)
    client.describe_table(TableName=table)  # the connection and the client's own set-up, before the clock
    ready.wait()
    go.wait()
    for start in range(0, items, 25):
        puts = [{"PutRequest": {"Item": _contact_item(n, client_number)}} for n in range(start, start + 25)]
        pending: dict[str, Any] = {table: puts}
        while pending:
            pending = client.batch_write_item(RequestItems=pending).get("UnprocessedItems") or {}


def _contact_item(n: int, client_number: int = 0) -> dict[str, Any]:
    return {
        "list_key": {"S": f"local#batch-write-yardstick-{client_number}"},
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


def kill_busy_chunk_workers(
    local_stats: Callable[[], dict[str, Any]], count: int, killed: list[int], *, give_up_after: float = 300
) -> None:
    """SIGKILL ``count`` chunk workers, appending each pid to ``killed``: each one seen running a
    task's handler for a second in ``local_stats()`` (the stack's /_local/stats), so that its
    heartbeat has taken the task's message (a worker killed in its init, before the handler runs,
    leaves the message to the queue's own timeout, as on Lambda)."""
    give_up_at = time.monotonic() + give_up_after
    first_seen: dict[int, float] = {}
    while len(killed) < count and time.monotonic() < give_up_at:
        busy = set(local_stats()["functions"]["ProcessChunkFunction"]["busy_worker_pids"]) - set(killed)
        now = time.monotonic()
        first_seen = {pid: first_seen.get(pid, now) for pid in busy}
        ripe = [pid for pid, seen in first_seen.items() if now - seen >= 1.0]
        if ripe:
            try:
                os.kill(ripe[0], signal.SIGKILL)
                killed.append(ripe[0])
            except ProcessLookupError:
                pass
        time.sleep(0.1)
