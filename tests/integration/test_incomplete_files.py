"""A body or a file that stops before its end imports nothing, whichever way it comes in: a
multipart or a raw body cut off is 400 validation_error before any job exists, a gzip without its
trailer is a 400 sent directly and a job failed with ``truncated_file`` uploaded or dropped."""

from __future__ import annotations

import gzip
import json

import boto3

from contacts_import.store.accounts import AccountStore
from tests.sample_events import api_event, body_of

BOUNDARY = "----cutoff42"
ROWS = b"phone,name\n" + b"".join(f"+1212736{n:04d},Row {n}\n".encode() for n in range(2000))
# The writer the sample drop event names (events/s3_put_drop.json).
SAMPLE_WRITER = "AWS:AIDAEXAMPLE"


def _cut_multipart() -> bytes:
    head = (
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="list_id"\r\n\r\ncut\r\n'
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="contacts.csv"\r\n'
        "Content-Type: text/csv\r\n\r\n"
    ).encode()
    return head + ROWS[:-7]  # the body stops inside its last row, before the closing boundary


def _post(stack, body: bytes, content_type: str, **headers: str):
    return stack.invoke(
        "CreateImportFunction",
        api_event("api_post_imports_csv.json", body=body, content_type=content_type, query={}, headers=headers),
    )


def _jobs(stack) -> list:
    answer = stack.invoke("ImportStatusFunction", api_event("api_get_imports.json"))
    return body_of(answer)["data"]


def _assert_refused_and_nothing_kept(stack, answer, missing: str) -> None:
    assert answer["statusCode"] == 400, answer["body"]
    error = body_of(answer)["error"]
    assert error["code"] == "validation_error" and error["details"]["missing"] == missing
    assert _jobs(stack) == [] and stack.pending_uploads() == []


def test_a_multipart_body_cut_off_is_400_and_no_job(stack):
    answer = _post(stack, _cut_multipart(), f"multipart/form-data; boundary={BOUNDARY}")
    _assert_refused_and_nothing_kept(stack, answer, "closing_boundary")
    assert "closing boundary" in body_of(answer)["error"]["message"]


def test_a_raw_body_shorter_than_its_content_length_is_400_and_no_job(stack):
    answer = _post(stack, ROWS[:1000], "text/csv", **{"Content-Length": str(len(ROWS))})
    _assert_refused_and_nothing_kept(stack, answer, "bytes")


def test_a_direct_gzip_without_its_trailer_is_400_and_no_job(stack):
    answer = _post(stack, gzip.compress(ROWS)[:-8], "application/gzip")
    _assert_refused_and_nothing_kept(stack, answer, "gzip_trailer")


def _upload(stack, data: bytes) -> str:
    created = stack.invoke(
        "CreateImportFunction",
        api_event(
            "api_post_uploads.json",
            body=json.dumps({"file_name": "contacts.csv.gz", "list_id": "cut"}).encode(),
            content_type="application/json",
        ),
    )
    assert created["statusCode"] == 201, created["body"]
    accepted = body_of(created)["data"]
    stack.s3().put_object(Bucket=stack.bucket, Key=accepted["upload"]["fields"]["key"], Body=data)
    stack.deliver_s3(accepted["upload"]["fields"]["key"])
    return accepted["job_id"]


def _status(stack, job_id: str) -> dict:
    answer = stack.invoke("ImportStatusFunction", api_event("api_get_import.json", path_parameters={"job_id": job_id}))
    return body_of(answer)["data"]


def _list_size(stack, list_id: str) -> int:
    answer = stack.invoke("ImportStatusFunction", api_event("api_get_list.json", path_parameters={"list_id": list_id}))
    return body_of(answer)["data"]["total_contacts"] if answer["statusCode"] == 200 else 0


def test_an_uploaded_gzip_without_its_trailer_fails_its_job_and_imports_nothing(stack):
    job = _status(stack, _upload(stack, gzip.compress(ROWS)[:-8]))
    assert (job["status"], job["failure"]["code"]) == ("failed", "truncated_file")
    assert job["counts"]["created"] == 0 and job["counts"]["invalid"] == 0
    assert _list_size(stack, "cut") == 0


def test_a_dropped_gzip_cut_off_fails_its_job_and_imports_nothing(stack):
    accounts = AccountStore(
        boto3.resource("dynamodb", region_name="us-east-1"), stack.template.tables["AccountsTable"].name
    )
    accounts.allow_drop_writer("local", SAMPLE_WRITER)
    key = "drop/local/cut/contacts.csv.gz"
    stack.s3().put_object(Bucket=stack.bucket, Key=key, Body=gzip.compress(ROWS)[: len(ROWS) // 8])
    stack.deliver_s3(key, "s3_put_drop.json")
    (job,) = _jobs(stack)
    assert (job["source"], job["status"], job["failure"]["code"]) == ("drop_folder", "failed", "truncated_file")
    assert job["counts"]["created"] == 0
    assert _list_size(stack, "cut") == 0
