"""Resumable multipart uploads (docs/api.md, Resumable uploads): the four routes against DynamoDB
Local and moto's S3, the parts sent with the S3 API as a client's PUTs to the part URLs would.

The presigned URLs themselves, a client sending parts in parallel, and a killed client resuming
are the end-to-end tier's (tests/e2e/test_multipart_uploads.py)."""

from __future__ import annotations

import json

import pytest

from contacts_import.service.multipart_upload import part_size_for, parts_count
from contacts_import.settings import FIVE_GIB, MULTIPART_PART_BYTES
from tests.sample_events import api_event, body_of

MIB = 1024 * 1024
SMALL = b"phone,name\n(212) 736-5000,Jane\n(415) 555-0100,Ann\n"


def begin(stack, size: int, account_id: str = "local", **options):
    body = json.dumps({"file_name": "big.csv", "multipart": True, "size": size, **options}).encode()
    event = api_event("api_post_uploads.json", body=body, content_type="application/json", account_id=account_id)
    return stack.invoke("CreateImportFunction", event)


def route(stack, name: str, job_id: str, body=None, account_id: str = "local"):
    event = api_event(
        name,
        path_parameters={"job_id": job_id},
        account_id=account_id,
        body=None if body is None else json.dumps(body).encode(),
        content_type=None if body is None else "application/json",
    )
    return stack.invoke("CreateImportFunction", event)


def state(stack, job_id, account_id="local"):
    return route(stack, "api_get_upload.json", job_id, account_id=account_id)


def complete(stack, job_id, parts, account_id="local"):
    return route(stack, "api_post_upload_complete.json", job_id, {"parts": parts}, account_id=account_id)


def abort(stack, job_id, account_id="local"):
    return route(stack, "api_delete_upload.json", job_id, account_id=account_id)


def job_status(stack, job_id):
    event = api_event("api_get_import.json", path_parameters={"job_id": job_id})
    return body_of(stack.invoke("ImportStatusFunction", event))["data"]


def key_of(stack, job_id: str) -> str:
    return f"uploads/local/{job_id}/big.csv"


def put_part(stack, job_id: str, upload_id: str, number: int, body: bytes) -> str:
    answer = stack.s3().upload_part(
        Bucket=stack.bucket, Key=key_of(stack, job_id), UploadId=upload_id, PartNumber=number, Body=body
    )
    return answer["ETag"]


def error_code(response):
    return body_of(response)["error"]["code"]


def started(stack, size: int):
    response = begin(stack, size)
    assert response["statusCode"] == 201, response["body"]
    data = body_of(response)["data"]
    return data["job_id"], data["upload"]


def test_the_part_size_keeps_5_gib_within_10000_parts_of_at_least_8_mib():
    assert part_size_for(1, MULTIPART_PART_BYTES) == 8 * MIB
    assert parts_count(FIVE_GIB, part_size_for(FIVE_GIB, MULTIPART_PART_BYTES)) == 640
    huge = 100 * 1024**3  # S3's own limit is 5 TiB: the rule holds past ours
    assert parts_count(huge, part_size_for(huge, MULTIPART_PART_BYTES)) <= 10_000
    assert part_size_for(1, 1) == 5 * MIB  # never under S3's minimum, whatever the setting


def test_a_one_part_upload_completes_and_imports_as_any_upload(stack):
    job_id, upload = started(stack, len(SMALL))
    assert upload["method"] == "MULTIPART" and upload["part_size"] == 8 * MIB
    assert [p["part_number"] for p in upload["parts"]] == [1]
    assert job_status(stack, job_id)["status"] == "awaiting_upload"
    etag = put_part(stack, job_id, upload["upload_id"], 1, SMALL)
    held = body_of(state(stack, job_id))["data"]
    assert held["parts"] == [{"part_number": 1, "etag": etag, "size": len(SMALL)}]
    answer = complete(stack, job_id, [{"part_number": 1, "etag": etag.strip('"')}])  # quotes or none
    assert answer["statusCode"] == 202, answer["body"]
    assert body_of(answer)["data"]["status"] == "queued"
    stack.deliver_s3(key_of(stack, job_id), "s3_complete_multipart_upload.json")
    done = job_status(stack, job_id)
    assert done["status"] == "completed" and done["counts"]["created"] == 2


def test_parts_in_any_order_are_joined_in_order_and_the_rest_get_fresh_urls(stack):
    size = 8 * MIB + len(SMALL)
    job_id, upload = started(stack, size)
    assert [p["part_number"] for p in upload["parts"]] == [1, 2]
    first, second = b"x" * (8 * MIB), SMALL
    etag2 = put_part(stack, job_id, upload["upload_id"], 2, second)
    parts = body_of(state(stack, job_id))["data"]["parts"]
    assert parts[1] == {"part_number": 2, "etag": etag2, "size": len(SMALL)}
    assert parts[0]["part_number"] == 1 and "partNumber=1" in parts[0]["url"] and "etag" not in parts[0]
    etag1 = put_part(stack, job_id, upload["upload_id"], 1, first)
    answer = complete(stack, job_id, [{"part_number": 2, "etag": etag2}, {"part_number": 1, "etag": etag1}])
    assert answer["statusCode"] == 202, answer["body"]
    stored = stack.s3().get_object(Bucket=stack.bucket, Key=key_of(stack, job_id))["Body"].read()
    assert stored == first + second


def test_a_completion_that_is_not_the_file_is_refused_and_nothing_starts(stack):
    size = 8 * MIB + len(SMALL)
    job_id, upload = started(stack, size)
    etag2 = put_part(stack, job_id, upload["upload_id"], 2, SMALL)
    missing = complete(stack, job_id, [{"part_number": 2, "etag": etag2}])
    assert missing["statusCode"] == 400 and error_code(missing) == "missing_part"
    assert body_of(missing)["error"]["details"]["parts"] == [1]
    # Listed but never sent: S3 lacks it.
    unsent = complete(stack, job_id, [{"part_number": 1, "etag": '"abc"'}, {"part_number": 2, "etag": etag2}])
    assert error_code(unsent) == "missing_part"
    short = put_part(stack, job_id, upload["upload_id"], 1, b"y" * (6 * MIB))
    wrong = complete(stack, job_id, [{"part_number": 1, "etag": '"0" '}, {"part_number": 2, "etag": etag2}])
    assert wrong["statusCode"] == 400 and error_code(wrong) == "etag_mismatch"
    assert body_of(wrong)["error"]["details"]["parts"] == [1]
    cut = complete(stack, job_id, [{"part_number": 1, "etag": short}, {"part_number": 2, "etag": etag2}])
    assert cut["statusCode"] == 400 and error_code(cut) == "size_mismatch"
    big = put_part(stack, job_id, upload["upload_id"], 1, b"z" * (8 * MIB + 1))
    over = complete(stack, job_id, [{"part_number": 1, "etag": big}, {"part_number": 2, "etag": etag2}])
    assert over["statusCode"] == 413 and error_code(over) == "part_too_large"
    for parts in ([{"part_number": 3, "etag": etag2}], [{"part_number": 2, "etag": etag2}] * 2, []):
        assert error_code(complete(stack, job_id, parts)) == "validation_error"
    assert job_status(stack, job_id)["status"] == "awaiting_upload"
    assert stack.pending_uploads() == []  # no object: no S3 event, no job started
    # The upload is still open: the right part, and it completes.
    good = put_part(stack, job_id, upload["upload_id"], 1, b"x" * (8 * MIB))
    done = complete(stack, job_id, [{"part_number": 1, "etag": good}, {"part_number": 2, "etag": etag2}])
    assert done["statusCode"] == 202, done["body"]
    again = complete(stack, job_id, [{"part_number": 1, "etag": good}, {"part_number": 2, "etag": etag2}])
    assert again["statusCode"] == 409 and error_code(again) == "upload_completed"
    assert error_code(state(stack, job_id)) == "upload_completed"
    assert error_code(abort(stack, job_id)) == "upload_completed"


def test_an_aborted_upload_ends_its_job_cancelled_and_drops_its_parts(stack):
    job_id, upload = started(stack, len(SMALL))
    etag = put_part(stack, job_id, upload["upload_id"], 1, SMALL)
    answer = abort(stack, job_id)
    assert answer["statusCode"] == 200, answer["body"]
    assert body_of(answer)["data"]["status"] == "cancelled"
    assert stack.s3().list_multipart_uploads(Bucket=stack.bucket).get("Uploads", []) == []
    late = complete(stack, job_id, [{"part_number": 1, "etag": etag}])
    assert late["statusCode"] == 409 and error_code(late) == "upload_aborted"
    assert error_code(abort(stack, job_id)) == "upload_aborted"
    assert stack.pending_uploads() == []


def test_cancelling_a_multipart_job_aborts_its_upload(stack):
    job_id, _ = started(stack, len(SMALL))
    response = route(stack, "api_post_cancel.json", job_id)
    assert response["statusCode"] == 200, response["body"]
    assert stack.s3().list_multipart_uploads(Bucket=stack.bucket).get("Uploads", []) == []
    assert error_code(state(stack, job_id)) == "upload_aborted"


def test_another_accounts_upload_is_not_found(stack):
    job_id, upload = started(stack, len(SMALL))
    etag = put_part(stack, job_id, upload["upload_id"], 1, SMALL)
    assert state(stack, job_id, account_id="other")["statusCode"] == 404
    assert complete(stack, job_id, [{"part_number": 1, "etag": etag}], account_id="other")["statusCode"] == 404
    assert abort(stack, job_id, account_id="other")["statusCode"] == 404
    assert job_status(stack, job_id)["status"] == "awaiting_upload"


def test_a_job_that_is_not_a_multipart_upload_is_409(stack):
    event = api_event("api_post_uploads.json", body=b'{"file_name": "a.csv"}', content_type="application/json")
    job_id = body_of(stack.invoke("CreateImportFunction", event))["data"]["job_id"]
    for response in (
        state(stack, job_id),
        abort(stack, job_id),
        complete(stack, job_id, [{"part_number": 1, "etag": "x"}]),
    ):
        assert response["statusCode"] == 409 and error_code(response) == "not_multipart_upload"


@pytest.mark.parametrize(
    ("body", "status_code", "code"),
    [
        ({"multipart": True}, 400, "validation_error"),
        ({"multipart": True, "size": 0}, 400, "validation_error"),
        ({"multipart": True, "size": "12"}, 400, "validation_error"),
        ({"multipart": "yes", "size": 12}, 400, "validation_error"),
        ({"multipart": True, "size": FIVE_GIB + 1}, 413, "payload_too_large"),
        ({"size": FIVE_GIB + 1}, 413, "payload_too_large"),  # a presigned POST too: refused now
    ],
)
def test_a_bad_multipart_request_is_refused_and_creates_nothing(stack, body, status_code, code):
    event = api_event("api_post_uploads.json", body=json.dumps(body).encode(), content_type="application/json")
    response = stack.invoke("CreateImportFunction", event)
    assert response["statusCode"] == status_code and error_code(response) == code, response["body"]
    assert stack.s3().list_multipart_uploads(Bucket=stack.bucket).get("Uploads", []) == []
    listed = stack.invoke("ImportStatusFunction", api_event("api_get_imports.json"))
    assert body_of(listed)["data"] == []


def test_the_5_gib_default_holds_where_the_template_leaves_it(stack):
    for function in ("CreateImportFunction", "ProcessImportFunction"):
        assert int(stack.template.function(function).environment["MAX_UPLOAD_BYTES"]) == FIVE_GIB
