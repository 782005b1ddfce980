"""Browser sessions, the file preview and saved mappings, through the real handlers on DynamoDB
Local: the authorizer takes a session token beside API keys and refuses it from its end on; a
session creates imports and reads only its own; profiles are stored per account and applied by
name, and by their headers to a dropped file."""

from __future__ import annotations

import copy
import json
import time

import boto3
import pytest
from aws_lambda_powertools.utilities.data_classes.api_gateway_authorizer_event import (
    APIGatewayAuthorizerRequestEvent,
)

from contacts_import.auth.authorizer import UnauthorizedCaller, authorize
from contacts_import.auth.keys import hash_api_key
from contacts_import.auth.sessions import SESSION_SCOPES
from contacts_import.store.accounts import AccountStore
from contacts_import.store.api_keys import ApiKeyStore
from tests.sample_events import api_event, body_of, load_event

CSV = b"phone,name\n(212) 736-5000,Jane Doe\n+1 650 253 0000,John Smith\n"
SAMPLE_WRITER = "AWS:AIDAEXAMPLE"  # the writer events/s3_put_drop.json names


def _authorizer_event(token: str) -> dict:
    event = copy.deepcopy(load_event("authorizer_request.json"))
    event["headers"]["Authorization"] = f"Bearer {token}"
    event["multiValueHeaders"]["Authorization"] = [f"Bearer {token}"]
    return event


def _session_event(name: str, context: dict, **kwargs) -> dict:
    """An API event as API Gateway passes it on after the authorizer answered ``context``."""
    event = api_event(name, **kwargs)
    event["requestContext"]["authorizer"] = {**context, "principalId": "x"}
    return event


def _mint(stack, body: dict | None = None, **kwargs) -> dict:
    response = stack.invoke(
        "CreateImportFunction", api_event("api_post_sessions.json", body=json.dumps(body or {}).encode(), **kwargs)
    )
    assert response["statusCode"] == 201, response["body"]
    return body_of(response)["data"]


def _context(stack, token: str) -> dict:
    return stack.invoke("AuthorizerFunction", _authorizer_event(token))["context"]


def _post_csv(stack, event: dict) -> dict:
    response = stack.invoke("CreateImportFunction", event)
    return {"status": response["statusCode"], "body": body_of(response)}


def test_a_session_creates_an_import_and_reads_only_its_own_jobs(stack):
    session = _mint(stack, {"list_id": "browser", "ttl_seconds": 600})
    assert session["token"].startswith("cis_") and session["list_id"] == "browser"
    context = _context(stack, session["token"])
    assert context["account_id"] == "local"
    assert set(context["scopes"].split()) == set(SESSION_SCOPES)

    made = _post_csv(stack, _session_event("api_post_imports_csv.json", context, body=CSV, query={}))
    assert made["status"] == 202, made
    own_job = made["body"]["data"]["job_id"]
    by_key = _post_csv(stack, api_event("api_post_imports_csv.json", body=CSV, query={"list_id": "other"}))
    key_job = by_key["body"]["data"]["job_id"]

    def get(job_id: str) -> int:
        event = _session_event("api_get_import.json", context, path_parameters={"job_id": job_id})
        return stack.invoke("ImportStatusFunction", event)["statusCode"]

    assert get(own_job) == 200
    assert get(key_job) == 404  # the account's other job is, for the session, no job at all
    listing = body_of(stack.invoke("ImportStatusFunction", _session_event("api_get_imports.json", context)))
    assert [j["job_id"] for j in listing["data"]] == [own_job]
    status = body_of(
        stack.invoke(
            "ImportStatusFunction", _session_event("api_get_import.json", context, path_parameters={"job_id": own_job})
        )
    )["data"]
    assert status["list_id"] == "browser"  # the pinned list, filled in

    elsewhere = _post_csv(stack, _session_event("api_post_imports_csv.json", context, body=CSV, query={"list_id": "x"}))
    assert elsewhere["status"] == 403
    again = stack.invoke("CreateImportFunction", _session_event("api_post_sessions.json", context, body=b"{}"))
    assert again["statusCode"] == 403  # a session never mints another
    contacts = stack.invoke(
        "ImportStatusFunction", _session_event("api_get_contacts.json", context, path_parameters={"list_id": "browser"})
    )
    assert contacts["statusCode"] == 403


def test_an_expired_session_is_refused_by_the_authorizer_and_by_the_routes(stack):
    session = _mint(stack, {"ttl_seconds": 60})
    table = boto3.resource("dynamodb", region_name="us-east-1").Table(stack.template.tables["ApiKeysTable"].name)
    keys = ApiKeyStore(table)
    event = APIGatewayAuthorizerRequestEvent(_authorizer_event(session["token"]))
    record = keys.get(hash_api_key(session["token"]))
    assert record is not None and record.expires_at is not None
    ends = record.expires_at  # the clock is moved, not waited for
    assert authorize(event, keys, now=lambda: ends - 0.5)["context"]["session_id"] == record.session_id
    with pytest.raises(UnauthorizedCaller):
        authorize(event, keys, now=lambda: ends)
    # An answer the gateway cached from before the end: the route refuses it itself.
    context = _context(stack, session["token"])
    stale = {**context, "session_expires_at": str(int(time.time()) - 1)}
    answer = stack.invoke("ImportStatusFunction", _session_event("api_get_imports.json", stale))
    assert answer["statusCode"] == 401
    assert body_of(answer)["error"]["code"] == "unauthorized"


@pytest.mark.parametrize("body", [{"ttl_seconds": 3601}, {"ttl_seconds": 0}, {"list_id": "bad list"}, {"x": 1}])
def test_a_session_request_out_of_bounds_is_400(stack, body):
    response = stack.invoke("CreateImportFunction", api_event("api_post_sessions.json", body=json.dumps(body).encode()))
    assert response["statusCode"] == 400
    assert body_of(response)["error"]["code"] == "validation_error"


def _put_profile(stack, name: str, body: dict, account_id: str = "local") -> dict:
    event = api_event(
        "api_put_mapping_profile.json",
        body=json.dumps(body).encode(),
        path_parameters={"name": name},
        account_id=account_id,
    )
    response = stack.invoke("CreateImportFunction", event)
    return {"status": response["statusCode"], "body": body_of(response)}


def _get_profile(stack, name: str, account_id: str = "local") -> int:
    event = api_event("api_get_import.json", account_id=account_id)
    event["resource"] = "/mapping-profiles/{name}"
    event["path"] = f"/mapping-profiles/{name}"
    event["pathParameters"] = {"name": name}
    return stack.invoke("ImportStatusFunction", event)["statusCode"]


NIGHTLY = {"mapping": {"Handy": "phone", "Wer": "name", "Notiz": "ignore"}, "options": {"tags": ["nightly"]}}
NIGHTLY_CSV = b"Wer,Handy,Notiz\nJane Doe,(212) 736-5000,x\n"


def test_profiles_are_stored_per_account_and_checked_like_an_import(stack):
    stored = _put_profile(stack, "nightly", NIGHTLY)
    assert stored["status"] == 200, stored
    assert stored["body"]["data"]["mapping"] == NIGHTLY["mapping"]
    assert _get_profile(stack, "nightly") == 200
    assert _get_profile(stack, "nightly", account_id="another") == 404

    unknown = _put_profile(stack, "bad", {"mapping": {"Handy": "favourite_colour"}})
    assert unknown["status"] == 400
    assert "favourite_colour" in unknown["body"]["error"]["message"]
    not_here = _put_profile(stack, "bad", {"mapping": {"Handy": "phone"}, "options": {"list_id": "x"}})
    assert not_here["status"] == 400

    event = api_event("api_put_mapping_profile.json", path_parameters={"name": "nightly"})
    event["httpMethod"] = "DELETE"
    event["requestContext"]["httpMethod"] = "DELETE"
    assert stack.invoke("CreateImportFunction", event)["statusCode"] == 200
    assert _get_profile(stack, "nightly") == 404


def test_an_import_naming_a_profile_takes_it_and_an_unknown_name_is_400(stack):
    assert _put_profile(stack, "nightly", NIGHTLY)["status"] == 200
    made = _post_csv(
        stack,
        api_event(
            "api_post_imports_csv.json", body=NIGHTLY_CSV, query={"list_id": "named", "mapping_profile": "nightly"}
        ),
    )
    assert made["status"] == 202, made
    for key in stack.pending_uploads():
        stack.deliver_s3(key)
    contact = body_of(
        stack.invoke(
            "ImportStatusFunction",
            api_event("api_get_contact.json", path_parameters={"list_id": "named", "phone": "%2B12127365000"}),
        )
    )["data"]
    assert contact["name"] == "Jane Doe" and contact["tags"] == ["nightly"]
    assert "Notiz" not in contact["custom_fields"]

    unknown = _post_csv(
        stack, api_event("api_post_imports_csv.json", body=NIGHTLY_CSV, query={"mapping_profile": "weekly"})
    )
    assert unknown["status"] == 400
    assert "weekly" in unknown["body"]["error"]["message"]


def test_a_dropped_file_takes_the_profile_its_headers_match(stack):
    AccountStore(
        boto3.resource("dynamodb", region_name="us-east-1"), stack.template.tables["AccountsTable"].name
    ).allow_drop_writer("local", SAMPLE_WRITER)
    assert _put_profile(stack, "nightly", NIGHTLY)["status"] == 200
    key = "drop/local/dropped/nightly export.csv"
    stack.s3().put_object(Bucket=stack.bucket, Key=key, Body=NIGHTLY_CSV)
    job_id = stack.deliver_s3(key, "s3_put_drop.json")["job_ids"][0]
    job = body_of(
        stack.invoke("ImportStatusFunction", api_event("api_get_import.json", path_parameters={"job_id": job_id}))
    )["data"]
    assert job["status"] == "completed" and job["counts"]["created"] == 1
    contact = body_of(
        stack.invoke(
            "ImportStatusFunction",
            api_event("api_get_contact.json", path_parameters={"list_id": "dropped", "phone": "%2B12127365000"}),
        )
    )["data"]
    assert contact["tags"] == ["nightly"] and "Notiz" not in contact["custom_fields"]


def test_the_preview_names_the_matching_profile_and_answers_its_mapping(stack):
    assert _put_profile(stack, "nightly", NIGHTLY)["status"] == 200
    response = stack.invoke("CreateImportFunction", api_event("api_post_imports_preview.json", body=NIGHTLY_CSV))
    assert response["statusCode"] == 200, response["body"]
    preview = body_of(response)["data"]
    assert preview["profile"] == "nightly"
    assert {c["header"]: c["field"] for c in preview["columns"]} == {"Wer": "name", "Handy": "phone", "Notiz": "ignore"}
    assert preview["rows"][0]["phone"] == "+12127365000"
