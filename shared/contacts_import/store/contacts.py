"""The contacts table: one item per (account, list, E.164 phone), under the partition key of the
phone's shard (see ``pipeline.shards``).

Contacts are written in blind batches (BatchWriteItem): the reduce task that writes a shard holds
that shard's lease (``store.leases``) and decided what it writes from a read taken after it took
the lease, so no other job writes those contacts meanwhile."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from contacts_import.errors import NotFound
from contacts_import.pipeline.shards import (
    LEGACY,
    contact_key,
    partition_key,
    shard_of,
    shard_spans,
)
from contacts_import.pipeline.stores import ExistingContact
from contacts_import.store.dynamo import (
    NO_PAGE,
    batch_get,
    batch_write,
    decode_cursor,
    decode_item,
    dynamodb_fast_client,
    encode_cursor,
    encode_item,
    json_ready,
)


class ContactStore:
    """Contacts of one list: the repository the import run reads and writes through.

    ``shards`` is the list's (``LEGACY`` for a list made before shards). Phones of the shards in
    ``assume_absent`` are not looked up: only this job has ever written them (a new list's shards,
    see ``store.leases``), so what it would find there is what it wrote itself, which it decides the
    same way as a contact it does not find. Batches go through a plain client with items encoded by
    hand (the hot path of an import); single reads and pages through the resource.
    """

    def __init__(
        self,
        resource: Any,
        table_name: str,
        account_id: str,
        list_id: str,
        fast_client: Any = None,
        *,
        shards: int = LEGACY,
        assume_absent: frozenset[int] = frozenset(),
    ) -> None:
        self._resource = resource
        self._fast_client = fast_client
        self._table_name = table_name
        self._table = resource.Table(table_name)
        self._account_id = account_id
        self._list_id = list_id
        self.shards = shards
        self._assume_absent = assume_absent

    @property
    def _client(self) -> Any:
        if self._fast_client is None:
            self._fast_client = dynamodb_fast_client()
        return self._fast_client

    def partition_key(self, phone: str) -> str:
        return partition_key(self._account_id, self._list_id, shard_of(phone, self.shards), self.shards)

    def _key(self, phone: str) -> dict[str, Any]:
        return {"list_key": {"S": self.partition_key(phone)}, "phone": {"S": phone}}

    def find_existing(self, phones: Sequence[str]) -> dict[str, ExistingContact]:
        asked = [phone for phone in phones if shard_of(phone, self.shards) not in self._assume_absent]
        found: dict[str, ExistingContact] = {}
        if not asked:
            return found
        for item in batch_get(self._client, self._table_name, [self._key(phone) for phone in asked]):
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
        batch_write(self._client, self._table_name, [{"DeleteRequest": {"Key": self._key(p)}} for p in phones])

    def get(self, phone: str) -> dict[str, Any] | None:
        item = self._table.get_item(Key={"list_key": self.partition_key(phone), "phone": phone}).get("Item")
        return _from_item(item) if item else None

    def page(self, limit: int, cursor: str | None) -> tuple[list[dict[str, Any]], str | None]:
        """A page of the list's contacts: shard by shard, each in phone order. The cursor names the
        shard and the last phone given, and only this list's."""
        base = partition_key(self._account_id, self._list_id, 0, LEGACY)
        start = decode_cursor(cursor, {"list": base})
        shard = int(start["shard"]) if start else 0
        after = start.get("phone") if start else None
        if not 0 <= shard < max(self.shards, 1) or not (after is None or isinstance(after, str)):
            raise NotFound(NO_PAGE, details={"option": "cursor"})
        contacts: list[dict[str, Any]] = []
        while shard < max(self.shards, 1):
            query: dict[str, Any] = {
                "KeyConditionExpression": "list_key = :k",
                "ExpressionAttributeValues": {":k": partition_key(self._account_id, self._list_id, shard, self.shards)},
                "Limit": limit - len(contacts),
            }
            if after:
                query["ExclusiveStartKey"] = {"list_key": query["ExpressionAttributeValues"][":k"], "phone": after}
            response = self._table.query(**query)
            contacts.extend(_from_item(item) for item in response.get("Items", []))
            if len(contacts) >= limit:
                last = response.get("LastEvaluatedKey")
                if last is None:  # this shard is done: the next page starts at the next one
                    shard, after = shard + 1, None
                    if shard >= max(self.shards, 1):
                        return contacts, None
                    return contacts, encode_cursor({"list": base, "shard": shard, "phone": None})
                return contacts, encode_cursor({"list": base, "shard": shard, "phone": contacts[-1]["phone"]})
            if "LastEvaluatedKey" in response:  # a page DynamoDB cut short (1 MB): the same shard again
                after = response["LastEvaluatedKey"]["phone"]
                continue
            shard, after = shard + 1, None
        return contacts, None

    def keys_between(self, lo: str | None, hi: str | None) -> Iterator[str]:
        """The contact keys of the list ``lo <= key < hi`` (None: open-ended), in ascending order,
        a page at a time."""
        for span in shard_spans(lo, hi, self.shards):
            for phone in self._phones_of_shard(span.shard, span.lo, span.hi):
                yield contact_key(phone, self.shards)

    def _phones_of_shard(self, shard: int, lo: str | None, hi: str | None) -> Iterator[str]:
        key = partition_key(self._account_id, self._list_id, shard, self.shards)
        condition = "list_key = :k"
        values: dict[str, Any] = {":k": key}
        if lo is not None:
            condition += " AND phone >= :lo"
            values[":lo"] = lo
        query: dict[str, Any] = {
            "KeyConditionExpression": condition,
            "ExpressionAttributeValues": values,
            "ProjectionExpression": "phone",
        }
        while True:
            response = self._table.query(**query)
            for item in response.get("Items", []):
                if hi is not None and item["phone"] >= hi:
                    return
                yield item["phone"]
            if "LastEvaluatedKey" not in response:
                return
            query["ExclusiveStartKey"] = response["LastEvaluatedKey"]

    def _to_item(self, contact: dict[str, Any]) -> dict[str, Any]:
        item = {key: value for key, value in contact.items() if value not in (None, "", [], {})}
        item["list_key"] = self.partition_key(contact["phone"])
        item["account_id"] = self._account_id
        item["list_id"] = self._list_id
        if "tags" in item:
            item["tags"] = set(item["tags"])  # a string set, as the contract says
        return item


def _from_item(item: dict[str, Any]) -> dict[str, Any]:
    contact = json_ready(item)
    contact.pop("list_key", None)
    contact.pop("account_id", None)
    return contact
