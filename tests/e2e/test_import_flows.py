"""The product end to end on the local stack, used as a user would: the three ways in over HTTP and
the AWS endpoint, status polling to the end, `make invoke`, and the client's upload and validate."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.e2e.jobs import PIPELINE_TIMEOUT_SECONDS, contact, new_list, wait_for_end
from tests.e2e.stack import LocalStackHandle

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
CSV = (
    b"phone,name,email,company\n"
    b"(212) 736-5000,Jane Doe,jane@acme.com,Acme\n"
    b"+1 650 253 0000,John Smith,john@widget.co,Widget\n"
    b"415.555.2671,Ann Lee,,\n"
    b"12345,Bad Number,,\n"
    b"(212) 736-5000,Jane Again,,\n"
)


def assert_csv_outcome(job: dict[str, Any]) -> None:
    counts = job["counts"]
    assert job["status"] == "completed", job
    assert (counts["total_rows"], counts["created"], counts["invalid"], counts["skipped_duplicates"]) == (5, 3, 1, 1)
    assert [(e["row"], e["code"]) for e in job["errors"]] == [(5, "invalid_phone")]


def test_text_csv_import_with_status_polling(local_stack: LocalStackHandle) -> None:
    list_id = new_list("csv")
    response = local_stack.session().post(
        local_stack.url("/imports"),
        params={"list_id": list_id},
        data=CSV,
        headers={"Content-Type": "text/csv"},
        timeout=60,
    )
    assert response.status_code == 202, response.text
    assert response.headers["Location"] == f"/imports/{response.json()['data']['job_id']}"
    job = wait_for_end(local_stack, response.json()["data"]["job_id"])
    assert_csv_outcome(job)
    assert job["source"] == "api" and job["total_contacts"] == 3
    assert (contact(local_stack, list_id, "+12127365000") or {}).get("name") == "Jane Doe"


def test_multipart_import_like_curl_dash_f(local_stack: LocalStackHandle) -> None:
    list_id = new_list("mp")
    response = local_stack.session().post(
        local_stack.url("/imports"),
        files={"file": ("contacts.csv", CSV, "text/csv")},
        data={"list_id": list_id, "tags": "vip"},
        timeout=60,
    )
    assert response.status_code == 202, response.text
    assert_csv_outcome(wait_for_end(local_stack, response.json()["data"]["job_id"]))
    assert (contact(local_stack, list_id, "+16502530000") or {}).get("tags") == ["vip"]


def test_json_rows_import(local_stack: LocalStackHandle) -> None:
    list_id = new_list("json")
    rows = [{"phone": "+14155552671", "first_name": "Li", "last_name": "Ito", "Shoe Size": 42}]
    response = local_stack.session().post(
        local_stack.url("/imports"), json={"rows": rows, "list_id": list_id}, timeout=60
    )
    assert response.status_code == 202, response.text
    job = wait_for_end(local_stack, response.json()["data"]["job_id"])
    assert job["counts"]["created"] == 1
    stored = contact(local_stack, list_id, "+14155552671") or {}
    assert (stored.get("name"), stored.get("custom_fields")) == ("Li Ito", {"Shoe Size": "42"})


def test_presigned_upload_starts_the_job(local_stack: LocalStackHandle) -> None:
    list_id = new_list("up")
    response = local_stack.session().post(
        local_stack.url("/imports/uploads"), json={"file_name": "big list.csv", "list_id": list_id}, timeout=60
    )
    assert response.status_code == 201, response.text
    data = response.json()["data"]
    upload = data["upload"]
    assert data["status"] == "awaiting_upload" and upload["method"] == "POST"
    sent = requests.post(upload["url"], data=upload["fields"], files={"file": ("big list.csv", CSV)}, timeout=60)
    assert sent.status_code in (200, 201, 204), sent.text
    job = wait_for_end(local_stack, data["job_id"])
    assert_csv_outcome(job)
    assert (job["source"], job["file_name"]) == ("upload", "big list.csv")


def test_drop_folder_with_a_name_people_give_files(local_stack: LocalStackHandle) -> None:
    list_id = new_list("drop")
    name = "Kontakte März (2024) final.csv"
    local_stack.client("s3").put_object(
        Bucket=local_stack.bucket, Key=f"drop/{local_stack.account_id}/{list_id}/{name}", Body=CSV
    )
    give_up_at = time.monotonic() + PIPELINE_TIMEOUT_SECONDS
    found = None
    while found is None and time.monotonic() < give_up_at:
        listing = local_stack.session().get(local_stack.url("/imports"), params={"limit": 100}, timeout=30).json()
        found = next((job for job in listing["data"] if job["list_id"] == list_id), None)
        time.sleep(0.3)
    assert found, local_stack.log_tail()
    job = wait_for_end(local_stack, found["job_id"])
    assert_csv_outcome(job)
    assert (job["source"], job["file_name"]) == ("drop_folder", name)

    result_key = f"results/{local_stack.account_id}/{list_id}/{name}.result.json"
    give_up_at = time.monotonic() + PIPELINE_TIMEOUT_SECONDS
    while time.monotonic() < give_up_at:
        listing = local_stack.client("s3").list_objects_v2(Bucket=local_stack.bucket, Prefix=result_key)
        if listing.get("KeyCount"):
            break
        time.sleep(0.3)
    document = json.loads(local_stack.client("s3").get_object(Bucket=local_stack.bucket, Key=result_key)["Body"].read())
    assert document["job_id"] == job["job_id"] and document["counts"] == job["counts"]


def test_make_invoke_runs_a_function_with_an_event_file(local_stack: LocalStackHandle) -> None:
    environment = {
        **os.environ,
        "AWS_ENDPOINT_URL": local_stack.aws_endpoint,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
    }
    result = subprocess.run(
        [
            "make",
            "--no-print-directory",
            "invoke",
            "FUNCTION=AuthorizerFunction",
            "EVENT=events/authorizer_request.json",
        ],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    answer = json.loads(result.stdout[result.stdout.index("{") :])
    assert answer["context"]["account_id"] == "local"
    assert answer["policyDocument"]["Statement"][0]["Effect"] == "Allow"


def test_client_upload_and_validate_give_the_same_counts(local_stack: LocalStackHandle, tmp_path: Path) -> None:
    path = tmp_path / "people (export).csv"
    path.write_bytes(CSV + b'+44 20 7946 0958,Brit,brit@example.co.uk,\n,,,\n"not, a phone",X,,\n')
    cli = str(Path(sys.executable).parent / "contacts-import")
    environment = {**os.environ, "CONTACTS_API_URL": local_stack.api_url, "CONTACTS_API_KEY": local_stack.api_key}
    uploaded = subprocess.run(
        [cli, "upload", str(path), "--list", new_list("cli"), "--wait", "--json"],
        env=environment,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert uploaded.returncode == 0, uploaded.stderr[-2000:]
    validated = subprocess.run(
        [cli, "validate", str(path), "--json"], env=environment, capture_output=True, text=True, timeout=600
    )
    assert validated.returncode == 0, validated.stderr[-2000:]
    job, report = json.loads(uploaded.stdout), json.loads(validated.stdout)
    assert job["status"] == "completed"
    assert report["counts"] == job["counts"]
    assert report["error_count"] == job["error_count"] == 2
    assert [(e["row"], e["code"]) for e in report["errors"]] == [(e["row"], e["code"]) for e in job["errors"]]
