"""The cap on an account's imports in flight, over HTTP through the local gateway: the 429 and its
rate-limit headers reach the client as the function set them."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable

import pytest
import requests

from tests.e2e.stack import LocalStackHandle

pytestmark = pytest.mark.e2e


def test_an_account_at_its_cap_of_imports_in_flight_gets_429_with_when_to_retry(
    local_stack: LocalStackHandle, make_api_key: Callable[..., str]
) -> None:
    cap = int(local_stack.template.function("CreateImportFunction").environment["MAX_JOBS_IN_FLIGHT"])
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {make_api_key(f'capped-{uuid.uuid4().hex[:8]}')}"
    for _ in range(cap):  # presigned uploads never sent: each one holds a slot until its URL expires
        assert session.post(local_stack.url("/imports/uploads"), json={}, timeout=60).status_code == 201

    before = int(time.time())
    refused = session.post(
        local_stack.url("/imports"), data=b"phone\n+12127365000\n", headers={"Content-Type": "text/csv"}, timeout=60
    )
    assert refused.status_code == 429, refused.text
    assert refused.json()["error"]["code"] == "rate_limited"
    assert refused.headers["X-Request-ID"] == refused.json()["meta"]["request_id"]
    retry_after = int(refused.headers["Retry-After"])
    assert refused.headers["X-RateLimit-Limit"] == str(cap)
    assert refused.headers["X-RateLimit-Remaining"] == "0"
    assert int(refused.headers["X-RateLimit-Reset"]) >= before + retry_after  # Unix time to retry at

    # The rest of the API still answers this account.
    assert session.get(local_stack.url("/imports"), timeout=60).status_code == 200
