"""End-to-end tier: HTTP and AWS calls against the real local stack.

The session fixture ``local_stack`` starts ``contacts-import-local`` (the console script of the
venv) on free ports, waits for ``GET /health`` to answer 200, and stops it at the end (SIGINT,
then SIGKILL if it lingers). Its output goes to a log file whose tail is shown when start-up fails.
Its DynamoDB is the run's one DynamoDB Local (``--dynamodb-endpoint``); a stack started with other
parameters has a stack name, and so table names, of its own.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest
import requests

from contacts_import.auth.keys import ALL_SCOPES, new_api_key, record_for_key
from contacts_import.store.api_keys import ApiKeyStore
from local_stack.dynamodb_local import DynamoDbLocal
from local_stack.stack import API_KEYS_TABLE_ID, LOCAL_ACCOUNT_ID, LOCAL_API_KEY
from local_stack.template import LocalAccount, StackTemplate, load_template

ROOT = Path(__file__).resolve().parents[2]
# A cold start on a busy two-core machine: imports, moto, tables, and the warm-up of the workers.
STARTUP_TIMEOUT_SECONDS = 180
STOP_TIMEOUT_SECONDS = 30


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def venv_script(name: str) -> str:
    """A console script of the venv the tests run in (else of the PATH)."""
    beside_python = Path(sys.executable).parent / name
    found = str(beside_python) if beside_python.exists() else shutil.which(name)
    if not found:
        pytest.fail(f"{name} is not installed: run `make install`")
    return found


def console_script() -> str:
    return venv_script("contacts-import-local")


def _tail(path: Path, lines: int = 80) -> str:
    text = path.read_text(encoding="utf-8", errors="replace") if path.exists() else ""
    return "\n".join(text.splitlines()[-lines:])


@dataclass
class LocalStackHandle:
    """The running local stack, as a test sees it."""

    api_url: str
    aws_endpoint: str
    bucket: str
    api_key: str
    account_id: str
    template: StackTemplate
    log_path: Path
    process: subprocess.Popen[bytes]

    def url(self, path: str) -> str:
        return self.api_url + path

    def session(self, api_key: str | None = None) -> requests.Session:
        """A requests session that sends ``Authorization: Bearer <key>`` (the local key by default)."""
        session = requests.Session()
        session.headers["Authorization"] = f"Bearer {api_key or self.api_key}"
        return session

    def client(self, service: str) -> Any:
        """A boto3 client for the stack's AWS endpoint, with fake credentials."""
        return boto3.client(
            service,
            endpoint_url=self.aws_endpoint,
            region_name=self.template.account.region,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )

    def log_tail(self, lines: int = 80) -> str:
        return _tail(self.log_path, lines)

    def add_api_key(self, account_id: str, scopes: tuple[str, ...] = ALL_SCOPES) -> tuple[str, str]:
        """A new key for ``account_id``, stored as `contacts-import keys create` stores it: the key
        and its hash (to delete it with ``remove_api_key``)."""
        api_key = new_api_key()
        record = record_for_key(api_key, account_id, scopes)
        ApiKeyStore(self.keys_table()).put(record)
        return api_key, record.key_hash

    def remove_api_key(self, key_hash: str) -> None:
        self.keys_table().delete_item(Key={"key_hash": key_hash})

    def keys_table(self) -> Any:
        dynamodb = boto3.resource(
            "dynamodb",
            endpoint_url=self.aws_endpoint,
            region_name=self.template.account.region,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )
        return dynamodb.Table(self.template.tables[API_KEYS_TABLE_ID].name)


def _wait_until_healthy(process: subprocess.Popen[bytes], health_url: str, log_path: Path) -> None:
    give_up_at = time.monotonic() + STARTUP_TIMEOUT_SECONDS
    while time.monotonic() < give_up_at:
        if process.poll() is not None:
            pytest.fail(f"the local stack exited with {process.returncode} during start-up:\n{_tail(log_path)}")
        try:
            if requests.get(health_url, timeout=5).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.25)
    pytest.fail(f"the local stack was not healthy within {STARTUP_TIMEOUT_SECONDS} s:\n{_tail(log_path)}")


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGINT)
    try:
        process.wait(STOP_TIMEOUT_SECONDS)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(STOP_TIMEOUT_SECONDS)


@contextmanager
def running_stack(
    log_dir: Path,
    parameter_overrides: tuple[str, ...] = (),
    *,
    dynamodb_endpoint: str | None = None,
    stack_name: str = LocalAccount.stack_name,
) -> Iterator[LocalStackHandle]:
    """The local stack as `make local` starts it, on free ports, with the template's parameters
    overridden as given (``Name=value``), its DynamoDB at ``dynamodb_endpoint`` (else a DynamoDB
    Local of its own); stopped on leaving."""
    template = load_template(
        ROOT / "template.yaml",
        parameter_overrides=dict(o.split("=", 1) for o in parameter_overrides),
        account=LocalAccount(stack_name=stack_name),
    )
    api_port, aws_port = free_port(), free_port()
    log_path = log_dir / "local-stack.log"
    environment = {**os.environ, "PYTHONUNBUFFERED": "1"}
    environment.pop("AWS_ENDPOINT_URL", None)
    command = [
        console_script(),
        "run",
        "--template",
        str(ROOT / "template.yaml"),
        "--api-port",
        str(api_port),
        "--aws-port",
        str(aws_port),
    ]
    if parameter_overrides:
        command += ["--parameter-overrides", *parameter_overrides]
    if dynamodb_endpoint:
        command += ["--dynamodb-endpoint", dynamodb_endpoint]
    if stack_name != LocalAccount.stack_name:
        command += ["--stack-name", stack_name]
    with log_path.open("wb") as log:
        process = subprocess.Popen(command, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, env=environment)
    try:
        api_url = f"http://127.0.0.1:{api_port}"
        _wait_until_healthy(process, api_url + "/health", log_path)
        triggered_buckets = {source.bucket_name for source in template.s3_event_sources}
        yield LocalStackHandle(
            api_url=api_url,
            aws_endpoint=f"http://127.0.0.1:{aws_port}",
            bucket=next(iter(triggered_buckets)),
            api_key=LOCAL_API_KEY,
            account_id=LOCAL_ACCOUNT_ID,
            template=template,
            log_path=log_path,
            process=process,
        )
    finally:
        _stop(process)


@pytest.fixture(scope="session")
def local_stack(tmp_path_factory: pytest.TempPathFactory, dynamodb_local: DynamoDbLocal) -> Iterator[LocalStackHandle]:
    with running_stack(tmp_path_factory.mktemp("local-stack"), dynamodb_endpoint=dynamodb_local.endpoint) as stack:
        yield stack


@pytest.fixture
def make_api_key(local_stack: LocalStackHandle) -> Iterator[Callable[..., str]]:
    """Makes API keys as `contacts-import keys create` does (the hash in the stack's keys table),
    for any account and scopes; they are deleted again after the test."""
    made: list[str] = []

    def make(account_id: str, scopes: tuple[str, ...] = ALL_SCOPES) -> str:
        api_key, key_hash = local_stack.add_api_key(account_id, scopes)
        made.append(key_hash)
        return api_key

    yield make
    for key_hash in made:
        local_stack.remove_api_key(key_hash)


@dataclass(frozen=True)
class OwnAccount:
    account_id: str
    api_key: str

    @property
    def authorization(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.api_key}"}


@pytest.fixture
def own_account(make_api_key: Callable[..., str]) -> OwnAccount:
    """An account of the test's own, with a key of every scope: its lists (the default one too)
    start empty, and its imports in flight are its own."""
    account_id = f"e2e-{uuid.uuid4().hex[:12]}"
    return OwnAccount(account_id, make_api_key(account_id))
