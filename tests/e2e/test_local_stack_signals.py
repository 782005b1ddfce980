"""The local stack tells the truth about itself when parts of it hang: ``/health`` names a
stopped worker within its bound instead of answering 200, and Ctrl-C ends every process the stack
started even when they are all stopped (SIGSTOP stands for a hang: a stopped process answers
nothing and ignores every signal but SIGKILL). A body cut short on its way is refused, not imported."""

from __future__ import annotations

import os
import signal
import socket
import threading
import time
from pathlib import Path
from urllib.parse import urlsplit

import requests

from tests.e2e.stack import LocalStackHandle, running_stack

# Generous bounds: /health takes its 2 s probes, stopping its 10 s in order and 5 s of SIGKILL.
HEALTH_WITHIN_SECONDS = 30
STOPPED_WITHIN_SECONDS = 90


def children(pid: int) -> list[int]:
    found = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            found += [int(child) for child in (task / "children").read_text().split()]
        except FileNotFoundError:
            continue  # a thread that ended while we looked: it started no process that outlives it
    return found


def gone(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0]
    except OSError:
        return True
    return state == "Z"


def an_idle_worker(stack: LocalStackHandle) -> tuple[str, int]:
    give_up_at = time.monotonic() + 120  # the warm-up after start-up
    while time.monotonic() < give_up_at:
        functions = requests.get(stack.url("/_local/stats"), timeout=30).json()["functions"]
        for function_id, stats in sorted(functions.items()):
            idle = [worker["pid"] for worker in stats["workers"] if worker["idle"]]
            if idle:
                return function_id, idle[0]
        time.sleep(0.5)
    raise AssertionError("no function had an idle worker")


def test_health_names_a_stopped_worker_within_its_bound(local_stack: LocalStackHandle) -> None:
    function_id, pid = an_idle_worker(local_stack)
    os.kill(pid, signal.SIGSTOP)
    try:
        started = time.monotonic()
        health = requests.get(local_stack.url("/health"), timeout=HEALTH_WITHIN_SECONDS)
        took = time.monotonic() - started
    finally:
        os.kill(pid, signal.SIGCONT)
    assert health.status_code == 503, health.text
    assert took < HEALTH_WITHIN_SECONDS
    document = health.json()
    assert document["status"] == "unavailable"
    assert f"{function_id}: its idle worker (pid {pid}) did not answer" in document["problem"]
    assert document["checks"]["aws:s3"] == "ok" and document["checks"]["event sources"] == "ok"
    # Continued, it answers again: the check only asked.
    give_up_at = time.monotonic() + 60
    while requests.get(local_stack.url("/health"), timeout=HEALTH_WITHIN_SECONDS).status_code != 200:
        assert time.monotonic() < give_up_at, "the stack stayed unhealthy after the worker was continued"
        time.sleep(0.5)


def test_ctrl_c_ends_every_process_of_a_hung_stack_and_says_stopped_only_then(tmp_path: Path) -> None:
    with running_stack(tmp_path, stack_name="contacts-import-hung") as stack:  # a DynamoDB Local of its own
        an_idle_worker(stack)  # warmed up: workers, the resource tracker and the JVM are all there
        started_processes = children(stack.process.pid)
        assert len(started_processes) >= 3
        for pid in started_processes:
            os.kill(pid, signal.SIGSTOP)
        # A request that hangs with them: its authorizer's worker is stopped.
        hanging = threading.Thread(
            target=lambda: requests.get(stack.url("/imports"), headers={"Authorization": "Bearer local-dev-key"}),
            daemon=True,
        )
        hanging.start()
        time.sleep(0.5)  # not a bound: only lets the request reach the gateway before Ctrl-C
        stack.process.send_signal(signal.SIGINT)
        stack.process.wait(STOPPED_WITHIN_SECONDS)
        assert stack.process.returncode == 0, stack.log_tail()
        assert "[local] stopped; the local state is gone" in stack.log_tail(10)
        assert [pid for pid in started_processes if not gone(pid)] == []


def test_a_body_shorter_than_its_content_length_is_refused_through_the_gateway(local_stack: LocalStackHandle) -> None:
    """The client announces 4096 bytes, sends 200 and closes its side: the gateway passes on what
    came (as a proxy might), and the function refuses it."""
    body = b"phone,name\n" + b"".join(f"+1212736{n:04d},Row {n}\n".encode() for n in range(40))
    sent = body[:200]
    parts = urlsplit(local_stack.api_url)
    with socket.create_connection((parts.hostname, parts.port), timeout=120) as connection:
        connection.sendall(
            b"POST /imports?list_id=cut-short HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            b"Authorization: Bearer local-dev-key\r\nContent-Type: text/csv\r\n"
            b"Content-Length: 4096\r\nConnection: close\r\n\r\n" + sent
        )
        connection.shutdown(socket.SHUT_WR)
        answer = b""
        while chunk := connection.recv(65536):
            answer += chunk
    head, _, payload = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 400"), answer[:300]
    assert b'"validation_error"' in payload and b'"missing": "bytes"' in payload
    lists = local_stack.session().get(local_stack.url("/lists/cut-short"), timeout=120)
    assert lists.status_code == 404 or lists.json()["data"]["total_contacts"] == 0


def test_a_multipart_body_cut_off_is_refused_through_the_gateway(local_stack: LocalStackHandle) -> None:
    boundary = "cutoff42"
    body = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="list_id"\r\n\r\ncut-multipart\r\n'
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="c.csv"\r\n\r\n'
        "phone,name\r\n+12127365000,Ann\r\n+1415555"
    ).encode()  # no closing boundary: the last row is cut in two
    answer = local_stack.session().post(
        local_stack.url("/imports"),
        data=body,
        headers={"Content-Type": f"multipart/form-data; boundary={boundary}"},
        timeout=120,
    )
    assert answer.status_code == 400, answer.text
    assert answer.json()["error"]["details"] == {"missing": "closing_boundary"}
    lists = local_stack.session().get(local_stack.url("/lists/cut-multipart"), timeout=120)
    assert lists.status_code == 404 or lists.json()["data"]["total_contacts"] == 0
