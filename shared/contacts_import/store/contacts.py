"""The contacts table: one item per (account, list, E.164 phone).

Contacts are written in blind batches (BatchWriteItem) while one job at a time reduces into a
list, and on conditions in transactions while another one does too (see ``reducers``)."""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from typing import Any

from boto3.dynamodb.conditions import Key
from botocore.exceptions import ClientError

from contacts_import.pipeline.outcomes import ExistingContact, GuardedWrite, Reducers
from contacts_import.store.dynamo import (
    MAX_UNPROCESSED_ROUNDS,
    backoff_sleep,
    batch_get,
    batch_write,
    cancellation_codes,
    decode_cursor,
    decode_item,
    dynamodb_fast_client,
    encode_cursor,
    encode_item,
    plain,
)

# TransactWriteItems takes at most 100 actions (and 4 MB), and DynamoDB refuses a transaction over
# either whole: batches are cut here. A batch of decided contacts (DECIDE_BATCH) is one transaction.
TRANSACT_WRITE_LIMIT = 100
# On a list's item (Lists table): the string set of the jobs reducing into the list now, and how
# many announcements it has had (a number that only grows).
REDUCING_JOBS = "reducing_jobs"
REDUCERS_ANNOUNCED = "reducers_announced"


# ... and at most 4 MB of items; contacts may take up to MAX_CONTACT_BYTES each, so a batch of them
# is cut by size as well (what an item takes is over-estimated by its JSON, with room for keys and
# conditions).
TRANSACT_WRITE_BYTES = 4_000_000 - 256 * 1024


def transaction_batches(writes: Sequence[GuardedWrite]) -> Iterator[list[GuardedWrite]]:
    """``writes`` in order, in batches DynamoDB takes as one transaction."""
    batch: list[GuardedWrite] = []
    size = 0
    for write in writes:
        item_size = len(json.dumps(write.item, ensure_ascii=False, default=str).encode())
        if batch and (len(batch) == TRANSACT_WRITE_LIMIT or size + item_size > TRANSACT_WRITE_BYTES):
            yield batch
            batch, size = [], 0
        batch.append(write)
        size += item_size
    if batch:
        yield batch


class ContactsContended(RuntimeError):
    """Raised to have the task retried from its queue: transactions on a list's contacts kept
    conflicting with other writes to the same contacts."""


def list_key(account_id: str, list_id: str) -> str:
    return f"{account_id}#{list_id}"


class ContactStore:
    """Contacts of one list: the repository the import run reads and writes through.

    Batches go through a plain client with items encoded by hand (the hot path of an import);
    single reads and pages through the resource.
    """

    def __init__(
        self,
        resource: Any,
        table_name: str,
        account_id: str,
        list_id: str,
        fast_client: Any = None,
        *,
        lists_table: str | None = None,
    ) -> None:
        self._resource = resource
        self._lists_table = lists_table
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

    def reducers(self) -> Reducers:
        """The jobs announced on the list's item as reducing into it (see JobStore.begin_phase), read
        strongly consistent: an announcement made before now is seen."""
        if self._lists_table is None:
            raise ValueError("a ContactStore built without its lists table cannot tell who reduces into the list")
        item = (
            self._client.get_item(
                TableName=self._lists_table,
                Key={"account_id": {"S": self._account_id}, "list_id": {"S": self._list_id}},
                ConsistentRead=True,
                ProjectionExpression=f"{REDUCING_JOBS}, {REDUCERS_ANNOUNCED}",
            ).get("Item")
            or {}
        )
        return Reducers(
            jobs=frozenset(item.get(REDUCING_JOBS, {}).get("SS", ())),
            announced=int(item.get(REDUCERS_ANNOUNCED, {}).get("N", 0)),
        )

    def write_unless_changed(self, writes: Sequence[GuardedWrite]) -> set[str]:
        """Each contact on the condition that it is stored as it was read, in transactions of at most
        TRANSACT_WRITE_LIMIT; the phones whose condition failed, which are not written.

        A cancelled transaction writes nothing: its contacts whose condition held are sent again
        without those that failed. A cancellation by a conflict (another write to one of its
        contacts while it ran) is waited out as throttling is; ContactsContended if it persists."""
        changed: set[str] = set()
        for batch in transaction_batches(writes):
            pending = list(batch)
            for attempt in range(MAX_UNPROCESSED_ROUNDS):
                failed = self._transact(pending)
                if failed is None:
                    break
                if failed:
                    changed.update(failed)
                    pending = [w for w in pending if w.item["phone"] not in failed]
                    if not pending:
                        break
                else:
                    backoff_sleep(attempt)
            else:
                raise ContactsContended(
                    f"transactions on list {self._list_id!r} kept conflicting after {MAX_UNPROCESSED_ROUNDS} attempts"
                )
        return changed

    def _transact(self, writes: Sequence[GuardedWrite]) -> set[str] | None:
        """None when the transaction was written; else the phones whose condition failed (empty when
        it was cancelled for another reason, such as a conflict)."""
        try:
            self._client.transact_write_items(TransactItems=[self._guarded_put(w) for w in writes])
            return None
        except ClientError as error:
            reasons = cancellation_codes(error)
            if reasons is None or len(reasons) != len(writes):
                raise  # not cancelled, or without a reason per item: we cannot tell which one changed
            failed = zip(writes, reasons, strict=True)
            return {write.item["phone"] for write, code in failed if code == "ConditionalCheckFailed"}

    def _guarded_put(self, write: GuardedWrite) -> dict[str, Any]:
        put: dict[str, Any] = {"TableName": self._table_name, "Item": encode_item(self._to_item(write.item))}
        if write.seen is None:
            # Missing as we read it; another run of this same job may have written it since (the
            # same item), and nobody else.
            put["ConditionExpression"] = (
                "attribute_not_exists(phone) OR (created_job_id = :job AND import_job_id = :job)"
            )
            put["ExpressionAttributeValues"] = {":job": {"S": write.item["created_job_id"]}}
        elif write.seen.import_job_id is None:
            put["ConditionExpression"] = "attribute_exists(phone) AND attribute_not_exists(import_job_id)"
        else:
            # A job writes a contact once (its repeats find it written), so the last job that wrote
            # it says whether it is the version we read.
            put["ConditionExpression"] = "import_job_id = :seen"
            put["ExpressionAttributeValues"] = {":seen": {"S": write.seen.import_job_id}}
        return {"Put": put}

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
