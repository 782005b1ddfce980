"""The cap on an account's imports in flight: 429 rate_limited with Retry-After and X-RateLimit-*
above it, counted on the account's recent jobs only."""

from __future__ import annotations

import json
import time

import boto3

from contacts_import.ids import new_job_id
from tests.integration.api_calls import SMALL, error_code, post_csv, run_all
from tests.sample_events import api_event, body_of


def cap(stack) -> int:
    return int(stack.template.function("CreateImportFunction").environment["MAX_JOBS_IN_FLIGHT"])


def new_upload(stack, account_id: str = "local"):
    event = api_event(
        "api_post_uploads.json",
        body=json.dumps({"file_name": "later.csv"}).encode(),
        content_type="application/json",
        account_id=account_id,
    )
    return stack.invoke("CreateImportFunction", event)


def post_as(stack, account_id: str, headers: dict[str, str] | None = None):
    event = api_event(
        "api_post_imports_csv.json", body=SMALL, content_type="text/csv", account_id=account_id, headers=headers
    )
    return stack.invoke("CreateImportFunction", event)


def header(response, name: str) -> str:
    return response["multiValueHeaders"][name][0]


def test_above_the_cap_new_imports_are_429_with_rate_limit_headers(stack):
    limit = cap(stack)
    accepted = [new_upload(stack) for _ in range(limit)]  # awaiting their upload: in flight
    assert [r["statusCode"] for r in accepted] == [201] * limit

    before = int(time.time())
    for refused in (new_upload(stack), post_csv(stack, SMALL)):
        assert refused["statusCode"] == 429, refused["body"]
        assert error_code(refused) == "rate_limited"
        assert body_of(refused)["error"]["details"] == {"jobs_in_flight": limit, "limit": limit}
        assert header(refused, "X-Request-ID")
        retry_after = int(header(refused, "Retry-After"))
        assert retry_after > 0
        assert header(refused, "X-RateLimit-Limit") == str(limit)
        assert header(refused, "X-RateLimit-Remaining") == "0"
        assert before + retry_after <= int(header(refused, "X-RateLimit-Reset")) <= int(time.time()) + retry_after

    # another account has its own cap
    assert post_as(stack, "someone-else")["statusCode"] == 202

    # a cancelled job frees its slot
    job_id = body_of(accepted[0])["data"]["job_id"]
    cancel = api_event("api_post_cancel.json", path_parameters={"job_id": job_id})
    assert stack.invoke("CreateImportFunction", cancel)["statusCode"] == 200
    assert new_upload(stack)["statusCode"] == 201
    assert new_upload(stack)["statusCode"] == 429


def test_ended_jobs_do_not_count(stack):
    for _ in range(cap(stack)):
        assert post_csv(stack, SMALL)["statusCode"] == 202
    assert post_csv(stack, SMALL)["statusCode"] == 429
    run_all(stack)  # every queued job completes
    assert post_csv(stack, SMALL)["statusCode"] == 202


def test_expired_uploads_and_stuck_jobs_do_not_count(stack):
    """An upload URL expires after 15 minutes and a running job is stuck after an hour: neither
    may lock the account out."""
    jobs = boto3.resource("dynamodb", region_name="us-east-1").Table(
        stack.template.function("CreateImportFunction").environment["JOBS_TABLE"]
    )
    now_ms = int(time.time() * 1000)
    old = [
        ("awaiting_upload", now_ms - 16 * 60 * 1000),
        ("queued", now_ms - 61 * 60 * 1000),
        ("processing", now_ms - 2 * 60 * 60 * 1000),
    ]
    for n in range(cap(stack)):
        status, created_ms = old[n % len(old)]
        jobs.put_item(Item={"account_id": "local", "job_id": new_job_id(created_ms), "status": status})
    assert post_csv(stack, SMALL)["statusCode"] == 202


def test_a_repeated_idempotent_request_at_the_cap_answers_its_job(stack):
    key = {"Idempotency-Key": "nightly-1"}
    first = post_as(stack, "local", key)
    assert first["statusCode"] == 202
    for _ in range(cap(stack) - 1):
        assert new_upload(stack)["statusCode"] == 201
    again = post_as(stack, "local", key)
    assert again["statusCode"] == 202, again["body"]
    assert body_of(again)["data"]["job_id"] == body_of(first)["data"]["job_id"]
    assert post_as(stack, "local", {"Idempotency-Key": "nightly-2"})["statusCode"] == 429
