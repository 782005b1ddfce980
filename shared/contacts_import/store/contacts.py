"""The contacts table: one item per (account, list, E.164 phone)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from boto3.dynamodb.conditions import Key

from contacts_import.pipeline.outcomes import ExistingContact
from contacts_import.store.dynamo import (
    batch_get,
    batch_write,
    decode_cursor,
    decode_item,
    dynamodb_fast_client,
    encode_cursor,
    encode_item,
    plain,
)


def list_key(account_id: str, list_id: str) -> str:
    return f"{account_id}#{list_id}"


class ContactStore:
    """Contacts of one list: the repository the import run reads and writes through.

    Batches go through a plain client with items encoded by hand (the hot path of an import);
    single reads and pages through the resource.
    """

    def __init__(self, resource: Any, table_name: str, account_id: str, list_id: str, fast_client: Any = None) -> None:
        self._resource = resource
        self._fast_client = fast_client
        self._table_name = table_name
        self._table = resource.Table(table_name)
        self._account_id = account_id
        self._list_id = list_id
        self._list_key = list_key(account_id, list_id)

    @property
    def _client(self) -> Any:
        if self._fast_client is None:
            self._fast_client = dynamodb_fast_client()
        return self._fast_client

    def find_existing(self, phones: Sequence[str]) -> dict[str, ExistingContact]:
        list_key = {"S": self._list_key}
        keys = [{"list_key": list_key, "phone": {"S": phone}} for phone in phones]
        found: dict[str, ExistingContact] = {}
        for item in batch_get(self._client, self._table_name, keys):
            stored = _from_item(decode_item(item))
            found[stored["phone"]] = ExistingContact(
                phone=stored["phone"],
                created_job_id=stored.get("created_job_id"),
                import_job_id=stored.get("import_job_id"),
                item=stored,
            )
        return found

    def write(self, items: Sequence[dict[str, Any]]) -> None:
        batch_write(
            self._client, self._table_name, [{"PutRequest": {"Item": encode_item(self._to_item(i))}} for i in items]
        )

    def delete(self, phones: Sequence[str]) -> None:
        list_key = {"S": self._list_key}
        batch_write(
            self._client,
            self._table_name,
            [{"DeleteRequest": {"Key": {"list_key": list_key, "phone": {"S": p}}}} for p in phones],
        )

    def get(self, phone: str) -> dict[str, Any] | None:
        item = self._table.get_item(Key={"list_key": self._list_key, "phone": phone}).get("Item")
        return _from_item(item) if item else None

    def page(self, limit: int, cursor: str | None) -> tuple[list[dict[str, Any]], str | None]:
        query: dict[str, Any] = {"KeyConditionExpression": Key("list_key").eq(self._list_key), "Limit": limit}
        start = decode_cursor(cursor, {"list_key": self._list_key})
        if start:
            query["ExclusiveStartKey"] = start
        response = self._table.query(**query)
        return [_from_item(i) for i in response.get("Items", [])], encode_cursor(response.get("LastEvaluatedKey"))

    def all_phones(self) -> Iterator[str]:
        return self.phones_between(None, None)

    def phones_between(self, lo: str | None, hi: str | None) -> Iterator[str]:
        """The list's phones ``lo <= phone < hi`` (None: open-ended), in ascending order, a page at a time."""
        condition = Key("list_key").eq(self._list_key)
        if lo is not None and hi is not None:
            condition &= Key("phone").between(lo, hi)  # inclusive: ``hi`` itself is left out below
        elif lo is not None:
            condition &= Key("phone").gte(lo)
        elif hi is not None:
            condition &= Key("phone").lt(hi)
        query: dict[str, Any] = {"KeyConditionExpression": condition, "ProjectionExpression": "phone"}
        while True:
            response = self._table.query(**query)
            for item in response.get("Items", []):
                if hi is None or item["phone"] < hi:
                    yield item["phone"]
            if "LastEvaluatedKey" not in response:
                return
            query["ExclusiveStartKey"] = response["LastEvaluatedKey"]

    def _to_item(self, contact: dict[str, Any]) -> dict[str, Any]:
        item = {key: value for key, value in contact.items() if value not in (None, "", [], {})}
        item["list_key"] = self._list_key
        item["account_id"] = self._account_id
        item["list_id"] = self._list_id
        if "tags" in item:
            item["tags"] = set(item["tags"])  # a string set, as the contract says
        return item


def _from_item(item: dict[str, Any]) -> dict[str, Any]:
    contact = plain(item)
    contact.pop("list_key", None)
    contact.pop("account_id", None)
    return contact
