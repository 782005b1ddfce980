"""The row errors table: one item per refused row, keyed by job and row number.

Keyed by row, a re-run of the same job overwrites its own errors instead of adding to them.
Errors hold the row's values (personal data) and expire after the configured retention.
"""

from __future__ import annotations

import time
from typing import Any

from boto3.dynamodb.conditions import Key

from contacts_import.models import RowError
from contacts_import.store.dynamo import batch_write, decode_cursor, encode_cursor, encode_item, json_ready

# Keep the original row with its error only while it is small enough to sit in one item.
MAX_RAW_CHARS = 64 * 1024
FLUSH_EVERY = 100


def job_key(account_id: str, job_id: str) -> str:
    return f"{account_id}#{job_id}"


class RowErrorWriter:
    """Collects a run's row errors and writes them in batches (the run's RowErrorSink)."""

    def __init__(
        self,
        resource: Any,
        table_name: str,
        account_id: str,
        job_id: str,
        retention_days: int,
        fast_client: Any = None,
        limit: int | None = None,
    ) -> None:
        self._resource = resource
        # With a plain client, items are encoded by hand (a file of many bad rows writes many errors).
        self._fast_client = fast_client
        self._table_name = table_name
        self._job_key = job_key(account_id, job_id)
        self._expires_at = int(time.time()) + retention_days * 86400
        self._buffer: list[dict[str, Any]] = []
        self.count = 0
        # At most this many are stored (the first, in row order); the others are only counted.
        self._limit = limit
        self.not_stored = 0

    def add(self, error: RowError, raw: list[str] | None) -> None:
        if self._limit is not None and self.count - self.not_stored >= self._limit:
            self.count += 1
            self.not_stored += 1
            return
        item: dict[str, Any] = {
            "job_key": self._job_key,
            "row": error.row,
            "code": error.code,
            "message": error.message,
            "expires_at": self._expires_at,
        }
        if error.column is not None:
            item["column"] = error.column
        if error.value is not None:
            item["value"] = error.value
        if raw is not None and sum(len(v) for v in raw) <= MAX_RAW_CHARS:
            item["raw"] = raw
        self._buffer.append(item)
        self.count += 1
        if len(self._buffer) >= FLUSH_EVERY:
            self.flush()

    def flush(self) -> None:
        if self._buffer:
            if self._fast_client is not None:
                requests = [{"PutRequest": {"Item": encode_item(i)}} for i in self._buffer]
                batch_write(self._fast_client, self._table_name, requests)
            else:
                batch_write(self._resource, self._table_name, [{"PutRequest": {"Item": i}} for i in self._buffer])
            self._buffer.clear()


class RowErrorReader:
    def __init__(self, resource: Any, table_name: str) -> None:
        self._table = resource.Table(table_name)

    def page(
        self, account_id: str, job_id: str, limit: int, cursor: str | None
    ) -> tuple[list[dict[str, Any]], str | None]:
        key = job_key(account_id, job_id)
        query: dict[str, Any] = {"KeyConditionExpression": Key("job_key").eq(key), "Limit": limit}
        start = decode_cursor(cursor, {"job_key": key})
        if start:
            query["ExclusiveStartKey"] = start
        response = self._table.query(**query)
        return [_error(i) for i in response.get("Items", [])], encode_cursor(response.get("LastEvaluatedKey"))

    def after(self, account_id: str, job_id: str, row: int, limit: int) -> tuple[list[dict[str, Any]], bool]:
        """Up to ``limit`` errors past ``row``, in row order, and whether there are more."""
        response = self._table.query(
            KeyConditionExpression=Key("job_key").eq(job_key(account_id, job_id)) & Key("row").gt(row),
            Limit=limit + 1,
        )
        items = [_error(i) for i in response.get("Items", [])]
        # A page cut short by DynamoDB's 1 MB has a LastEvaluatedKey too: then there are more.
        return items[:limit], len(items) > limit or "LastEvaluatedKey" in response

    def all(self, account_id: str, job_id: str, page_size: int = 1000):  # type: ignore[no-untyped-def]
        cursor = None
        while True:
            items, cursor = self.page(account_id, job_id, page_size, cursor)
            yield from items
            if not cursor:
                return


def _error(item: dict[str, Any]) -> dict[str, Any]:
    error = json_ready(item)
    error.pop("job_key", None)
    error.pop("expires_at", None)
    return error
