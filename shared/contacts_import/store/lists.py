"""The lists table: a list's size, moved once per finished job (see JobStore.finish)."""

from __future__ import annotations

from typing import Any

from contacts_import.store.dynamo import plain


class ListStore:
    def __init__(self, resource: Any, table_name: str) -> None:
        self._table = resource.Table(table_name)

    def get(self, account_id: str, list_id: str) -> dict[str, Any] | None:
        """The list, once an import into it has finished: an item that only announces the jobs
        reducing into it (``reducing_jobs``, see JobStore.begin_phase) is not a list yet."""
        item = self._table.get_item(Key={"account_id": account_id, "list_id": list_id}, ConsistentRead=True).get("Item")
        return plain(item) if item and "total_contacts" in item else None

    def total_contacts(self, account_id: str, list_id: str) -> int:
        item = self.get(account_id, list_id)
        return int(item.get("total_contacts", 0)) if item else 0
