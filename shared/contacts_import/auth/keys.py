"""API keys: random secrets shown once, stored only as a SHA-256 hash with their account and scopes.

A key is ``cik_`` followed by 32 bytes of URL-safe randomness (256 bits). A hash without salt is
enough here because the keys are random and long; a leaked table does not reveal a usable key.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

ALL_SCOPES: tuple[str, ...] = ("imports:write", "imports:read", "contacts:read")
KEY_PREFIX = "cik_"


@dataclass(frozen=True)
class ApiKeyRecord:
    """What the keys table holds for one key: never the key itself."""

    key_hash: str
    account_id: str
    scopes: tuple[str, ...] = ALL_SCOPES
    created_at: str = field(default_factory=lambda: datetime.now(UTC).isoformat(timespec="seconds"))
    key_hint: str = ""
    # A browser session token (auth.sessions) is stored here too, with what binds it: its id (which
    # the jobs it creates record), the list it is pinned to, and when it ends (Unix seconds; also
    # the table's TTL attribute, so DynamoDB deletes it some time after).
    session_id: str | None = None
    list_id: str | None = None
    expires_at: int | None = None

    def to_item(self) -> dict[str, Any]:
        item: dict[str, Any] = {
            "key_hash": self.key_hash,
            "account_id": self.account_id,
            "scopes": list(self.scopes),
            "created_at": self.created_at,
            "key_hint": self.key_hint,
        }
        if self.session_id is not None:
            item |= {"session_id": self.session_id, "expires_at": self.expires_at}
            if self.list_id is not None:
                item["list_id"] = self.list_id
        return item

    @classmethod
    def from_item(cls, item: dict[str, Any]) -> ApiKeyRecord:
        return cls(
            key_hash=item["key_hash"],
            account_id=item["account_id"],
            scopes=tuple(item.get("scopes") or ()),
            created_at=item.get("created_at", ""),
            key_hint=item.get("key_hint", ""),
            session_id=item.get("session_id"),
            list_id=item.get("list_id"),
            expires_at=int(item["expires_at"]) if item.get("expires_at") is not None else None,
        )

    def expired(self, now: float) -> bool:
        """Whether the record no longer admits its bearer: a session past its end. DynamoDB's TTL
        deletes such an item only eventually (within days), so the end is checked, never assumed."""
        return self.expires_at is not None and now >= self.expires_at


def hash_api_key(api_key: str) -> str:
    return hashlib.sha256(api_key.encode("utf-8")).hexdigest()


def new_api_key() -> str:
    return KEY_PREFIX + secrets.token_urlsafe(32)


def record_for_key(api_key: str, account_id: str, scopes: tuple[str, ...] = ALL_SCOPES) -> ApiKeyRecord:
    # The hint (last four characters) lets a person tell keys apart in a listing without the secret.
    return ApiKeyRecord(key_hash=hash_api_key(api_key), account_id=account_id, scopes=scopes, key_hint=api_key[-4:])


def usage_identifier_key(account_id: str) -> str:
    """The account's key in API Gateway's usage plan: the authorizer answers it as
    ``usageIdentifierKey`` and API Gateway throttles each account by it.

    Derived from the account, so nothing more is stored. It is not a secret: with the API's key
    source set to AUTHORIZER, API Gateway takes it only from the authorizer, never from a request.
    """
    return "ciu_" + hashlib.sha256(f"contacts-import usage plan:{account_id}".encode()).hexdigest()[:40]


def bearer_token(authorization_header: str | None) -> str | None:
    """The key from ``Authorization: Bearer <key>``; None when the header is absent or malformed."""
    if not authorization_header:
        return None
    scheme, _, token = authorization_header.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()
