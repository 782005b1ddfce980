"""Time as the service writes it: ISO 8601 UTC with milliseconds and a Z."""

from __future__ import annotations

from datetime import UTC, datetime


def utc_now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def epoch_ms_of(iso_time: str) -> int:
    """Milliseconds since the epoch of an ISO time such as an S3 event's ``eventTime``."""
    return int(datetime.fromisoformat(iso_time.replace("Z", "+00:00")).timestamp() * 1000)
