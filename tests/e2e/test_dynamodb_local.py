"""DynamoDB Local behind the local stack's one AWS endpoint: DynamoDB requests served by Amazon's
own engine with AWS's limits, the rest by moto; a key made by `contacts-import keys create` taken
by the API; and what the stack does when its DynamoDB goes away or a port is taken."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
import requests
from botocore.exceptions import ClientError

from contacts_import.auth.keys import hash_api_key
from local_stack.dynamodb_local import DynamoDbLocal
from tests.dynamodb import dynamodb_client
from tests.e2e.stack import ROOT, LocalStackHandle, console_script, free_port, running_stack

pytestmark = pytest.mark.e2e

WAIT_SECONDS = 120  # for a stack on a slow machine to notice and stop; never asserted as a duration


def contacts_table(stack: LocalStackHandle) -> str:
    return stack.template.tables["ContactsTable"].name


def contact(n: int, size: int = 0) -> dict[str, dict[str, str]]:
    item = {"list_key": {"S": f"e2e-limits#{uuid.uuid4().hex[:6]}"}, "phone": {"S": f"+1212555{n:04d}"}}
    if size:
        item["name"] = {"S": "x" * size}
    return item


def refused(call) -> str:
    with pytest.raises(ClientError) as caught:
        call()
    return caught.value.response["Error"]["Code"]


def test_the_aws_endpoint_serves_dynamodb_from_dynamodb_local_with_its_limits(
    local_stack: LocalStackHandle, dynamodb_local: DynamoDbLocal
) -> None:
    dynamodb, table = local_stack.client("dynamodb"), contacts_table(local_stack)
    batch = [{"PutRequest": {"Item": contact(n)}} for n in range(26)]
    assert refused(lambda: dynamodb.batch_write_item(RequestItems={table: batch})) == "ValidationException"
    too_big = contact(1, size=401 * 1024)
    assert refused(lambda: dynamodb.put_item(TableName=table, Item=too_big)) == "ValidationException"
    actions = [{"Put": {"TableName": table, "Item": contact(n)}} for n in range(101)]
    assert refused(lambda: dynamodb.transact_write_items(TransactItems=actions)) == "ValidationException"

    # What goes in through the AWS endpoint is in DynamoDB Local itself, not in a mock beside it.
    item = contact(7)
    dynamodb.put_item(TableName=table, Item=item)
    direct = dynamodb_client(dynamodb_local.endpoint).get_item(TableName=table, Key=item, ConsistentRead=True)
    assert direct["Item"] == item
    stats = requests.get(local_stack.url("/_local/stats"), timeout=30).json()
    assert stats["dynamodb"]["endpoint"] == dynamodb_local.endpoint
    assert stats["dynamodb"]["requests_through_aws_endpoint"] >= 5
    # ... while S3 and SQS are moto's, at the same endpoint.
    assert local_stack.bucket in {b["Name"] for b in local_stack.client("s3").list_buckets()["Buckets"]}
    assert local_stack.client("sqs").list_queues()["QueueUrls"]


def test_a_key_made_by_the_client_is_taken_by_the_local_stack(local_stack: LocalStackHandle) -> None:
    cli = str(Path(sys.executable).parent / "contacts-import")
    environment = {
        **os.environ,
        "AWS_ENDPOINT_URL": local_stack.aws_endpoint,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
    }
    environment.pop("CONTACTS_API_KEYS_TABLE", None)
    account = f"e2e-keys-{uuid.uuid4().hex[:6]}"
    made = subprocess.run(
        [cli, "keys", "create", "--account", account],
        env=environment,
        cwd=ROOT,  # the template the client reads the keys table's name from
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert made.returncode == 0, made.stderr[-2000:]
    api_key = made.stdout.split()[-1]
    try:
        assert local_stack.aws_endpoint in made.stderr
        answer = local_stack.session(api_key).get(local_stack.url("/imports"), timeout=120)
        assert answer.status_code == 200, answer.text
        assert answer.json()["data"] == []  # a new account has no jobs
    finally:
        local_stack.remove_api_key(hash_api_key(api_key))


def test_health_is_503_while_the_stacks_dynamodb_does_not_answer(tmp_path: Path) -> None:
    engine = DynamoDbLocal()
    engine.start()
    try:
        with running_stack(tmp_path, dynamodb_endpoint=engine.endpoint, stack_name="contacts-import-health") as stack:
            assert requests.get(stack.url("/health"), timeout=30).status_code == 200
            engine.stop()
            health = requests.get(stack.url("/health"), timeout=30)
            assert health.status_code == 503
            assert health.json()["status"] == "unavailable"
            assert engine.endpoint in health.json()["problem"] and "does not answer" in health.json()["problem"]

            # Back on the same port, but empty: the stack's tables are gone, and health says so.
            engine = DynamoDbLocal(port=engine.port)
            engine.start()
            health = requests.get(stack.url("/health"), timeout=30)
            assert health.status_code == 503
            assert "lost the stack's tables" in health.json()["problem"]
    finally:
        engine.stop()


def process_exists(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_a_stack_whose_dynamodb_local_dies_stops_and_names_it(tmp_path: Path) -> None:
    with running_stack(tmp_path) as stack:  # a DynamoDB Local of its own
        engine_pid = requests.get(stack.url("/_local/stats"), timeout=30).json()["dynamodb"]["dynamodb_local_pid"]
        assert engine_pid and process_exists(engine_pid)
        os.kill(engine_pid, signal.SIGKILL)
        stack.process.wait(WAIT_SECONDS)
        assert stack.process.returncode == 1
        log = stack.log_tail(20)
        assert f"DynamoDB Local (pid {engine_pid}) exited" in log
        assert "stopped; the local state is gone" in log


def test_stopping_the_stack_leaves_no_dynamodb_local_behind(tmp_path: Path) -> None:
    with running_stack(tmp_path) as stack:
        engine_pid = requests.get(stack.url("/_local/stats"), timeout=30).json()["dynamodb"]["dynamodb_local_pid"]
        assert process_exists(engine_pid)
    assert stack.process.returncode == 0
    give_up_at = time.monotonic() + WAIT_SECONDS
    while process_exists(engine_pid) and time.monotonic() < give_up_at:
        time.sleep(0.2)
    assert not process_exists(engine_pid)


def test_a_taken_port_is_a_clear_message_and_starts_nothing(tmp_path: Path) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = subprocess.run(
            [console_script(), "run", "--api-port", str(free_port()), "--aws-port", str(port)],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=300,
        )
    assert done.returncode == 1
    message = done.stderr.strip().splitlines()[-1]
    assert f"cannot listen on 127.0.0.1:{port} for the AWS endpoint" in message
    assert "--aws-port" in message and "Traceback" not in done.stderr
