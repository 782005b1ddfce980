"""The local stack's own mechanics over HTTP and the AWS endpoint: health, the gateway's answers,
the resources created from the template, and a drop-folder file travelling from S3 to the
processing function and back out through the API."""

from __future__ import annotations

import time
import uuid
from typing import Any

import pytest
import requests

from tests.e2e.stack import LocalStackHandle

pytestmark = pytest.mark.e2e

# Waiting for background work on a slow machine; no test asserts on how long anything took.
PIPELINE_TIMEOUT_SECONDS = 180


def _assert_error_envelope(response: requests.Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["error"]["code"] == code
    assert isinstance(body["error"]["message"], str) and body["error"]["message"]
    assert body["error"]["details"] is None
    assert response.headers["X-Request-ID"] == body["meta"]["request_id"]
    assert body["meta"]["ts"].endswith("Z")
    return body


def test_health(local_stack: LocalStackHandle) -> None:
    response = requests.get(local_stack.url("/health"), timeout=30)
    assert response.status_code == 200, response.text
    document = response.json()
    assert document["status"] == "ok"
    # Every service the functions' Policies reach, DynamoDB as the functions reach it, each
    # function's workers and the pumps: each checked, each fine.
    functions = {f"function:{function_id}" for function_id in local_stack.template.functions}
    services = {"aws:dynamodb", "aws:s3", "aws:sqs", "aws:events", "aws:kms"}
    assert set(document["checks"]) == {"stack", "dynamodb", "event sources", *services, *functions}
    assert set(document["checks"].values()) == {"ok"}
    assert response.headers["X-Request-ID"]


def test_request_without_a_key_is_401(local_stack: LocalStackHandle) -> None:
    route = next(route for route in local_stack.template.routes if route.authorizer)
    path = route.path.replace("{", "").replace("}", "")
    _assert_error_envelope(requests.request(route.method, local_stack.url(path), timeout=30), 401, "unauthorized")


def test_unknown_key_is_401(local_stack: LocalStackHandle) -> None:
    response = local_stack.session(api_key="cik_not-a-key").get(local_stack.url("/imports"), timeout=60)
    _assert_error_envelope(response, 401, "unauthorized")


def test_unknown_route_is_404_and_wrong_method_405(local_stack: LocalStackHandle) -> None:
    session = local_stack.session()
    _assert_error_envelope(session.get(local_stack.url("/no/such/route"), timeout=30), 404, "not_found")
    known = local_stack.template.routes[0]
    other_method = "DELETE" if known.method != "DELETE" else "PATCH"
    wrong = session.request(other_method, local_stack.url(known.path.replace("{", "x").replace("}", "")), timeout=30)
    _assert_error_envelope(wrong, 405, "method_not_allowed")


def test_local_key_reaches_the_functions(local_stack: LocalStackHandle) -> None:
    response = local_stack.session().get(local_stack.url("/imports"), timeout=120)
    assert response.status_code == 200, response.text
    assert response.headers["X-Request-ID"]


def test_resources_come_from_the_template(local_stack: LocalStackHandle) -> None:
    tables = set(local_stack.client("dynamodb").list_tables()["TableNames"])
    assert {table.name for table in local_stack.template.tables.values()} <= tables
    s3 = local_stack.client("s3")
    for bucket in local_stack.template.buckets.values():
        if bucket.cors_rules:
            assert s3.get_bucket_cors(Bucket=bucket.name)["CORSRules"] == bucket.cors_rules


def test_drop_folder_file_becomes_a_listed_job(local_stack: LocalStackHandle) -> None:
    """A file put with boto3 under drop/<account>/<list>/ reaches the processing function through
    the bucket notification, with a name that needs URL-encoding, and the job is listed by the API."""
    list_id = f"e2e-{uuid.uuid4().hex[:8]}"
    file_name = "Kontakte März (2024) final.csv"
    key = f"drop/{local_stack.account_id}/{list_id}/{file_name}"
    csv = b"phone,name\n+14155552671,Ann\n+14155552672,Bob\n"
    local_stack.client("s3").put_object(Bucket=local_stack.bucket, Key=key, Body=csv)

    session = local_stack.session()
    job: dict[str, Any] | None = None
    give_up_at = time.monotonic() + PIPELINE_TIMEOUT_SECONDS
    while time.monotonic() < give_up_at:
        listing = session.get(local_stack.url("/imports"), params={"limit": 1000}, timeout=60)
        assert listing.status_code == 200, listing.text
        job = next((j for j in listing.json()["data"] if j["list_id"] == list_id), None)
        if job and job["status"] in ("completed", "failed"):
            break
        time.sleep(0.5)
    assert job is not None, f"no job for {key}:\n{local_stack.log_tail()}"
    assert job["source"] == "drop_folder"
    assert job["file_name"] == file_name
    assert job["status"] == "completed", job
    assert job["counts"]["created"] == 2
