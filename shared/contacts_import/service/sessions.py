"""POST /sessions: a browser upload session minted for an API key's account (auth.sessions)."""

from __future__ import annotations

from typing import Any

from contacts_import.auth.sessions import DEFAULT_TTL_SECONDS, MAX_TTL_SECONDS, NewSession, mint_session
from contacts_import.errors import InvalidOptions
from contacts_import.models import LIST_ID_PATTERN
from contacts_import.store.api_keys import ApiKeyStore


def _problem(option: str, problem: str) -> InvalidOptions:
    return InvalidOptions(
        f"Invalid options: {option}: {problem}", details={"errors": [{"option": option, "problem": problem}]}
    )


def session_request(body: Any, min_ttl_seconds: int) -> tuple[str | None, int]:
    """(list_id, ttl_seconds) of a ``{"list_id"?, "ttl_seconds"?}`` body, checked."""
    if not isinstance(body, dict):
        raise InvalidOptions("The body must be a JSON object: {'list_id'?, 'ttl_seconds'?}.")
    unknown = sorted(set(body) - {"list_id", "ttl_seconds"})
    if unknown:
        raise _problem(unknown[0], "not a member of a session request (list_id, ttl_seconds)")
    list_id = body.get("list_id")
    if list_id is not None and (not isinstance(list_id, str) or not LIST_ID_PATTERN.fullmatch(list_id)):
        raise _problem(
            "list_id", "must be a list id: 1-128 letters, digits and _ . : @ -, starting with one of the first two"
        )
    ttl = body.get("ttl_seconds", DEFAULT_TTL_SECONDS)
    if ttl is None:
        ttl = DEFAULT_TTL_SECONDS
    if isinstance(ttl, bool) or not isinstance(ttl, int) or not min_ttl_seconds <= ttl <= MAX_TTL_SECONDS:
        raise _problem("ttl_seconds", f"must be a whole number of seconds from {min_ttl_seconds} to {MAX_TTL_SECONDS}")
    return list_id, ttl


def create_session(account_id: str, body: Any, min_ttl_seconds: int, keys: ApiKeyStore, now: float) -> NewSession:
    list_id, ttl = session_request(body, min_ttl_seconds)
    session = mint_session(account_id, list_id, ttl, now)
    keys.put(session.record)
    return session
