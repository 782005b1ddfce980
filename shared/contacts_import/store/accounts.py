"""The accounts table: what the operator sets for each account, one item per account.

- ``webhook_secrets``: the ids of the account's webhook signing secrets, newest first, each with
  its creation time and, once a newer one replaced it, the time it stops verifying. Only ids: a
  secret is derived from its id with a key that never leaves KMS (``auth.webhook_secrets``), so a
  copy of this table signs nothing.
- ``drop_writers``: the principals (as S3 events name them, ``AWS:<id>`` or
  ``AWS:<role id>:<session>``) whose objects under ``drop/<account>/`` import into the account.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from contacts_import.store.dynamo import json_ready


@dataclass(frozen=True)
class WebhookSecretId:
    secret_id: str
    created_at: str
    retires_at: str | None = None  # ISO 8601 UTC; None while it is the newest

    def verifies_at(self, now: datetime) -> bool:
        return self.retires_at is None or datetime.fromisoformat(self.retires_at) > now


class AccountStore:
    def __init__(self, resource: Any, table_name: str) -> None:
        self._table = resource.Table(table_name)

    def _item(self, account_id: str) -> dict[str, Any]:
        item = self._table.get_item(Key={"account_id": account_id}, ConsistentRead=True).get("Item")
        return json_ready(item) if item else {}

    # -- webhook signing secrets

    def webhook_secret_ids(self, account_id: str, now: datetime) -> list[WebhookSecretId]:
        """The ids of the secrets that verify at ``now``, the newest first."""
        stored = [WebhookSecretId(**entry) for entry in self._item(account_id).get("webhook_secrets", [])]
        return [entry for entry in stored if entry.verifies_at(now)]

    def add_webhook_secret(self, account_id: str, secret_id: str, now: datetime, grace: timedelta) -> None:
        """``secret_id`` becomes the newest; the ones before it verify for ``grace`` more at most."""
        retire = (now + grace).isoformat(timespec="seconds")
        kept = []
        for entry in self.webhook_secret_ids(account_id, now):
            retires_at = min(entry.retires_at, retire) if entry.retires_at else retire
            kept.append({"secret_id": entry.secret_id, "created_at": entry.created_at, "retires_at": retires_at})
        newest = {"secret_id": secret_id, "created_at": now.isoformat(timespec="seconds"), "retires_at": None}
        self._table.update_item(
            Key={"account_id": account_id},
            UpdateExpression="SET webhook_secrets = :secrets",
            ExpressionAttributeValues={":secrets": [newest, *kept]},
        )

    # -- the drop folder's writers

    def drop_writers(self, account_id: str) -> set[str]:
        return set(self._item(account_id).get("drop_writers", ()))

    def allow_drop_writer(self, account_id: str, principal: str) -> None:
        self._table.update_item(
            Key={"account_id": account_id},
            UpdateExpression="ADD drop_writers :principal",
            ExpressionAttributeValues={":principal": {principal}},
        )

    def revoke_drop_writer(self, account_id: str, principal: str) -> None:
        self._table.update_item(
            Key={"account_id": account_id},
            UpdateExpression="DELETE drop_writers :principal",
            ExpressionAttributeValues={":principal": {principal}},
        )
