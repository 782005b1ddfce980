"""The mapping profiles table: an account's saved mappings, one item per (account, name)."""

from __future__ import annotations

from typing import Any

from boto3.dynamodb.conditions import Key

from contacts_import.profiles import MappingProfile
from contacts_import.store.dynamo import decode_cursor, encode_cursor, json_ready

# An account's profiles that the drop folder compares a file's headers with: read whole, in pages.
MAX_PROFILES_READ = 1000


class MappingProfileStore:
    def __init__(self, resource: Any, table_name: str) -> None:
        self._table = resource.Table(table_name)

    def put(self, account_id: str, profile: MappingProfile) -> None:
        self._table.put_item(Item={"account_id": account_id, **profile.model_dump(mode="json")})

    def get(self, account_id: str, name: str) -> MappingProfile | None:
        item = self._table.get_item(Key={"account_id": account_id, "name": name}, ConsistentRead=True).get("Item")
        return _profile(item) if item else None

    def delete(self, account_id: str, name: str) -> bool:
        """Whether there was such a profile."""
        answer = self._table.delete_item(Key={"account_id": account_id, "name": name}, ReturnValues="ALL_OLD")
        return bool(answer.get("Attributes"))

    def page(self, account_id: str, limit: int, cursor: str | None) -> tuple[list[MappingProfile], str | None]:
        query: dict[str, Any] = {"KeyConditionExpression": Key("account_id").eq(account_id), "Limit": limit}
        start = decode_cursor(cursor, {"account_id": account_id})
        if start:
            query["ExclusiveStartKey"] = start
        response = self._table.query(**query)
        return [_profile(i) for i in response.get("Items", [])], encode_cursor(response.get("LastEvaluatedKey"))

    def all(self, account_id: str) -> list[MappingProfile]:
        profiles: list[MappingProfile] = []
        cursor: str | None = None
        while len(profiles) < MAX_PROFILES_READ:
            page, cursor = self.page(account_id, 100, cursor)
            profiles += page
            if cursor is None:
                break
        return profiles


def _profile(item: dict[str, Any]) -> MappingProfile:
    ready = json_ready(item)
    ready.pop("account_id", None)
    return MappingProfile.model_validate(ready)
