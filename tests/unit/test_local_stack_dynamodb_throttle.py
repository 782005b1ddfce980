"""The scaled-down write limits of make bench-scale's throttled run: a partition key's and a table's
token buckets, and the answers DynamoDB gives a throttled batch, write and transaction."""

from __future__ import annotations

import io
import json
from typing import Any

import pytest

from local_stack.dynamodb_throttle import Throttle, ThrottledDynamoDb, WriteLimits


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def contact(n: int, shard: int = 0) -> dict[str, Any]:
    return {"list_key": {"S": f"a#l#{shard:03d}"}, "phone": {"S": f"+1212555{n:04d}"}}


def test_a_partition_key_and_a_table_each_take_their_rate():
    clock = Clock()
    throttle = Throttle(WriteLimits(partition_writes=2, table_writes=3), {"t": "list_key"}, clock=clock)
    assert [throttle.admit("t", contact(n)) for n in range(3)] == [True, True, False]
    assert throttle.admit("t", contact(9, shard=1)) is True  # another partition key
    assert throttle.admit("t", contact(10, shard=2)) is False  # but the table's three are spent
    clock.now += 0.5
    assert throttle.admit("t", contact(11)) is True and throttle.refused == 2


def test_limits_are_read_as_the_flag_takes_them():
    assert WriteLimits.parse("100") == WriteLimits(100, float("inf"))
    assert WriteLimits.parse("50:400") == WriteLimits(50, 400)
    with pytest.raises(ValueError):
        WriteLimits.parse("0")


class Engine:
    """DynamoDB Local, as far as these tests need it: takes every write, says what it got."""

    def __init__(self) -> None:
        self.got: list[dict[str, Any]] = []

    def __call__(self, environ: dict[str, Any], start_response: Any) -> list[bytes]:
        self.got.append(json.loads(environ["wsgi.input"].read(int(environ["CONTENT_LENGTH"]))))
        start_response("200 OK", [("Content-Type", "application/x-amz-json-1.0")])
        return [b'{"UnprocessedItems": {}}']


def call(app: Any, operation: str, request: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    body = json.dumps(request).encode()
    environ = {
        "HTTP_X_AMZ_TARGET": f"DynamoDB_20120810.{operation}",
        "CONTENT_LENGTH": str(len(body)),
        "wsgi.input": io.BytesIO(body),
    }
    answered: dict[str, str] = {}
    data = b"".join(app(environ, lambda status, headers: answered.update(status=status)))
    return answered["status"], json.loads(data)


def test_a_batch_writes_what_it_may_and_gives_the_rest_back_unprocessed():
    engine = Engine()
    app = ThrottledDynamoDb(engine, Throttle(WriteLimits(3, 100), {"t": "list_key"}, clock=Clock()))
    writes = [{"PutRequest": {"Item": contact(n)}} for n in range(5)]
    status, answer = call(app, "BatchWriteItem", {"RequestItems": {"t": writes}})
    assert status.startswith("200")
    assert engine.got[0]["RequestItems"]["t"] == writes[:3]
    assert answer["UnprocessedItems"]["t"] == writes[3:]
    status, answer = call(app, "BatchWriteItem", {"RequestItems": {"t": writes[3:]}})
    assert answer["UnprocessedItems"]["t"] == writes[3:] and len(engine.got) == 1, "nothing sent, nothing taken"


def test_a_single_write_and_a_transaction_are_refused_as_dynamodb_refuses_them():
    engine = Engine()
    app = ThrottledDynamoDb(engine, Throttle(WriteLimits(1, 100), {"t": "list_key"}, clock=Clock()))
    assert call(app, "PutItem", {"TableName": "t", "Item": contact(1)})[0].startswith("200")
    status, answer = call(app, "PutItem", {"TableName": "t", "Item": contact(2)})
    assert status.startswith("400") and answer["__type"].endswith("#ProvisionedThroughputExceededException")
    action = {"Update": {"TableName": "t", "Key": contact(3), "UpdateExpression": "SET n = :n"}}
    status, answer = call(app, "TransactWriteItems", {"TransactItems": [action]})
    assert status.startswith("400") and answer["__type"].endswith("#ThrottlingException")
    assert call(app, "GetItem", {"TableName": "t", "Key": contact(2)})[0].startswith("200"), "reads pass"
