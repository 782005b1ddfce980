"""The lists table: a list's size (moved once per finished job, see JobStore.finish), how many shards
it has (decided once, by the first import into it), and its shards' leases (``store.leases``)."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from contacts_import.pipeline.shards import LEGACY
from contacts_import.store.dynamo import json_ready

SHARDS = "shards"


class ListStore:
    def __init__(self, resource: Any, table_name: str) -> None:
        self._table = resource.Table(table_name)

    def get(self, account_id: str, list_id: str) -> dict[str, Any] | None:
        """The list, once an import into it has finished: an item that only holds the list's shards
        and leases (an import into it is under way) is not a list yet."""
        item = self._table.get_item(Key={"account_id": account_id, "list_id": list_id}, ConsistentRead=True).get("Item")
        return json_ready(item) if item and "total_contacts" in item else None

    def total_contacts(self, account_id: str, list_id: str) -> int:
        item = self.get(account_id, list_id)
        return int(item.get("total_contacts", 0)) if item else 0

    def shards(self, account_id: str, list_id: str) -> int:
        """The list's shards as recorded: ``LEGACY`` for a list made before shards, or none yet."""
        item = self._table.get_item(
            Key={"account_id": account_id, "list_id": list_id}, ConsistentRead=True, ProjectionExpression=SHARDS
        ).get("Item")
        return int(item[SHARDS]) if item and SHARDS in item else LEGACY

    def shards_for_import(self, account_id: str, list_id: str, new_list_shards: int) -> int:
        """The shards an import into the list writes: those recorded; for a list nobody has imported
        into yet, ``new_list_shards``, recorded now (the first of two imports racing to record them
        wins; the other takes its answer); for a list made before shards (it has a size and no
        shards), ``LEGACY``, recorded too, so that its contacts keep the partition they are in."""
        key = {"account_id": account_id, "list_id": list_id}
        item = self._table.get_item(Key=key, ConsistentRead=True).get("Item") or {}
        if SHARDS in item:
            return int(item[SHARDS])
        decided = LEGACY if "total_contacts" in item else new_list_shards
        condition = "attribute_not_exists(#shards)"
        if decided != LEGACY:
            condition += " AND attribute_not_exists(total_contacts)"  # still nobody's list
        try:
            self._table.update_item(
                Key=key,
                UpdateExpression="SET #shards = :shards",
                ConditionExpression=condition,
                ExpressionAttributeNames={"#shards": SHARDS},
                ExpressionAttributeValues={":shards": decided},
            )
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") != "ConditionalCheckFailedException":
                raise
            return self.shards(account_id, list_id)
        return decided
