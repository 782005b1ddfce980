"""DynamoDB's write limits, scaled down, in front of DynamoDB Local: for ``make bench-scale``'s
throttled run, which shows what shards and workers buy an import against a partition's limit.

DynamoDB takes about 1,000 write units a second under one partition key, and a table takes what
its throughput allows (40,000 a second by default for an on-demand table). DynamoDB Local has no
limits at all. This front gives each partition key of each table ``partition_writes`` items a
second, and each table ``table_writes``, as token buckets (a second's worth of burst): a write it
has no token for is refused as DynamoDB refuses it, a batch's items come back in
``UnprocessedItems``, a single write is ``ProvisionedThroughputExceededException``, a transaction
``ThrottlingException``; reads pass. An item counts as one write, whatever its size.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from local_stack.aws_endpoint import DynamoDbForwarder

_WRITES = {"PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem", "TransactWriteItems"}


@dataclass(frozen=True)
class WriteLimits:
    partition_writes: float
    table_writes: float

    @classmethod
    def parse(cls, text: str) -> WriteLimits:
        """``PARTITION[:TABLE]`` items a second, as ``--throttle-dynamodb`` takes it."""
        partition, _, table = text.partition(":")
        limits = cls(float(partition), float(table) if table else float("inf"))
        if limits.partition_writes <= 0 or limits.table_writes <= 0:
            raise ValueError("write limits are items a second, above 0")
        return limits


@dataclass
class _Bucket:
    rate: float
    tokens: float
    at: float

    def refill(self, now: float) -> float:
        if self.rate == float("inf"):
            return self.rate
        self.tokens = min(self.rate, self.tokens + (now - self.at) * self.rate)
        self.at = now
        return self.tokens


@dataclass
class Throttle:
    """The buckets: by (table, partition key value), and by table."""

    limits: WriteLimits
    hash_keys: Mapping[str, str]  # table name -> its partition key's attribute
    clock: Callable[[], float] = time.monotonic
    refused: int = 0
    _buckets: dict[Any, _Bucket] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def admit(self, table: str, item_or_key: Mapping[str, Any]) -> bool:
        attribute = self.hash_keys.get(table)
        partition = json.dumps(item_or_key.get(attribute), sort_keys=True) if attribute else ""
        with self._lock:
            now = self.clock()
            buckets = (
                self._bucket((table, partition), self.limits.partition_writes, now),
                self._bucket(table, self.limits.table_writes, now),
            )
            if any(bucket.refill(now) < 1 for bucket in buckets):
                self.refused += 1
                return False
            for bucket in buckets:
                bucket.tokens -= 1
            return True

    def _bucket(self, key: Any, rate: float, now: float) -> _Bucket:
        bucket = self._buckets.get(key)
        if bucket is None:
            bucket = self._buckets[key] = _Bucket(rate, rate, now)
        return bucket


class ThrottledDynamoDb:
    """A WSGI app: DynamoDB requests to ``forwarder``, writes first through ``throttle``."""

    def __init__(self, forwarder: DynamoDbForwarder, throttle: Throttle) -> None:
        self._forwarder = forwarder
        self.throttle = throttle

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        operation = str(environ.get("HTTP_X_AMZ_TARGET", "")).rpartition(".")[2]
        if operation not in _WRITES:
            return self._forwarder(environ, start_response)
        length = int(environ.get("CONTENT_LENGTH") or 0)
        request = json.loads(environ["wsgi.input"].read(length) or b"{}")
        if operation == "BatchWriteItem":
            return self._batch(environ, start_response, request)
        if operation == "TransactWriteItems":
            admitted = all(self._admit_action(action) for action in request.get("TransactItems", []))
            refusal = "ThrottlingException"
        else:
            written = request.get("Item") or request.get("Key") or {}
            admitted = self.throttle.admit(request.get("TableName", ""), written)
            refusal = "ProvisionedThroughputExceededException"
        if not admitted:
            return _error(start_response, refusal, "Throughput exceeds the current capacity (local throttle).")
        return self._forward(environ, start_response, request)

    def _admit_action(self, action: Mapping[str, Any]) -> bool:
        ((kind, body),) = action.items()
        return kind == "ConditionCheck" or self.throttle.admit(body["TableName"], body.get("Item") or body["Key"])

    def _batch(self, environ: dict[str, Any], start_response: Callable[..., Any], request: dict[str, Any]):
        admitted: dict[str, list[Any]] = {}
        held_back: dict[str, list[Any]] = {}
        for table, writes in request.get("RequestItems", {}).items():
            for write in writes:
                body = write.get("PutRequest", {}).get("Item") or write.get("DeleteRequest", {}).get("Key", {})
                (admitted if self.throttle.admit(table, body) else held_back).setdefault(table, []).append(write)
        if not admitted:
            answer = {"UnprocessedItems": held_back}
            return _json(start_response, "200 OK", answer)
        answered: dict[str, Any] = {}

        def capture(status: str, headers: list[tuple[str, str]]) -> None:
            answered.update(status=status, headers=headers)

        body = b"".join(self._forward(environ, capture, {**request, "RequestItems": admitted}))
        if not answered["status"].startswith("200"):
            start_response(answered["status"], answered["headers"])
            return [body]
        answer = json.loads(body)
        unprocessed = answer.get("UnprocessedItems") or {}
        for table, writes in held_back.items():
            unprocessed.setdefault(table, []).extend(writes)
        answer["UnprocessedItems"] = unprocessed
        return _json(start_response, "200 OK", answer)

    def _forward(self, environ: dict[str, Any], start_response: Callable[..., Any], request: dict[str, Any]):
        import io

        body = json.dumps(request).encode()
        forwarded = {**environ, "wsgi.input": io.BytesIO(body), "CONTENT_LENGTH": str(len(body))}
        # The request changed, and with it its signature: DynamoDB Local checks only that there is one.
        return self._forwarder(forwarded, start_response)


def _json(start_response: Callable[..., Any], status: str, answer: Any) -> list[bytes]:
    body = json.dumps(answer).encode()
    start_response(status, [("Content-Type", "application/x-amz-json-1.0"), ("Content-Length", str(len(body)))])
    return [body]


def _error(start_response: Callable[..., Any], code: str, message: str) -> list[bytes]:
    return _json(
        start_response, "400 Bad Request", {"__type": f"com.amazonaws.dynamodb.v20120810#{code}", "message": message}
    )
