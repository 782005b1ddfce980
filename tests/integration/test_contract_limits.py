"""The limits and error codes of docs/api.md that the other tests leave out: page sizes, cursors,
bodies that are not what their Content-Type says, wait=true running out of time, presigned
uploads (expiry, size policy, the processor's own size check) and what a 500 may say."""

from __future__ import annotations

import base64
import io
import json
import zipfile
from datetime import UTC, datetime

import pytest

from contacts_import.service import create_import
from contacts_import.store.jobs import JobStore
from contacts_import.store.objects import ObjectStore
from tests.integration.api_calls import SMALL, error_code, import_and_finish, post_csv
from tests.sample_events import api_event, body_of, s3_event


def list_jobs(stack, account_id: str = "local", **query):
    return stack.invoke("ImportStatusFunction", api_event("api_get_imports.json", query=query, account_id=account_id))


@pytest.mark.parametrize("limit", ["0", "1001", "-5", "ten"])
def test_a_page_size_outside_1_to_1000_is_400(stack, limit):
    response = list_jobs(stack, limit=limit)
    assert response["statusCode"] == 400 and error_code(response) == "validation_error"
    assert "limit" in body_of(response)["error"]["message"]


def test_page_size_defaults_to_100_and_takes_1000(stack):
    assert body_of(list_jobs(stack, **{}))["pagination"]["limit"] == 100
    assert body_of(list_jobs(stack, limit="1000"))["pagination"]["limit"] == 1000


def test_a_cursor_is_only_good_for_the_account_it_was_given_to(stack):
    for _ in range(2):
        import_and_finish(stack, SMALL, list_id="cursors")
    cursor = body_of(list_jobs(stack, limit="1"))["pagination"]["next_cursor"]
    assert cursor
    assert list_jobs(stack, limit="1", cursor=cursor)["statusCode"] == 200

    # Another account's cursor names no page of its own: 404, as another account's job would.
    stolen = list_jobs(stack, account_id="someone-else", limit="1", cursor=cursor)
    assert stolen["statusCode"] == 404 and error_code(stolen) == "not_found"
    forged = base64.urlsafe_b64encode(json.dumps({"account_id": "local", "job_id": "imp_"}).encode()).decode()
    assert list_jobs(stack, account_id="someone-else", cursor=forged.rstrip("="))["statusCode"] == 404
    assert list_jobs(stack, cursor="not a cursor")["statusCode"] == 400  # not URL-safe base64


def _zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("notes.txt", "not a spreadsheet")
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (_zip(), "application/zip"),
        (_zip(), "text/csv"),
        (b"GIF89a\x01\x00\x01\x00\x00\x00\x00", "application/octet-stream"),
        (SMALL, "image/png"),  # a CSV, but declared as something this route does not take
    ],
)
def test_bodies_that_are_not_a_csv_are_415(stack, body, content_type):
    response = post_csv(stack, body, content_type)
    assert response["statusCode"] == 415, response["body"]
    assert error_code(response) == "unsupported_media_type"


@pytest.mark.parametrize("content_type", ["application/octet-stream", "text/plain", "text/csv; charset=utf-8"])
def test_raw_csv_is_taken_under_the_usual_labels(stack, content_type):
    assert post_csv(stack, SMALL, content_type)["statusCode"] == 202


@pytest.mark.parametrize(
    ("body", "content_type", "named"),
    [
        (b"{not json", "application/json", "JSON"),
        (b'{"list_id": "x"}', "application/json", "csv"),
        (b'{"csv": "phone\\n1", "rows": []}', "application/json", "csv"),
        (b'{"rows": "phone"}', "application/json", "rows"),
        (
            b"--b\r\nContent-Disposition: form-data; name=list_id\r\n\r\nx\r\n--b--\r\n",
            "multipart/form-data; boundary=b",
            "file",
        ),
    ],
)
def test_malformed_bodies_are_400_naming_what_is_wrong(stack, body, content_type, named):
    response = post_csv(stack, body, content_type)
    assert response["statusCode"] == 400, response["body"]
    assert error_code(response) == "validation_error" and named in body_of(response)["error"]["message"]


def test_wait_that_runs_out_of_time_is_the_usual_202(stack, monkeypatch):
    class Clock:
        """Each look at the clock is five seconds on: the 10 s wait ends after two polls."""

        now = 0.0

        def monotonic(self) -> float:
            self.now += 5.0
            return self.now

        def sleep(self, seconds: float) -> None:
            pass

    monkeypatch.setattr(create_import, "time", Clock())
    response = post_csv(stack, SMALL, list_id="slow", wait="true")  # nothing processes the file meanwhile
    assert response["statusCode"] == 202, response["body"]
    assert body_of(response)["data"]["status"] == "queued"
    assert response["multiValueHeaders"]["Location"] == [f"/imports/{body_of(response)['data']['job_id']}"]


def upload(stack, **options):
    event = api_event("api_post_uploads.json", body=json.dumps(options).encode(), content_type="application/json")
    return stack.invoke("CreateImportFunction", event)


def test_a_presigned_upload_is_one_key_at_most_15_minutes_within_the_size_limit(stack):
    response = upload(stack, file_name="../../etc/passwd", list_id="up")
    assert response["statusCode"] == 201, response["body"]
    data = body_of(response)["data"]
    fields = data["upload"]["fields"]
    key = fields["key"]
    assert key == f"uploads/local/{data['job_id']}/passwd"  # the name's path is dropped
    policy = json.loads(base64.b64decode(fields["policy"]))
    max_bytes = int(stack.template.function("CreateImportFunction").environment["MAX_UPLOAD_BYTES"])
    assert ["content-length-range", 1, max_bytes] in policy["conditions"]
    assert {"key": key} in policy["conditions"]
    expires = datetime.fromisoformat(policy["expiration"].replace("Z", "+00:00"))
    assert 0 < (expires - datetime.now(UTC)).total_seconds() <= 15 * 60
    answered = datetime.fromisoformat(data["upload"]["expires_at"].replace("Z", "+00:00"))
    assert abs((answered - expires).total_seconds()) <= 5


@pytest.mark.parametrize(("body", "named"), [(b"[1, 2]", "JSON object"), (b"nope", "JSON object")])
def test_an_upload_request_that_is_not_a_json_object_is_400(stack, body, named):
    event = api_event("api_post_uploads.json", body=body, content_type="application/json")
    response = stack.invoke("CreateImportFunction", event)
    assert response["statusCode"] == 400 and named in body_of(response)["error"]["message"]
    assert upload(stack, on_existing="merge")["statusCode"] == 400


def test_the_processor_refuses_an_oversized_upload_before_reading_it(stack, monkeypatch):
    """S3 enforces the POST policy's size range; the local S3 does not, so the processor checks."""
    data = body_of(upload(stack, file_name="huge.csv"))["data"]
    key = data["upload"]["fields"]["key"]
    stack.s3().put_object(Bucket=stack.bucket, Key=key, Body=SMALL)
    max_bytes = int(stack.template.function("ProcessImportFunction").environment["MAX_UPLOAD_BYTES"])

    def never_read(self, key):
        raise AssertionError("an oversized file was opened")

    monkeypatch.setattr(ObjectStore, "open", never_read)
    event = s3_event("s3_put_upload.json", bucket=stack.bucket, key=key, size=max_bytes + 1)
    stack.invoke("ProcessImportFunction", event)
    job = body_of(
        stack.invoke(
            "ImportStatusFunction", api_event("api_get_import.json", path_parameters={"job_id": data["job_id"]})
        )
    )["data"]
    assert job["status"] == "failed" and job["failure"]["code"] == "file_too_large"
    assert job["counts"]["total_rows"] == 0


def test_a_500_says_nothing_of_the_inside(stack, monkeypatch):
    def broken(*args, **kwargs):
        raise KeyError("contacts_import.store.jobs JobsTable-secret /var/task/app.py")

    monkeypatch.setattr(JobStore, "page", broken)
    response = list_jobs(stack)
    assert response["statusCode"] == 500
    body = body_of(response)
    assert body["error"]["code"] == "internal_error" and body["error"]["details"] is None
    assert body["meta"]["request_id"] == response["multiValueHeaders"]["X-Request-ID"][0]
    for inside in ("Traceback", "KeyError", "contacts_import", "JobsTable", "/var/task", ".py"):
        assert inside not in response["body"]


def test_a_phone_whose_plus_became_a_space_in_the_url_is_still_found(stack):
    import_and_finish(stack, SMALL, list_id="plus")
    for phone in ("+12127365000", " 12127365000", "12127365000"):
        event = api_event("api_get_contact.json", path_parameters={"list_id": "plus", "phone": phone})
        assert stack.invoke("ImportStatusFunction", event)["statusCode"] == 200, phone
