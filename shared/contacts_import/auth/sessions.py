"""Browser upload sessions: short-lived bearer tokens that an embedding page hands to the importer
instead of its API key (docs/api.md, Sessions; docs/decisions.md says why they look like this).

A token is ``cis_`` followed by 32 bytes of URL-safe randomness, stored like an API key: only its
SHA-256, in the keys table, with the account, the session's own scopes, its id, the list it may be
pinned to and its end (also the item's TTL). The authorizer finds it as it finds a key, refuses it
from its end on, and passes the session on; the routes a session may use check it again (API
Gateway caches an authorizer's answer for minutes) and keep it to the jobs it created.

A session's scopes are names no API key has: a route written for keys refuses a session (403)
unless it says it takes one and keeps it to its own jobs (``api.resolver.Caller``).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import UTC, datetime

from contacts_import.auth.keys import ApiKeyRecord, hash_api_key

SESSION_PREFIX = "cis_"
# Create imports (into the pinned list, if any); read the jobs the session created.
SESSION_CREATE = "session:imports:create"
SESSION_READ = "session:imports:read"
SESSION_SCOPES: tuple[str, ...] = (SESSION_CREATE, SESSION_READ)
# What a session's scope stands in for, on the routes that take sessions.
STANDS_FOR = {"imports:write": SESSION_CREATE, "imports:read": SESSION_READ}
MAX_TTL_SECONDS = 3600
DEFAULT_TTL_SECONDS = 900


@dataclass(frozen=True)
class NewSession:
    """A session as minted: the token (shown once, never stored) and its record."""

    token: str
    record: ApiKeyRecord

    @property
    def expires_at_iso(self) -> str:
        assert self.record.expires_at is not None
        return datetime.fromtimestamp(self.record.expires_at, UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def new_session_id() -> str:
    return "ses_" + secrets.token_hex(12)


def mint_session(account_id: str, list_id: str | None, ttl_seconds: int, now: float) -> NewSession:
    """A new session of ``account_id`` that ends ``ttl_seconds`` after ``now`` (Unix seconds)."""
    token = SESSION_PREFIX + secrets.token_urlsafe(32)
    record = ApiKeyRecord(
        key_hash=hash_api_key(token),
        account_id=account_id,
        scopes=SESSION_SCOPES,
        created_at=datetime.fromtimestamp(now, UTC).isoformat(timespec="seconds"),
        key_hint=token[-4:],
        session_id=new_session_id(),
        list_id=list_id,
        expires_at=int(now) + ttl_seconds,
    )
    return NewSession(token, record)
