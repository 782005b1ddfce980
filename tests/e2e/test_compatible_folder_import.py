"""POST /contacts/import, the voice-AI platform's CSV import (docs/api.md, Compatibility): its
documented request sent as its users send it, but for the base URL and key, gets its documented
answers from the local stack; so does its answer's example, reproduced by a file that makes it."""

from __future__ import annotations

import re

import pytest
import requests

from tests.e2e.jobs import contact
from tests.e2e.stack import LocalStackHandle, OwnAccount

pytestmark = pytest.mark.e2e

# The example CSV of their document.
EXAMPLE_CSV = (
    b"phone,name,email,company\n"
    b"+12125551234,Jane Doe,jane@acme.com,Acme Corp\n"
    b"+15551230987,John Smith,john@widget.co,Widget Co\n"
)


def post_form(stack: LocalStackHandle, authorization: dict[str, str], csv: bytes | None, **fields: str):
    files = {"file": ("contacts.csv", csv, "text/csv")} if csv is not None else None
    return requests.post(
        stack.url("/contacts/import"), headers=authorization, files=files, data=fields or None, timeout=60
    )


def assert_meta(response: requests.Response) -> None:
    meta = response.json()["meta"]
    assert meta["request_id"] == response.headers["X-Request-ID"]
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z", meta["ts"])


def test_the_documented_request_imports_the_example_csv_into_the_folder(
    local_stack: LocalStackHandle, own_account: OwnAccount
) -> None:
    response = post_form(
        local_stack, own_account.authorization, EXAMPLE_CSV, folder_id="folder_abc123", overwrite_existing="false"
    )
    assert response.status_code == 201, response.text
    assert response.json()["data"] == {
        "imported": 2,
        "updated": 0,
        "skipped": 0,
        "errors": 0,
        "folder_id": "folder_abc123",
        "error_details": [],
    }
    assert_meta(response)
    jane = contact(local_stack, "folder_abc123", "+12125551234", own_account.api_key) or {}
    assert (jane.get("name"), jane.get("email"), jane.get("company")) == ("Jane Doe", "jane@acme.com", "Acme Corp")
    # Their document's numbers in the 555 range are taken: it checks a number's format only.
    assert contact(local_stack, "folder_abc123", "+15551230987", own_account.api_key)


def test_the_documented_answer_is_what_a_file_with_those_outcomes_gets(
    local_stack: LocalStackHandle, own_account: OwnAccount
) -> None:
    existing = [f"+1212555{1000 + n}" for n in range(8)]
    new = [f"+1212555{2000 + n}" for n in range(142)]
    first = post_form(local_stack, own_account.authorization, _csv(existing), folder_id="folder_abc123")
    assert first.status_code == 201 and first.json()["data"]["imported"] == 8, first.text

    # Row 5 is the documented refusal; 8 rows update what the folder has, 3 repeat new ones.
    rows = [existing[0], existing[1], new[0], "+1invalid", *existing[2:], *new[1:], new[0], new[1], new[2]]
    again = post_form(
        local_stack,
        own_account.authorization,
        _csv(rows, "Renamed"),
        folder_id="folder_abc123",
        overwrite_existing="true",
    )
    assert again.status_code == 201, again.text
    assert again.json()["data"] == {
        "imported": 142,
        "updated": 8,
        "skipped": 3,
        "errors": 1,
        "folder_id": "folder_abc123",
        "error_details": [{"row": 5, "phone": "+1invalid", "reason": "Invalid phone number format"}],
    }
    updated = contact(local_stack, "folder_abc123", existing[5], own_account.api_key) or {}
    assert updated.get("name") == "Renamed 7"


def _csv(phones: list[str], name: str = "Person") -> bytes:
    lines = ["phone,name"] + [f"{phone},{name} {n}" for n, phone in enumerate(phones)]
    return ("\n".join(lines) + "\n").encode()


def test_without_a_folder_the_contacts_go_to_the_default_list(
    local_stack: LocalStackHandle, own_account: OwnAccount
) -> None:
    response = post_form(local_stack, own_account.authorization, EXAMPLE_CSV)
    assert response.status_code == 201, response.text
    assert response.json()["data"]["folder_id"] is None
    assert contact(local_stack, "default", "+12125551234", own_account.api_key)


def test_a_form_without_its_file_is_their_422(local_stack: LocalStackHandle, own_account: OwnAccount) -> None:
    response = post_form(local_stack, own_account.authorization, None, folder_id="folder_abc123")
    assert response.status_code == 422, response.text
    assert response.json() == {
        "detail": [{"loc": ["body", "file"], "msg": "field required", "type": "value_error.missing"}]
    }


def test_bad_parameters_are_their_400_bad_request(local_stack: LocalStackHandle, own_account: OwnAccount) -> None:
    response = post_form(local_stack, own_account.authorization, EXAMPLE_CSV, overwrite_existing="perhaps")
    assert response.status_code == 400, response.text
    assert response.json()["error"]["code"] == "bad_request"
    assert "overwrite_existing" in response.json()["error"]["message"]
    assert_meta(response)


def test_a_file_that_is_not_a_csv_is_a_bad_request(local_stack: LocalStackHandle, own_account: OwnAccount) -> None:
    response = post_form(local_stack, own_account.authorization, b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\n")
    assert response.status_code == 400, response.text
    assert response.json()["error"]["code"] == "unsupported_media_type"


def test_without_a_key_it_is_their_401(local_stack: LocalStackHandle) -> None:
    response = post_form(local_stack, {}, EXAMPLE_CSV)
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "unauthorized"
