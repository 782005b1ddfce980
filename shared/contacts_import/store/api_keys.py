"""The API keys table: one item per key hash."""

from __future__ import annotations

from typing import Any

from contacts_import.auth.keys import ApiKeyRecord


class ApiKeyStore:
    def __init__(self, table: Any) -> None:
        self._table = table

    def put(self, record: ApiKeyRecord) -> None:
        self._table.put_item(Item=record.to_item())

    def get(self, key_hash: str) -> ApiKeyRecord | None:
        item = self._table.get_item(Key={"key_hash": key_hash}, ConsistentRead=True).get("Item")
        return ApiKeyRecord.from_item(item) if item else None
