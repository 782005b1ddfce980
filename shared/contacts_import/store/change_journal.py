"""A job's change journal (``pipeline.journal``) in the row errors table, under a partition key of
its own (``<account>#<job>#changes``) and keyed by row, with the row errors' retention: a dry run's
plan, or an import's before-images, for as long as the job's errors are kept.

Each entry is one item whose ``entry`` is its JSON (a before-image holds any of a contact's fields;
one string is the smallest item and the cheapest to encode). Written by row, a task run again
overwrites its own entries with the same content."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator, Sequence
from typing import Any

from contacts_import.pipeline.journal import JournalEntry
from contacts_import.store.dynamo import batch_write
from contacts_import.store.row_errors import job_key

_encode = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode


def journal_key(account_id: str, job_id: str) -> str:
    return f"{job_key(account_id, job_id)}#changes"


class ChangeJournalStore:
    """One job's journal: written by its reduce tasks, read by the plan and by an undo."""

    def __init__(self, client: Any, table_name: str, account_id: str, job_id: str, retention_days: int) -> None:
        self._client = client
        self._table_name = table_name
        self._key = journal_key(account_id, job_id)
        self._expires_at = str(int(time.time()) + retention_days * 86400)

    def record(self, entries: Sequence[JournalEntry]) -> None:
        batch_write(
            self._client,
            self._table_name,
            [
                {
                    "PutRequest": {
                        "Item": {
                            "job_key": {"S": self._key},
                            "row": {"N": str(entry.row)},
                            "outcome": {"S": entry.outcome.value},
                            "entry": {"S": _encode(entry.to_json())},
                            "expires_at": {"N": self._expires_at},
                        }
                    }
                }
                for entry in entries
            ],
        )

    def after(self, row: int, limit: int, *, outcome: str | None = None) -> tuple[list[dict[str, Any]], bool]:
        """Up to ``limit`` entries past ``row`` in row order (only ``outcome``'s, if given), as their
        JSON, and whether the journal holds more past them."""
        entries: list[dict[str, Any]] = []
        query: dict[str, Any] = {
            "TableName": self._table_name,
            "KeyConditionExpression": "job_key = :k AND #r > :after",
            "ExpressionAttributeNames": {"#r": "row"},
            "ExpressionAttributeValues": {":k": {"S": self._key}, ":after": {"N": str(row)}},
            "ConsistentRead": True,
        }
        if outcome is not None:
            query["FilterExpression"] = "outcome = :o"
            query["ExpressionAttributeValues"][":o"] = {"S": outcome}
        while True:
            # DynamoDB applies Limit before the filter: a filtered page may need several reads.
            response = self._client.query(**query, Limit=limit - len(entries) + 1)
            entries.extend(json.loads(item["entry"]["S"]) for item in response.get("Items", []))
            if len(entries) > limit:
                return entries[:limit], True
            if "LastEvaluatedKey" not in response:
                return entries, False
            query["ExclusiveStartKey"] = response["LastEvaluatedKey"]

    def all(self, page_size: int = 1000) -> Iterator[dict[str, Any]]:
        row, more = 0, True
        while more:
            entries, more = self.after(row, page_size)
            yield from entries
            if entries:
                row = int(entries[-1]["row"])
