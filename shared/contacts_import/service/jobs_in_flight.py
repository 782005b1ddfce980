"""The cap on an account's imports in flight: each holds a processor for up to 15 minutes, and
one account must not take them all. Above it, new imports are refused with 429 ``rate_limited``.

In flight: queued or processing for less than an hour, or awaiting an upload whose URL has not
expired. The count races with a concurrent request, so two requests at the same moment may pass
the cap by one each; it bounds an account's share, it is not a lock.
"""

from __future__ import annotations

import time

from contacts_import.errors import RateLimited, rate_limit_headers
from contacts_import.settings import CreateImportSettings
from contacts_import.store.jobs import JobStore

# A job queued or processing for longer than this is stuck (Lambda gives up on a file after 15
# minutes and two retries) and no longer counts: it must not lock its account out for ever.
IN_FLIGHT_HORIZON_SECONDS = 60 * 60
# Jobs end at their own pace: this is when a retry has a fair chance, not a promise.
RETRY_AFTER_SECONDS = 30
# A presigned upload lives at most 15 minutes, whatever the template's parameter says.
MAX_UPLOAD_URL_SECONDS = 900


def upload_expiry_seconds(settings: CreateImportSettings) -> int:
    return min(settings.upload_url_expiry_seconds, MAX_UPLOAD_URL_SECONDS)


def jobs_in_flight(account_id: str, jobs: JobStore, settings: CreateImportSettings, now: float) -> int:
    return jobs.count_in_flight(
        account_id,
        running_since_ms=int((now - IN_FLIGHT_HORIZON_SECONDS) * 1000),
        awaiting_since_ms=int((now - upload_expiry_seconds(settings)) * 1000),
    )


def check_jobs_in_flight(account_id: str, jobs: JobStore, settings: CreateImportSettings) -> None:
    """Nothing, or RateLimited (429 with Retry-After and X-RateLimit-*) when the account already
    has ``settings.max_jobs_in_flight`` jobs in flight."""
    now = time.time()
    limit = settings.max_jobs_in_flight
    in_flight = jobs_in_flight(account_id, jobs, settings, now)
    if in_flight >= limit:
        raise RateLimited(
            f"This account has {in_flight} imports in flight, the most it may have at once; "
            "retry when one has ended, or cancel one.",
            limit=limit,
            retry_after_seconds=RETRY_AFTER_SECONDS,
            now=now,
            details={"jobs_in_flight": in_flight, "limit": limit},
        )


def jobs_in_flight_headers(account_id: str, jobs: JobStore, settings: CreateImportSettings) -> dict[str, str]:
    """X-RateLimit-* for an answer that is not a 429: the cap, the imports the account may still
    start, and when retrying is worth it (now, while it may start some; a 429 says the rest)."""
    now = time.time()
    limit = settings.max_jobs_in_flight
    remaining = max(0, limit - jobs_in_flight(account_id, jobs, settings, now))
    reset = int(now) if remaining else int(now) + RETRY_AFTER_SECONDS
    return rate_limit_headers(limit, remaining=remaining, reset=reset)
