"""DynamoDB plumbing shared by the stores: clients with retries, batch limits, cursors.

BatchWriteItem takes at most 25 items and BatchGetItem 100 keys, and DynamoDB refuses a request
that asks for more: the requests are cut here. Unprocessed items are retried with exponential
backoff and full jitter; throttling errors are retried by botocore's standard retry mode, and
transaction conflicts by the hook below, since botocore does not count them as retryable.
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
from boto3.dynamodb.types import TypeDeserializer
from botocore.config import Config
from botocore.exceptions import ClientError

from contacts_import.errors import NotFound
from contacts_import.store.metering import meter_dynamodb

BATCH_WRITE_LIMIT = 25
BATCH_GET_LIMIT = 100
# Up to about a minute of waiting with the backoff below (full jitter, at most 5 s a round): a list's
# contacts share one partition key, and parallel chunk workers meet its throttle; a batch waits it
# out rather than fail its task (whose message would come back only after the visibility timeout).
MAX_UNPROCESSED_ROUNDS = 20
BOTO_CONFIG = Config(retries={"mode": "standard", "max_attempts": 10}, connect_timeout=5, read_timeout=30)


class UnprocessedItemsError(RuntimeError):
    """DynamoDB kept refusing part of a batch; the invocation fails so that it is retried whole."""


# The hot path (contacts in batches) skips botocore's parameter validation: the requests are
# built by our own code, and validating 25 items per call costs as much as sending them.
FAST_CONFIG = BOTO_CONFIG.merge(Config(parameter_validation=False))


# A write that meets a transaction on one of its items is refused, the whole of it unwritten:
# TransactionConflictException for a single write, a TransactionCanceledException whose reasons are
# all TransactionConflict (or None) for a transaction. Sent again, its conditions are checked anew.
CONFLICT_RETRY_ATTEMPTS = 10


def conflict_retry_delay(response: Any = None, attempts: int = 0, **_: Any) -> float | None:
    """botocore's ``needs-retry`` hook: seconds to wait before a request refused only for a
    conflict with a transaction is sent again (exponential backoff, full jitter); None otherwise."""
    if response is None or attempts >= CONFLICT_RETRY_ATTEMPTS:
        return None
    parsed = response[1] if isinstance(response, tuple) and len(response) > 1 else {}
    code = parsed.get("Error", {}).get("Code")
    reasons = [reason.get("Code") for reason in parsed.get("CancellationReasons") or []]
    conflicted = code == "TransactionConflictException" or (
        code == "TransactionCanceledException"
        and "TransactionConflict" in reasons
        and all(reason in ("TransactionConflict", "None", None) for reason in reasons)
    )
    return random.uniform(0, min(5.0, 0.05 * 2**attempts)) if conflicted else None


def _retrying_conflicts(client: Any) -> Any:
    """The client, sending conflicts again and metered (``store.metering``)."""
    client.meta.events.register("needs-retry.dynamodb", conflict_retry_delay)
    return meter_dynamodb(client)


def dynamodb_resource() -> Any:
    resource = boto3.resource("dynamodb", config=BOTO_CONFIG)
    _retrying_conflicts(resource.meta.client)
    return resource


def dynamodb_fast_client() -> Any:
    """A plain client (no resource-layer type conversion) for the batch hot path."""
    return _retrying_conflicts(boto3.client("dynamodb", config=FAST_CONFIG))


def encode_item(item: dict[str, Any]) -> dict[str, Any]:
    """A contact-shaped item in DynamoDB's wire form: strings, numbers, booleans, string sets
    (Python sets), lists of strings, and maps of those. Much cheaper than boto3's TypeSerializer."""
    return {name: _encode(value) for name, value in item.items()}


def _encode(value: Any) -> dict[str, Any]:
    if isinstance(value, str):
        return {"S": value}
    if isinstance(value, bool):
        return {"BOOL": value}
    if isinstance(value, int | Decimal):
        return {"N": str(value)}
    if isinstance(value, set | frozenset):
        return {"SS": sorted(value)}
    if isinstance(value, list | tuple):
        return {"L": [_encode(v) for v in value]}
    if isinstance(value, dict):
        return {"M": {k: _encode(v) for k, v in value.items()}}
    if value is None:
        return {"NULL": True}
    raise TypeError(f"cannot store a {type(value).__name__} in a contact item")


_DESERIALIZER = TypeDeserializer()


def decode_item(item: dict[str, Any]) -> dict[str, Any]:
    return {name: _DESERIALIZER.deserialize(value) for name, value in item.items()}


def cancellation_codes(error: ClientError) -> list[str | None] | None:
    """The code of each action of a cancelled transaction, in order ("ConditionalCheckFailed",
    "None", ...); None when the error is not a cancelled transaction."""
    if error.response.get("Error", {}).get("Code") != "TransactionCanceledException":
        return None
    return [reason.get("Code") for reason in error.response.get("CancellationReasons", [])]


def chunks(items: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def backoff_sleep(
    attempt: int, base: float = 0.05, cap: float = 5.0, sleep: Callable[[float], None] = time.sleep
) -> None:
    sleep(random.uniform(0, min(cap, base * (2**attempt))))


def batch_write(dynamodb: Any, table_name: str, requests: Sequence[dict[str, Any]]) -> None:
    """Put or delete requests (``{"PutRequest": ...}``), 25 at a time, until all are processed.

    ``dynamodb`` is a resource (items as Python values) or a plain client (items in wire form)."""
    for chunk in chunks(requests, BATCH_WRITE_LIMIT):
        pending: dict[str, Any] = {table_name: list(chunk)}
        for attempt in range(MAX_UNPROCESSED_ROUNDS):
            response = dynamodb.batch_write_item(RequestItems=pending)
            pending = response.get("UnprocessedItems") or {}
            if not pending:
                break
            backoff_sleep(attempt)
        else:
            raise UnprocessedItemsError(f"{table_name}: items still unprocessed after {MAX_UNPROCESSED_ROUNDS} rounds")


def batch_get(
    dynamodb: Any,
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
            response = dynamodb.batch_get_item(RequestItems=pending)
            found.extend(response.get("Responses", {}).get(table_name, []))
            pending = response.get("UnprocessedKeys") or {}
            if not pending:
                break
            backoff_sleep(attempt)
        else:
            raise UnprocessedItemsError(f"{table_name}: keys still unprocessed after {MAX_UNPROCESSED_ROUNDS} rounds")
    return found


def json_ready(value: Any) -> Any:
    """DynamoDB's Decimals and sets as JSON-friendly ints, floats and sorted lists."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, set | frozenset):
        return sorted(json_ready(v) for v in value)
    if isinstance(value, dict):
        return {k: json_ready(v) for k, v in value.items()}
    if isinstance(value, list):
        return [json_ready(v) for v in value]
    return value


def encode_cursor(last_key: dict[str, Any] | None) -> str | None:
    if not last_key:
        return None
    raw = json.dumps(json_ready(last_key), separators=(",", ":"), sort_keys=True).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str | None, required: dict[str, Any]) -> dict[str, Any] | None:
    """The start key from a cursor; NotFound unless it is one this API gave out for the caller's own
    partition. A cursor names a page: one that names none answers 404 as any resource that is not
    there (docs/decisions.md); an ill-formed one is 400 by the parameter's pattern."""
    if not cursor:
        return None
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        key = json.loads(base64.urlsafe_b64decode(padded.encode()))
    except (ValueError, TypeError):
        raise NotFound(NO_PAGE, details={"option": "cursor"}) from None
    if not isinstance(key, dict) or any(key.get(name) != value for name, value in required.items()):
        raise NotFound(NO_PAGE, details={"option": "cursor"})
    return key


NO_PAGE = "No page at this cursor: it is not one this API gave out for this account and list."
