"""The local stack as the e2e tier drives it: started as ``contacts-import-local`` on free ports,
waited for, stopped; a handle on its API and AWS endpoint; an account of a test's own.

Fixtures (tests/e2e/conftest.py) hand these out; tests that start a stack of their own use
``running_stack`` directly.
"""

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest
import requests

from contacts_import.auth.keys import ALL_SCOPES, new_api_key, record_for_key
from contacts_import.store.api_keys import ApiKeyStore
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


@dataclass(frozen=True)
class OwnAccount:
    account_id: str
    api_key: str

    @property
    def authorization(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.api_key}"}
