"""Status codes, error codes and options of docs/api.md, through the real handlers."""

from __future__ import annotations

import csv
import io
import json

import pytest

from contacts_import.api.importer_routes import OPEN_ROUTES
from contacts_import.auth.keys import usage_identifier_key
from tests.integration.api_calls import SMALL, error_code, import_and_finish, post_csv, run_all, status
from tests.sample_events import api_event, body_of, load_event


@pytest.mark.parametrize(
    ("body", "content_type", "status_code", "code"),
    [
        (b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\n", "application/pdf", 415, "unsupported_media_type"),
        (b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\n", "text/csv", 415, "unsupported_media_type"),
        (b"\x89PNG\r\n\x1a\n\x00\x00", "text/csv", 415, "unsupported_media_type"),
        (b"name,email\nJane,jane@a.com\n", "text/csv", 422, "missing_required_column"),
        (b"", "text/csv", 422, "empty_file"),
        (b"\r\n\r\n", "text/csv", 422, "empty_file"),
    ],
)
def test_a_file_that_cannot_import_is_refused_at_once(stack, body, content_type, status_code, code):
    response = post_csv(stack, body, content_type)
    assert response["statusCode"] == status_code, response["body"]
    assert error_code(response) == code
    assert response["multiValueHeaders"]["X-Request-ID"]
    assert "Traceback" not in response["body"]


def test_missing_phone_column_names_the_headers_seen(stack):
    response = post_csv(stack, b"Full Name,E-mail\nJane,jane@a.com\n")
    assert "'Full Name'" in body_of(response)["error"]["message"]
    assert body_of(response)["error"]["details"]["headers"] == ["Full Name", "E-mail"]


def test_a_body_over_the_direct_limit_is_413(stack):
    big = b"phone,name\n" + b"+12127365000,A name that fills the line up to some length.....\n" * 70000
    response = post_csv(stack, big)
    assert response["statusCode"] == 413
    assert error_code(response) == "payload_too_large"


@pytest.mark.parametrize(
    ("query", "named"),
    [
        ({"mapping": json.dumps({"phone": "phone", "name": "nickname_x"})}, "nickname_x"),
        ({"on_existing": "merge"}, "on_existing"),
        ({"default_region": "XX"}, "default_region"),
        ({"list_id": "../etc"}, "list_id"),
        ({"no_such_option": "1"}, "no_such_option"),
    ],
)
def test_bad_options_are_400_naming_the_option(stack, query, named):
    response = post_csv(stack, SMALL, **query)
    assert response["statusCode"] == 400, response["body"]
    assert error_code(response) == "validation_error"
    assert named in body_of(response)["error"]["message"]


def test_a_mapping_naming_a_column_the_file_lacks_is_422_naming_it(stack):
    # Valid options the file does not fit: only its bytes say so (docs/decisions.md).
    response = post_csv(stack, SMALL, mapping=json.dumps({"Nope": "phone"}))
    assert response["statusCode"] == 422, response["body"]
    assert error_code(response) == "validation_error" and "Nope" in body_of(response)["error"]["message"]


def test_header_only_file_completes_with_no_rows(stack):
    job = import_and_finish(stack, b"phone,name\n", list_id="hdr")
    assert job["status"] == "completed"
    assert job["counts"]["total_rows"] == 0


def test_reimport_skips_existing_then_update_changes_them(stack):
    import_and_finish(stack, b"phone,name,tags\n+12127365000,Jane Old,a\n", list_id="upd")
    skipped = import_and_finish(stack, b"phone,name\n(212) 736-5000,Jane New\n", list_id="upd")
    assert skipped["counts"]["skipped_existing"] == 1 and skipped["counts"]["created"] == 0

    updated = import_and_finish(
        stack, b"phone,name\n(212) 736-5000,Jane New\n", list_id="upd", on_existing="update", tags="vip,2024"
    )
    assert updated["counts"]["updated"] == 1
    assert updated["total_contacts"] == 1
    contact = body_of(
        stack.invoke(
            "ImportStatusFunction",
            api_event("api_get_contact.json", path_parameters={"list_id": "upd", "phone": "+12127365000"}),
        )
    )["data"]
    assert contact["name"] == "Jane New"
    assert set(contact["tags"]) == {"a", "vip", "2024"}
    assert contact["import_job_id"] == updated["job_id"]


def test_update_existing_alias_means_update(stack):
    import_and_finish(stack, b"phone,name\n+12127365000,Old\n", list_id="alias")
    job = import_and_finish(stack, b"phone,name\n+12127365000,New\n", list_id="alias", update_existing="true")
    assert job["counts"]["updated"] == 1


def test_dry_run_counts_but_writes_nothing(stack):
    job = import_and_finish(stack, b"phone,name\n+16502530000,Dry\n", list_id="dry", dry_run="true")
    assert job["dry_run"] is True and job["counts"]["created"] == 1
    response = stack.invoke(
        "ImportStatusFunction",
        api_event("api_get_contact.json", path_parameters={"list_id": "dry", "phone": "+16502530000"}),
    )
    assert response["statusCode"] == 404


def test_row_outcomes_and_errors_with_row_numbers(stack):
    body = (
        b"phone,name,email\n"
        b"+12127365000,Jane,jane@a.com\n"  # row 2 created
        b'12345,"Multi\nLine",\n'  # row 3 invalid phone (the quoted line break keeps it one row)
        b"(212) 736-5000,Dup,\n"  # row 4 duplicate of row 2
        b",,\n"  # a blank record: no row at all
        b",No Phone,\n"  # row 6 missing phone
        b"+16502530000,Bad Mail,not-an-email\n"  # row 7 invalid email
    )
    job = import_and_finish(stack, body, list_id="rows")
    counts = job["counts"]
    assert (counts["total_rows"], counts["created"], counts["skipped_duplicates"], counts["invalid"]) == (
        5,
        1,
        1,
        3,
    )
    assert [(e["row"], e["code"]) for e in job["errors"]] == [
        (3, "invalid_phone"),
        (6, "missing_phone"),
        (7, "invalid_email"),
    ]
    assert job["error_count"] == 3


def test_errors_report_paged_and_as_spreadsheet_safe_csv(stack):
    body = b'phone,name\n12345,"=HYPERLINK(""http://evil.example"",""x"")"\n+1invalid,"@SUM(1+1)"\n'
    job = import_and_finish(stack, body, list_id="err")
    event = api_event("api_get_import_errors.json", path_parameters={"job_id": job["job_id"]}, query={"limit": "1"})
    page = body_of(stack.invoke("ImportStatusFunction", event))
    assert [e["row"] for e in page["data"]] == [2]
    assert page["pagination"]["limit"] == 1 and page["pagination"]["next_cursor"]
    event = api_event(
        "api_get_import_errors.json",
        path_parameters={"job_id": job["job_id"]},
        query={"limit": "1", "cursor": page["pagination"]["next_cursor"]},
    )
    assert [e["row"] for e in body_of(stack.invoke("ImportStatusFunction", event))["data"]] == [3]

    event = api_event(
        "api_get_import_errors.json",
        path_parameters={"job_id": job["job_id"]},
        headers={"Accept": "text/csv"},
    )
    response = stack.invoke("ImportStatusFunction", event)
    rows = list(csv.reader(io.StringIO(response["body"])))
    assert rows[0] == ["phone", "name", "row", "code", "message"]
    cells = [cell for row in rows for cell in row]
    assert not [c for c in cells if c[:1] in ("=", "+", "-", "@", "\t", "\r")]
    assert any("HYPERLINK" in c for c in cells)


def test_idempotency_key_answers_the_same_job_and_refuses_a_different_body(stack):
    headers = {"Idempotency-Key": "k-1"}
    event = api_event("api_post_imports_csv.json", body=SMALL, content_type="text/csv", query={}, headers=headers)
    first = body_of(stack.invoke("CreateImportFunction", event))["data"]["job_id"]
    again = body_of(stack.invoke("CreateImportFunction", event))["data"]["job_id"]
    assert first == again
    other = api_event(
        "api_post_imports_csv.json",
        body=SMALL + b"+16502530000,X\n",
        content_type="text/csv",
        query={},
        headers=headers,
    )
    response = stack.invoke("CreateImportFunction", other)
    assert response["statusCode"] == 422 and error_code(response) == "idempotency_key_reused"


def test_cancel_a_queued_job_and_not_an_ended_one(stack):
    accepted = body_of(post_csv(stack, SMALL, list_id="cx"))["data"]
    cancel = api_event("api_post_cancel.json", path_parameters={"job_id": accepted["job_id"]})
    response = stack.invoke("CreateImportFunction", cancel)
    assert response["statusCode"] == 200 and body_of(response)["data"]["status"] == "cancelled"
    run_all(stack)  # the file arrives after the cancel: nothing is imported
    job = body_of(status(stack, accepted["job_id"]))["data"]
    assert job["status"] == "cancelled" and job["counts"]["created"] == 0
    assert stack.invoke("CreateImportFunction", cancel)["statusCode"] == 409


def test_another_account_sees_404(stack):
    job = import_and_finish(stack, SMALL, list_id="mine")
    assert status(stack, job["job_id"], account_id="someone-else")["statusCode"] == 404
    response = stack.invoke(
        "ImportStatusFunction",
        api_event("api_get_contacts.json", path_parameters={"list_id": "mine"}, account_id="someone-else"),
    )
    assert response["statusCode"] == 404
    assert status(stack, "imp_" + "0" * 26)["statusCode"] == 404
    # Not a job id by its pattern: it names no job either (the contract's 404), the value not echoed.
    malformed = status(stack, "imp_does_not_exist")
    assert malformed["statusCode"] == 404 and body_of(malformed)["error"]["code"] == "not_found"
    assert "does_not_exist" not in malformed["body"]


def test_list_and_contacts_pages(stack):
    import_and_finish(stack, b"phone\n+12127365000\n+16502530000\n+14155552671\n", list_id="pages")
    lst = body_of(
        stack.invoke("ImportStatusFunction", api_event("api_get_list.json", path_parameters={"list_id": "pages"}))
    )["data"]
    assert lst == {"list_id": "pages", "total_contacts": 3}
    seen, cursor = [], None
    while True:
        query = {"limit": "2", **({"cursor": cursor} if cursor else {})}
        page = body_of(
            stack.invoke(
                "ImportStatusFunction",
                api_event("api_get_contacts.json", path_parameters={"list_id": "pages"}, query=query),
            )
        )
        seen += [c["phone"] for c in page["data"]]
        cursor = page["pagination"]["next_cursor"]
        if not cursor:
            break
    assert sorted(seen) == ["+12127365000", "+14155552671", "+16502530000"]


def test_a_missing_scope_is_403(stack):
    event = api_event("api_post_imports_csv.json", body=SMALL, content_type="text/csv", scopes="imports:read")
    response = stack.invoke("CreateImportFunction", event)
    assert response["statusCode"] == 403 and error_code(response) == "forbidden"


def test_openapi_document_describes_every_route(stack):
    response = stack.invoke("ImportStatusFunction", api_event("api_get_openapi.json"))
    document = json.loads(response["body"])
    error_envelope = "#/components/schemas/ErrorEnvelope"
    for route in stack.template.routes:
        operation = document["paths"][route.path][route.method.lower()]
        if route.path in OPEN_ROUTES:
            # The importer's page and script load without a key (docs/importer.md): nothing to refuse.
            assert operation["security"] == [] and not {"401", "403"} & set(operation["responses"]), route
            continue
        (requirement,) = operation["security"]
        assert list(requirement) == ["apiKey"], route
        answers = operation["responses"]
        assert any(code.startswith("2") for code in answers), route
        for code in ("401", "403", "429", "500"):
            assert answers[code]["content"]["application/json"]["schema"]["$ref"] == error_envelope, (route, code)
        assert all(answer["headers"]["X-Request-ID"]["required"] for answer in answers.values()), route
        assert "Retry-After" in answers["429"]["headers"], route
    request_body = document["paths"]["/imports"]["post"]["requestBody"]["content"]
    assert {"text/csv", "multipart/form-data", "application/json"} <= set(request_body)
    # Our routes answer 400 validation_error; a compatibility route's 422 is its API's own body.
    assert "HTTPValidationError" not in json.dumps(document)


def test_the_compatibility_routes_are_documented_under_their_tag(stack):
    response = stack.invoke("ImportStatusFunction", api_event("api_get_openapi.json"))
    document = json.loads(response["body"])
    tagged = {
        (method.upper(), path)
        for path, operations in document["paths"].items()
        for method, operation in operations.items()
        if operation.get("tags") == ["compatibility"]
    }
    assert tagged == {
        ("POST", "/contacts/import"),
        ("POST", "/{account}/contacts/upload"),
        ("POST", "/batch-calls/{batch_call_id}/contacts"),
        ("POST", "/v1/import/contacts"),
        ("POST", "/campaigns/{campaign_id}/contacts/upload"),
    }
    routes = {(route.method, route.path): route.function_id for route in stack.template.routes}
    assert all(routes[route] == "CreateImportFunction" for route in tagged)


def test_authorizer_allows_a_known_key_and_refuses_others(stack):
    allowed = stack.invoke("AuthorizerFunction", load_event("authorizer_request.json"))
    assert allowed["policyDocument"]["Statement"][0]["Effect"] == "Allow"
    assert allowed["context"]["account_id"] == "local"
    assert allowed["usageIdentifierKey"] == usage_identifier_key("local")  # the account's usage plan key
    wrong = load_event("authorizer_request.json")
    wrong["headers"]["Authorization"] = "Bearer nope"
    with pytest.raises(Exception, match=r"^Unauthorized$"):
        stack.invoke("AuthorizerFunction", wrong)


def test_wait_returns_the_finished_job_when_it_ends_in_time(stack, monkeypatch):
    from contacts_import.service import create_import

    # In Lambda the processor runs beside us; here the wait's polling runs it, as S3 would.
    monkeypatch.setattr(create_import, "pause", lambda seconds: run_all(stack))
    response = post_csv(stack, SMALL, list_id="waited", wait="true")
    assert response["statusCode"] == 201, response["body"]
    assert body_of(response)["data"]["status"] == "completed"
