"""What ``GET /health`` checks, against an AWS endpoint that is really stopped: a moto server in a
process of its own, sent SIGSTOP. Every service the template's functions use is named, and the
answer comes within the probes' bound instead of hanging with the endpoint."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from local_stack.health import aws_service_checks, run_checks, threads_running
from local_stack.resources import create_stack_resources
from local_stack.stack import aws_session
from local_stack.template import load_template

ROOT = Path(__file__).resolve().parents[2]
# Generous: the checks take their 1 s bound; the point is that they do not wait for the endpoint.
ANSWER_WITHIN_SECONDS = 30


def _free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def moto_endpoint() -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    port = _free_port()
    server = subprocess.Popen(
        [str(Path(sys.executable).parent / "moto_server"), "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    endpoint = f"http://127.0.0.1:{port}"
    try:
        give_up_at = time.monotonic() + 120
        while True:
            try:
                requests.get(endpoint + "/moto-api/", timeout=2)
                break
            except requests.RequestException:
                if time.monotonic() > give_up_at or server.poll() is not None:
                    pytest.fail("moto_server did not start")
                time.sleep(0.2)
        yield endpoint, server
    finally:
        os.kill(server.pid, signal.SIGCONT)
        server.kill()
        server.wait(30)


def test_every_service_the_functions_use_is_checked_and_a_stopped_endpoint_is_named_in_time(
    moto_endpoint: tuple[str, subprocess.Popen[bytes]],
) -> None:
    endpoint, server = moto_endpoint
    template = load_template(ROOT / "template.yaml")
    session = aws_session(template.account.region)
    created = create_stack_resources(template, session, endpoint_url=endpoint)
    checks = aws_service_checks(template, created, session, endpoint, bound=1.0)
    # The template's Policies decide: tables, buckets, queues, the default bus and the HMAC key.
    assert set(checks) == {"aws:dynamodb", "aws:s3", "aws:sqs", "aws:events", "aws:kms"}
    assert run_checks(checks, bound=1.0) == {name: [] for name in checks}

    os.kill(server.pid, signal.SIGSTOP)
    try:
        started = time.monotonic()
        found = run_checks(checks, bound=1.0)
        elapsed = time.monotonic() - started
    finally:
        os.kill(server.pid, signal.SIGCONT)
    assert elapsed < ANSWER_WITHIN_SECONDS
    for name, problems in found.items():
        service = name.split(":", 1)[1]
        assert problems and all(service in problem and "did not answer" in problem for problem in problems), found
    assert run_checks(checks, bound=5.0) == {name: [] for name in checks}  # answering again


def test_a_resource_the_endpoint_lost_is_named(moto_endpoint: tuple[str, subprocess.Popen[bytes]]) -> None:
    endpoint, _ = moto_endpoint
    template = load_template(ROOT / "template.yaml")
    session = aws_session(template.account.region)
    created = create_stack_resources(template, session, endpoint_url=endpoint)
    bucket = next(iter(created.buckets.values()))
    session.client("s3", endpoint_url=endpoint).delete_bucket(Bucket=bucket)
    found = run_checks(aws_service_checks(template, created, session, endpoint, bound=5.0), bound=5.0)
    assert found["aws:s3"] == [f"the AWS endpoint at {endpoint} has lost the stack's s3 resources: {bucket}: 404"]


def test_a_check_that_blocks_is_reported_within_the_bound_and_others_still_answer() -> None:
    release = threading.Event()

    def blocked() -> list[str]:
        release.wait(600)
        return []

    try:
        started = time.monotonic()
        found = run_checks({"blocked": blocked, "fine": lambda: []}, bound=0.2)
        assert time.monotonic() - started < ANSWER_WITHIN_SECONDS
    finally:
        release.set()
    assert found == {"blocked": ["blocked: did not answer within 0.2 s"], "fine": []}


def test_a_check_that_breaks_is_a_problem_not_an_exception() -> None:
    found = run_checks({"broken": lambda: [][0]}, bound=1.0)
    assert found["broken"][0].startswith("broken: the check failed: IndexError")


def test_a_pump_that_has_ended_is_named() -> None:
    ended = threading.Thread(target=lambda: None, name="s3 events -> ProcessImportFunction")
    ended.start()
    ended.join()
    running = threading.Event()
    alive = threading.Thread(target=running.wait, name="sqs ChunkQueue -> ProcessChunkFunction", daemon=True)
    alive.start()
    try:
        assert threads_running([ended, alive])() == [
            "s3 events -> ProcessImportFunction has stopped: its events are not delivered"
        ]
    finally:
        running.set()
