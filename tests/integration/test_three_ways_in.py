"""The three ways in end in the same processing and the same job record (docs/architecture.md)."""

from __future__ import annotations

import base64
import json

import boto3
import pytest

from contacts_import.store.accounts import AccountStore
from tests.sample_events import api_event, body_of, load_event

# The writer the sample drop event names (events/s3_put_drop.json).
SAMPLE_WRITER = "AWS:AIDAEXAMPLE"

CSV = (
    b"phone,name,email,company\n"
    b"(212) 736-5000,Jane Doe,jane@acme.com,Acme\n"
    b"+1 650 253 0000,John Smith,john@widget.co,Widget\n"
    b"415.555.2671,Ann Lee,,\n"
)


def _status(stack, job_id):
    response = stack.invoke(
        "ImportStatusFunction", api_event("api_get_import.json", path_parameters={"job_id": job_id})
    )
    assert response["statusCode"] == 200, response["body"]
    return body_of(response)["data"]


def _accounts(stack) -> AccountStore:
    return AccountStore(
        boto3.resource("dynamodb", region_name="us-east-1"), stack.template.tables["AccountsTable"].name
    )


@pytest.fixture
def allowed_writer(stack):
    """The sample event's writer allowed into account local's drop folder, as `keys drop-writer` does."""
    _accounts(stack).allow_drop_writer("local", SAMPLE_WRITER)
    return SAMPLE_WRITER


def _process_pending(stack):
    for key in stack.pending_uploads():
        stack.deliver_s3(key)


def test_text_csv_import_creates_every_contact(stack):
    response = stack.invoke(
        "CreateImportFunction", api_event("api_post_imports_csv.json", body=CSV, query={"list_id": "team"})
    )
    assert response["statusCode"] == 202, response["body"]
    accepted = body_of(response)["data"]
    assert accepted["status"] == "queued"
    assert response["multiValueHeaders"]["Location"] == [f"/imports/{accepted['job_id']}"]

    _process_pending(stack)
    job = _status(stack, accepted["job_id"])
    assert job["status"] == "completed"
    assert job["source"] == "api"
    assert job["counts"]["created"] == 3
    assert job["counts"]["total_rows"] == 3
    assert job["total_contacts"] == 3

    contact = body_of(
        stack.invoke(
            "ImportStatusFunction",
            api_event("api_get_contact.json", path_parameters={"list_id": "team", "phone": "%2B12127365000"}),
        )
    )["data"]
    assert contact["name"] == "Jane Doe"
    assert contact["email"] == "jane@acme.com"
    assert contact["company"] == "Acme"
    assert contact["import_job_id"] == accepted["job_id"]


def test_json_rows_import(stack):
    body = json.dumps({"rows": [{"phone": "+14155552671", "first_name": "Li", "last_name": "Ito"}], "list_id": "rows"})
    response = stack.invoke(
        "CreateImportFunction",
        api_event("api_post_imports_json_rows.json", body=body.encode(), content_type="application/json"),
    )
    assert response["statusCode"] == 202, response["body"]
    _process_pending(stack)
    job = _status(stack, body_of(response)["data"]["job_id"])
    assert job["counts"]["created"] == 1
    contact = body_of(
        stack.invoke(
            "ImportStatusFunction",
            api_event("api_get_contact.json", path_parameters={"list_id": "rows", "phone": "+14155552671"}),
        )
    )["data"]
    assert contact["name"] == "Li Ito"


def test_multipart_import_takes_the_file_field_and_form_options(stack):
    boundary = "----boundary123"
    body = (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="list_id"\r\n\r\nform-list\r\n'
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="contacts.csv"\r\n'
            "Content-Type: text/csv\r\n\r\n"
        ).encode()
        + CSV
        + f"\r\n--{boundary}--\r\n".encode()
    )
    response = stack.invoke(
        "CreateImportFunction",
        api_event(
            "api_post_imports_csv.json",
            body=body,
            content_type=f"multipart/form-data; boundary={boundary}",
            query={},
        ),
    )
    assert response["statusCode"] == 202, response["body"]
    _process_pending(stack)
    job = _status(stack, body_of(response)["data"]["job_id"])
    assert (job["list_id"], job["file_name"], job["counts"]["created"]) == ("form-list", "contacts.csv", 3)


def test_presigned_upload_then_processing(stack):
    response = stack.invoke(
        "CreateImportFunction",
        api_event(
            "api_post_uploads.json",
            body=json.dumps({"file_name": "big list.csv", "list_id": "up"}).encode(),
            content_type="application/json",
        ),
    )
    assert response["statusCode"] == 201, response["body"]
    data = body_of(response)["data"]
    assert data["status"] == "awaiting_upload"
    upload = data["upload"]
    assert upload["method"] == "POST" and upload["fields"]["key"].endswith("/big list.csv")
    assert _status(stack, data["job_id"])["status"] == "awaiting_upload"

    stack.s3().put_object(Bucket=stack.bucket, Key=upload["fields"]["key"], Body=CSV)
    stack.deliver_s3(upload["fields"]["key"])
    job = _status(stack, data["job_id"])
    assert (job["status"], job["source"], job["counts"]["created"]) == ("completed", "upload", 3)


def test_drop_folder_makes_one_job_per_object_and_writes_a_result(stack, allowed_writer):
    key = "drop/local/dropped/Kontakte März (2024) final.csv"
    stack.s3().put_object(Bucket=stack.bucket, Key=key, Body=CSV)
    first = stack.deliver_s3(key, "s3_put_drop.json", sequencer="0A")
    again = stack.deliver_s3(key, "s3_put_drop.json", sequencer="0A")  # the same event, delivered twice
    assert first["job_ids"] == again["job_ids"] and len(first["job_ids"]) == 1

    listing = body_of(stack.invoke("ImportStatusFunction", api_event("api_get_imports.json", query={})))
    jobs = [j for j in listing["data"] if j["list_id"] == "dropped"]
    assert len(jobs) == 1
    assert (jobs[0]["source"], jobs[0]["status"], jobs[0]["counts"]["created"]) == (
        "drop_folder",
        "completed",
        3,
    )

    result = stack.s3().get_object(
        Bucket=stack.bucket, Key="results/local/dropped/Kontakte März (2024) final.csv.result.json"
    )
    document = json.loads(result["Body"].read())
    assert document["job_id"] == first["job_ids"][0] and document["counts"]["created"] == 3


def test_drop_folder_key_outside_the_pattern_is_refused(stack):
    key = "drop/local/only-two-parts.csv"
    stack.s3().put_object(Bucket=stack.bucket, Key=key, Body=CSV)
    assert stack.deliver_s3(key, "s3_put_drop.json")["job_ids"] == []


def test_an_upload_whose_mapping_names_a_missing_column_fails_the_job(stack):
    options = {"file_name": "c.csv", "list_id": "bad-map", "mapping": {"Mobile Number": "phone"}}
    response = stack.invoke(
        "CreateImportFunction",
        api_event("api_post_uploads.json", body=json.dumps(options).encode(), content_type="application/json"),
    )
    data = body_of(response)["data"]
    stack.s3().put_object(Bucket=stack.bucket, Key=data["upload"]["fields"]["key"], Body=CSV)
    stack.deliver_s3(data["upload"]["fields"]["key"])
    job = _status(stack, data["job_id"])
    assert job["status"] == "failed"
    assert job["failure"]["code"] == "validation_error"
    assert "Mobile Number" in job["failure"]["message"]


def test_a_dropped_file_without_a_phone_column_fails_with_its_code(stack, allowed_writer):
    key = "drop/local/nophone/people.csv"
    stack.s3().put_object(Bucket=stack.bucket, Key=key, Body=b"name,email\nJane,j@a.co\n")
    job_id = stack.deliver_s3(key, "s3_put_drop.json")["job_ids"][0]
    job = _status(stack, job_id)
    assert (job["status"], job["failure"]["code"]) == ("failed", "missing_required_column")


def test_an_event_for_an_object_that_is_gone_is_passed_over(stack):
    event = load_event("s3_put_drop.json")  # the sample event, its object never put
    event["Records"][0]["s3"]["bucket"]["name"] = stack.bucket
    assert stack.invoke("ProcessImportFunction", event) == {"job_ids": []}


def test_a_drop_by_a_writer_the_account_does_not_allow_is_refused(stack, allowed_writer, monkeypatch):
    key = "drop/local/intruded/people.csv"
    stack.s3().put_object(Bucket=stack.bucket, Key=key, Body=CSV)
    _accounts(stack).allow_drop_writer("another", "AWS:AIDAINTRUDER")
    event = load_event("s3_put_drop.json")
    record = event["Records"][0]
    record["s3"]["bucket"]["name"] = stack.bucket
    record["s3"]["object"]["key"] = "drop%2Flocal%2Fintruded%2Fpeople.csv"
    record["userIdentity"]["principalId"] = "AWS:AIDAINTRUDER"  # allowed for another account, not this one
    assert stack.invoke("ProcessImportFunction", event) == {"job_ids": []}
    _accounts(stack).revoke_drop_writer("local", allowed_writer)
    assert stack.deliver_s3(key, "s3_put_drop.json")["job_ids"] == []  # the sample writer, now revoked
    listing = body_of(stack.invoke("ImportStatusFunction", api_event("api_get_imports.json", query={})))
    assert [j for j in listing["data"] if j["list_id"] == "intruded"] == []


def test_locally_the_stacks_own_writes_into_the_drop_folder_are_allowed(stack, monkeypatch):
    monkeypatch.setenv("AWS_SAM_LOCAL", "true")
    key = "drop/local/ownwrite/people.csv"
    stack.s3().put_object(Bucket=stack.bucket, Key=key, Body=CSV)
    event = load_event("s3_put_drop.json")
    record = event["Records"][0]
    record["s3"]["bucket"]["name"] = stack.bucket
    record["s3"]["object"]["key"] = "drop%2Flocal%2Fownwrite%2Fpeople.csv"
    # As the local stack names its own writes (see local_stack.event_sources.lambda_s3_event).
    record["userIdentity"]["principalId"] = "AWS:123456789012"
    record["s3"]["bucket"]["ownerIdentity"]["principalId"] = "123456789012"
    (job_id,) = stack.invoke("ProcessImportFunction", event)["job_ids"]
    stack.run_tasks()
    assert _status(stack, job_id)["status"] == "completed"


def test_an_upload_under_another_name_than_its_jobs_is_passed_over(stack):
    response = stack.invoke(
        "CreateImportFunction",
        api_event(
            "api_post_uploads.json", body=json.dumps({"file_name": "c.csv"}).encode(), content_type="application/json"
        ),
    )
    data = body_of(response)["data"]
    assert data["upload"]["fields"]["key"].endswith("/c.csv")
    other = data["upload"]["fields"]["key"].rsplit("/", 1)[0] + "/other.csv"
    stack.s3().put_object(Bucket=stack.bucket, Key=other, Body=CSV)
    assert stack.deliver_s3(other)["job_ids"] == []
    assert _status(stack, data["job_id"])["status"] == "awaiting_upload"


def test_a_file_name_cannot_loosen_the_presigned_post_to_a_prefix(stack):
    body = json.dumps({"file_name": "${filename}"}).encode()
    response = stack.invoke(
        "CreateImportFunction", api_event("api_post_uploads.json", body=body, content_type="application/json")
    )
    fields = body_of(response)["data"]["upload"]["fields"]
    assert "${" not in fields["key"]
    policy = json.loads(base64.b64decode(fields["policy"]))
    assert {"key": fields["key"]} in policy["conditions"], "the policy holds the exact key, not starts-with"
