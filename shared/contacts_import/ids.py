"""Job ids: ``imp_`` + 10 characters of millisecond time + 16 of randomness, in lower-case Crockford
base32, so that ids sort by creation time (jobs list newest first) and cannot be guessed."""

from __future__ import annotations

import hashlib
import secrets
import time

_ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz"


def _base32(value: int, length: int) -> str:
    chars = []
    for _ in range(length):
        value, digit = divmod(value, 32)
        chars.append(_ALPHABET[digit])
    return "".join(reversed(chars))


def new_job_id(now_ms: int | None = None) -> str:
    millis = int(time.time() * 1000) if now_ms is None else now_ms
    return "imp_" + _base32(millis, 10) + _base32(secrets.randbits(80), 16)


def first_job_id_at(now_ms: int) -> str:
    """The lowest job id created at or after ``now_ms``: ids sort by time, so a key condition
    ``job_id >= first_job_id_at(t)`` reads only the jobs created since ``t``."""
    return "imp_" + _base32(now_ms, 10)


def job_id_for_object(now_ms: int, identity: str) -> str:
    """The same id for the same object, however often its event is delivered."""
    digest = int.from_bytes(hashlib.sha256(identity.encode("utf-8")).digest()[:10], "big")
    return "imp_" + _base32(now_ms, 10) + _base32(digest, 16)
