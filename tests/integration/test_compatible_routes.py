"""The compatibility routes through the real create function, with the sample events in events/
(docs/api.md, Compatibility): each answers in its API's shape when the import ends in the
synchronous window, 202 with the job when it does not, and a job failed in the window as the error
of its file."""

from __future__ import annotations

import pytest

from contacts_import.api.compatibility import routes
from contacts_import.service import create_import
from tests.sample_events import api_event, body_of, load_event

EVENTS = {
    "POST /contacts/import": "api_post_contacts_import.json",
    "POST /{account}/contacts/upload": "api_post_account_contacts_upload.json",
    "POST /batch-calls/{batch_call_id}/contacts": "api_post_batch_call_contacts.json",
    "POST /v1/import/contacts": "api_post_v1_import_contacts.json",
    "POST /campaigns/{campaign_id}/contacts/upload": "api_post_campaign_contacts_upload.json",
}


def run_uploads(stack) -> None:
    for key in stack.pending_uploads():
        stack.deliver_s3(key)


@pytest.fixture
def processor_runs_while_waiting(stack, monkeypatch):
    # In Lambda the processor runs beside the waiting route; here each poll's pause runs it, as S3 would.
    monkeypatch.setattr(create_import, "pause", lambda seconds: run_uploads(stack))


def test_every_compatibility_route_has_a_sample_event_of_its_own(stack):
    ours = {
        "POST /imports",
        "POST /imports/uploads",
        "POST /imports/{job_id}/cancel",
        "GET /imports/{job_id}/upload",
        "POST /imports/{job_id}/upload/complete",
        "DELETE /imports/{job_id}/upload",
        "POST /sessions",
        "POST /imports/preview",
        "PUT /mapping-profiles/{name}",
        "DELETE /mapping-profiles/{name}",
    }
    create_routes = {f"{r.method} {r.path}" for r in stack.template.routes if r.function_id == "CreateImportFunction"}
    assert create_routes - ours == set(EVENTS)
    for route, name in EVENTS.items():
        event = load_event(name)
        assert f"{event['httpMethod']} {event['resource']}" == route


@pytest.mark.parametrize(
    ("route", "status", "answer"),
    [
        (
            "POST /contacts/import",
            201,
            {
                "data": {
                    "imported": 2,
                    "updated": 0,
                    "skipped": 0,
                    "errors": 0,
                    "folder_id": "folder_abc123",
                    "error_details": [],
                }
            },
        ),
        (
            "POST /batch-calls/{batch_call_id}/contacts",
            200,
            {
                "data": {
                    "added_count": 1,
                    "failed_count": 0,
                    "added": 1,
                    "duplicates_skipped": 0,
                    "invalid_skipped": 0,
                    "total_contacts": 1,
                }
            },
        ),
        (
            "POST /campaigns/{campaign_id}/contacts/upload",
            200,
            {
                "success": True,
                "message": "Imported 1 of 1 contacts.",
                "imported_count": 1,
                "total_contacts": 1,
                "file_name": "campaign.csv",
            },
        ),
    ],
)
def test_an_import_that_ends_in_the_window_is_answered_in_their_shape(
    stack, processor_runs_while_waiting, route, status, answer
):
    response = stack.invoke("CreateImportFunction", load_event(EVENTS[route]))
    assert response["statusCode"] == status, response["body"]
    body = body_of(response)
    assert {key: body[key] if key != "data" else body["data"] for key in answer} == answer
    assert response["multiValueHeaders"]["X-Request-ID"]


def test_the_v1_import_answers_completed_with_its_rate_limit(stack, processor_runs_while_waiting):
    response = stack.invoke("CreateImportFunction", load_event(EVENTS["POST /v1/import/contacts"]))
    assert response["statusCode"] == 200, response["body"]
    data = body_of(response)["data"]
    assert (data["status"], data["created_count"], data["skipped_count"], data["errors"]) == ("completed", 2, 0, [])
    headers = {name: values[0] for name, values in response["multiValueHeaders"].items()}
    assert (headers["X-RateLimit-Limit"], headers["X-RateLimit-Remaining"]) == ("10", "10")


def test_the_account_upload_answers_its_slug_without_waiting(stack):
    response = stack.invoke("CreateImportFunction", load_event(EVENTS["POST /{account}/contacts/upload"]))
    assert response["statusCode"] == 201, response["body"]
    slug = body_of(response)["contact_import_slug"]
    (uploaded,) = stack.pending_uploads()
    assert slug in uploaded  # the job's file is stored: the processor takes it from there


@pytest.mark.parametrize("route", sorted(set(EVENTS) - {"POST /{account}/contacts/upload"}))
def test_an_import_that_outlasts_the_window_is_202_with_the_job(stack, monkeypatch, route):
    monkeypatch.setattr(routes, "SYNCHRONOUS_WINDOW_SECONDS", 0.0)  # the processor does not run here
    response = stack.invoke("CreateImportFunction", load_event(EVENTS[route]))
    assert response["statusCode"] == 202, response["body"]
    data = body_of(response)["data"]
    assert data["status"] == "queued" and data["status_url"] == f"/imports/{data['job_id']}"
    assert response["multiValueHeaders"]["Location"] == [data["status_url"]]


def test_a_file_refused_part_way_while_waiting_is_answered_as_its_error(stack, processor_runs_while_waiting):
    # The direct check reads the first record only: bytes that are not UTF-8 further on fail the job.
    body = b"phone,name\n+12125551234,Zoe\n+12125551235,Z\xff\xfe\n"
    multipart = (
        b'--b\r\nContent-Disposition: form-data; name="file"; filename="broken.csv"\r\n\r\n' + body + b"\r\n"
        b'--b\r\nContent-Disposition: form-data; name="encoding"\r\n\r\nutf-8\r\n--b--\r\n'
    )
    event = api_event(EVENTS["POST /contacts/import"], body=multipart, content_type="multipart/form-data; boundary=b")
    response = stack.invoke("CreateImportFunction", event)
    assert response["statusCode"] == 400, response["body"]
    assert body_of(response)["error"]["code"] == "bad_encoding"
