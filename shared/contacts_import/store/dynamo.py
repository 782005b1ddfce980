"""DynamoDB plumbing shared by the stores: clients with retries, batch limits, cursors.

BatchWriteItem takes at most 25 items and BatchGetItem 100 keys. moto accepts more, AWS does
not, so the limits are enforced here. Unprocessed items are retried with exponential backoff and
full jitter; throttling errors are retried by botocore's standard retry mode.
"""

from __future__ import annotations

import base64
import json
import random
import time
from collections.abc import Callable, Iterator, Sequence
from decimal import Decimal
from typing import Any

import boto3
from botocore.config import Config

from contacts_import.errors import InvalidOptions

BATCH_WRITE_LIMIT = 25
BATCH_GET_LIMIT = 100
MAX_UNPROCESSED_ROUNDS = 12
BOTO_CONFIG = Config(retries={"mode": "standard", "max_attempts": 10}, connect_timeout=5, read_timeout=30)


class UnprocessedItemsError(RuntimeError):
    """DynamoDB kept refusing part of a batch; the invocation fails so that it is retried whole."""


def dynamodb_resource() -> Any:
    return boto3.resource("dynamodb", config=BOTO_CONFIG)


def chunks(items: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def backoff_sleep(
    attempt: int, base: float = 0.05, cap: float = 5.0, sleep: Callable[[float], None] = time.sleep
) -> None:
    sleep(random.uniform(0, min(cap, base * (2**attempt))))


def batch_write(resource: Any, table_name: str, requests: Sequence[dict[str, Any]]) -> None:
    """Put or delete requests (``{"PutRequest": ...}``), 25 at a time, until all are processed."""
    for chunk in chunks(requests, BATCH_WRITE_LIMIT):
        pending: dict[str, Any] = {table_name: list(chunk)}
        for attempt in range(MAX_UNPROCESSED_ROUNDS):
            response = resource.batch_write_item(RequestItems=pending)
            pending = response.get("UnprocessedItems") or {}
            if not pending:
                break
            backoff_sleep(attempt)
        else:
            raise UnprocessedItemsError(
                f"{table_name}: items still unprocessed after {MAX_UNPROCESSED_ROUNDS} rounds"
            )


def batch_get(
    resource: Any,
    table_name: str,
    keys: Sequence[dict[str, Any]],
    projection: str | None = None,
    names: dict[str, str] | None = None,
) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    for chunk in chunks(keys, BATCH_GET_LIMIT):
        request: dict[str, Any] = {"Keys": list(chunk), "ConsistentRead": True}
        if projection:
            request["ProjectionExpression"] = projection
        if names:
            request["ExpressionAttributeNames"] = names
        pending: dict[str, Any] = {table_name: request}
        for attempt in range(MAX_UNPROCESSED_ROUNDS):
            response = resource.batch_get_item(RequestItems=pending)
            found.extend(response.get("Responses", {}).get(table_name, []))
            pending = response.get("UnprocessedKeys") or {}
            if not pending:
                break
            backoff_sleep(attempt)
        else:
            raise UnprocessedItemsError(
                f"{table_name}: keys still unprocessed after {MAX_UNPROCESSED_ROUNDS} rounds"
            )
    return found


def plain(value: Any) -> Any:
    """DynamoDB's Decimals and sets as JSON-friendly ints, floats and sorted lists."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, set | frozenset):
        return sorted(plain(v) for v in value)
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    return value


def encode_cursor(last_key: dict[str, Any] | None) -> str | None:
    if not last_key:
        return None
    raw = json.dumps(plain(last_key), separators=(",", ":"), sort_keys=True).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str | None, required: dict[str, Any]) -> dict[str, Any] | None:
    """The start key from a cursor, refused unless its partition is the caller's own."""
    if not cursor:
        return None
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        key = json.loads(base64.urlsafe_b64decode(padded.encode()))
    except (ValueError, TypeError):
        raise InvalidOptions(
            "cursor is not a cursor this API gave out", details={"option": "cursor"}
        ) from None
    if not isinstance(key, dict) or any(key.get(name) != value for name, value in required.items()):
        raise InvalidOptions("cursor is not a cursor this API gave out", details={"option": "cursor"})
    return key
