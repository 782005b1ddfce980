"""POST /v1/import/contacts, the lead-data platform's import (docs/api.md, Compatibility): its curl,
Python and JavaScript examples sent as written, but for the base URL and key, get its documented
answer shape; with a phone in each row, its documented answer itself. X-RateLimit-*, the
Idempotency-Key, the queued answer above 500 rows with its import.completed event, and the
documented errors hold there too."""

from __future__ import annotations

import json
import time
import uuid

import pytest
import requests

from contacts_import.auth.keys import ALL_SCOPES
from tests.e2e.jobs import WebhookReceiver, contact, wait_for_end, webhook_secret
from tests.e2e.stack import LocalStackHandle, OwnAccount

pytestmark = pytest.mark.e2e

EXAMPLE_ROWS = [
    {"full_name": "Jane Doe", "email": "jane@acme.com"},
    {"full_name": "Bob Smith", "email": "bob@beta.com"},
]
# Their examples: the curl and JavaScript ones send the rows, the Python one update_existing too.
EXAMPLES = {
    "curl": {"rows": EXAMPLE_ROWS},
    "python": {"rows": EXAMPLE_ROWS, "update_existing": True},
    "javascript": {"rows": EXAMPLE_ROWS},
}
WITH_PHONES = [
    {"full_name": "Jane Doe", "email": "jane@acme.com", "phone": "+12127365000"},
    {"full_name": "Bob Smith", "email": "bob@beta.com", "phone": "(650) 253-0000"},
]


def post(stack: LocalStackHandle, authorization: dict[str, str], body: object, **headers: str) -> requests.Response:
    return requests.post(
        stack.url("/v1/import/contacts"),
        headers={**authorization, "Content-Type": "application/json", **headers},
        data=json.dumps(body),
        timeout=60,
    )


def assert_rate_limit_headers(response: requests.Response, remaining_at_most: int = 10) -> None:
    assert response.headers["X-RateLimit-Limit"] == "10"  # MaxJobsInFlight in template.yaml
    assert 0 <= int(response.headers["X-RateLimit-Remaining"]) <= remaining_at_most
    assert abs(int(response.headers["X-RateLimit-Reset"]) - time.time()) < 3600
    assert response.headers["X-Request-ID"] == response.json()["meta"]["request_id"]


@pytest.mark.parametrize("example", sorted(EXAMPLES))
def test_each_documented_example_gets_the_documented_shape_its_rows_refused_for_their_missing_phone(
    local_stack: LocalStackHandle, own_account: OwnAccount, example: str
) -> None:
    response = post(local_stack, own_account.authorization, EXAMPLES[example])
    assert response.status_code == 200, response.text
    data = response.json()["data"]
    assert data["job_id"].startswith("imp_")
    # Our contacts are named by their phone (docs/api.md): rows without one are not imported.
    assert {k: v for k, v in data.items() if k != "job_id"} == {
        "status": "completed",
        "created_count": 0,
        "updated_count": 0,
        "skipped_count": 2,
        "errors": [
            {"row_number": 1, "code": "missing_phone", "message": "The row has no phone number."},
            {"row_number": 2, "code": "missing_phone", "message": "The row has no phone number."},
        ],
    }
    assert_rate_limit_headers(response)


def test_with_a_phone_in_each_row_the_examples_get_the_documented_answer(
    local_stack: LocalStackHandle, own_account: OwnAccount
) -> None:
    response = post(local_stack, own_account.authorization, {"rows": WITH_PHONES})
    assert response.status_code == 200, response.text
    data = response.json()["data"]
    assert {k: v for k, v in data.items() if k != "job_id"} == {
        "status": "completed",
        "created_count": 2,
        "updated_count": 0,
        "skipped_count": 0,
        "errors": [],
    }
    assert response.headers["Location"] == f"/imports/{data['job_id']}"
    assert_rate_limit_headers(response)
    bob = contact(local_stack, "default", "+16502530000", own_account.api_key) or {}
    assert (bob.get("name"), bob.get("email")) == ("Bob Smith", "bob@beta.com")

    # The Python example's update_existing, with the rows there now: they are updated.
    renamed = [{**row, "full_name": row["full_name"].upper()} for row in WITH_PHONES]
    updated = post(local_stack, own_account.authorization, {"rows": renamed, "update_existing": True})
    assert updated.status_code == 200, updated.text
    counts = {k: updated.json()["data"][k] for k in ("created_count", "updated_count", "skipped_count")}
    assert counts == {"created_count": 0, "updated_count": 2, "skipped_count": 0}
    assert (contact(local_stack, "default", "+16502530000", own_account.api_key) or {}).get("name") == "BOB SMITH"


def test_csv_with_a_mapping_and_their_field_names(local_stack: LocalStackHandle, own_account: OwnAccount) -> None:
    body = {
        "csv": "Full Name,Email Address,Mobile\nJane Doe,jane@acme.com,+12127365000\nNo Phone,x@y.com,\n",
        "mapping": {"Email Address": "email", "Full Name": "full_name"},
        "tags": ["import-2026"],
    }
    response = post(local_stack, own_account.authorization, body)
    assert response.status_code == 200, response.text
    data = response.json()["data"]
    assert (data["created_count"], data["skipped_count"]) == (1, 1)
    assert data["errors"] == [{"row_number": 3, "code": "missing_phone", "message": "The row has no phone number."}]
    jane = contact(local_stack, "default", "+12127365000", own_account.api_key) or {}
    assert (jane.get("name"), jane.get("tags")) == ("Jane Doe", ["import-2026"])


def test_the_same_idempotency_key_returns_the_original_result(
    local_stack: LocalStackHandle, own_account: OwnAccount
) -> None:
    first = post(local_stack, own_account.authorization, {"rows": WITH_PHONES}, **{"Idempotency-Key": "nightly-1"})
    again = post(local_stack, own_account.authorization, {"rows": WITH_PHONES}, **{"Idempotency-Key": "nightly-1"})
    assert first.status_code == again.status_code == 200, (first.text, again.text)
    assert again.json()["data"] == first.json()["data"]  # the same job, not a second import that skips both
    assert first.json()["data"]["created_count"] == 2


def test_more_than_500_rows_are_queued_and_announce_import_completed(
    local_stack: LocalStackHandle, own_account: OwnAccount
) -> None:
    rows = [{"full_name": f"Lead {n}", "phone": f"+1212555{n:04d}"} for n in range(501)]
    webhook_secret(local_stack, own_account.account_id)  # an account signs its webhooks with its own
    with WebhookReceiver() as receiver:
        response = post(local_stack, own_account.authorization, {"rows": rows, "webhook_url": receiver.url})
        assert response.status_code == 202, response.text
        data = response.json()["data"]
        assert data["status"] == "queued"
        assert response.headers["Location"] == data["status_url"] == f"/imports/{data['job_id']}"
        assert_rate_limit_headers(response)
        job = wait_for_end(local_stack, data["job_id"], own_account.api_key)
        ((_, body),) = receiver.wait_for(1)
    assert job["counts"]["created"] == 501
    event = json.loads(body)
    assert (event["event"], event["data"]["job_id"], event["data"]["counts"]) == (
        "import.completed",
        data["job_id"],
        job["counts"],
    )


def test_neither_rows_nor_csv_is_400_validation_error(local_stack: LocalStackHandle, own_account: OwnAccount) -> None:
    response = post(local_stack, own_account.authorization, {"update_existing": True})
    assert response.status_code == 400, response.text
    assert response.json()["error"]["code"] == "validation_error"


def test_a_key_without_the_write_permission_is_403_insufficient_permissions(
    local_stack: LocalStackHandle, make_api_key
) -> None:
    read_only = make_api_key(f"e2e-read-{uuid.uuid4().hex[:8]}", tuple(s for s in ALL_SCOPES if s != "imports:write"))
    response = post(local_stack, {"Authorization": f"Bearer {read_only}"}, {"rows": WITH_PHONES})
    assert response.status_code == 403, response.text
    assert response.json()["error"]["code"] == "insufficient_permissions"


def test_a_payload_over_the_direct_limit_is_413_payload_too_large(
    local_stack: LocalStackHandle, own_account: OwnAccount
) -> None:
    big = "phone,name\n" + "+12127365000,A name long enough to fill the line to some length.........\n" * 70000
    response = post(local_stack, own_account.authorization, {"csv": big})
    assert response.status_code == 413, response.text
    assert response.json()["error"]["code"] == "payload_too_large"


def test_at_the_cap_of_imports_in_flight_it_is_429_rate_limited(
    local_stack: LocalStackHandle, own_account: OwnAccount
) -> None:
    session = local_stack.session(own_account.api_key)
    for _ in range(10):  # uploads awaiting their file are in flight while their URL lives
        assert session.post(local_stack.url("/imports/uploads"), json={}, timeout=60).status_code == 201
    response = post(local_stack, own_account.authorization, {"rows": WITH_PHONES})
    assert response.status_code == 429, response.text
    assert response.json()["error"]["code"] == "rate_limited"
    assert response.headers["X-RateLimit-Remaining"] == "0"
    assert int(response.headers["X-RateLimit-Reset"]) > time.time()


def test_without_a_key_it_is_401(local_stack: LocalStackHandle) -> None:
    response = post(local_stack, {}, {"rows": WITH_PHONES})
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "unauthorized"
