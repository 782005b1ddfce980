"""POST /{account}/contacts/upload, the SMS platform's CSV upload (docs/api.md, Compatibility):
each of its documented examples, the import and every error case, sent as its curl sends them (a
form: ``file`` a file, ``headers`` text), but for the base URL, the key and the key's account in
the path, gets its documented status and body from the local stack."""

from __future__ import annotations

import pytest
import requests

from tests.e2e.jobs import contact, wait_for_end
from tests.e2e.stack import LocalStackHandle, OwnAccount

pytestmark = pytest.mark.e2e

CONTACTS_CSV = b"name,phone_number,business,tags\nJane Doe,(212) 736-5000,Acme,vip\nJohn Roe,+1 650 253 0000,Widget,\n"
CSV_FILE = ("contacts.csv", CONTACTS_CSV, "text/csv")
EVERY_HEADER = '["name","phone_number","business","tags"]'
PDF = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog >>\nendobj\n"


def upload(
    stack: LocalStackHandle,
    account: OwnAccount,
    file: tuple[str, bytes, str] | None,
    headers: str | None,
    *,
    path_account: str | None = None,
) -> requests.Response:
    files: dict[str, tuple[str | None, bytes | str, str | None]] = {}
    if file is not None:
        files["file"] = file
    if headers is not None:
        files["headers"] = (None, headers, None)  # a text field, as curl -F 'headers=...' sends it
    return requests.post(
        stack.url(f"/{path_account or account.account_id}/contacts/upload"),
        headers={**account.authorization, "Accept": "application/vnd.textus+jsonld"},
        files=files,
        timeout=60,
    )


def test_importing_a_csv_answers_201_with_the_contact_import_slug(
    local_stack: LocalStackHandle, own_account: OwnAccount
) -> None:
    response = upload(local_stack, own_account, CSV_FILE, EVERY_HEADER)
    assert response.status_code == 201, response.text
    slug = response.json()["contact_import_slug"]
    assert list(response.json()) == ["contact_import_slug"]
    assert response.headers["Location"] == f"/imports/{slug}"
    job = wait_for_end(local_stack, slug, own_account.api_key)
    assert (job["status"], job["counts"]["total_rows"], job["counts"]["created"]) == ("completed", 2, 2)
    jane = contact(local_stack, "default", "+12127365000", own_account.api_key) or {}
    assert (jane.get("name"), jane.get("company"), jane.get("tags")) == ("Jane Doe", "Acme", ["vip"])


@pytest.mark.parametrize(
    ("file", "headers", "body"),
    [
        pytest.param(None, '["name","phone_number"]', {"error": "File is required."}, id="missing file parameter"),
        pytest.param(
            ("contact.csv", CONTACTS_CSV, "text/csv"),
            "null",
            {"error": "Headers are a required field."},
            id="missing headers parameter",
        ),
        pytest.param(
            ("contact.csv", CONTACTS_CSV, "text/csv"),
            None,
            {"error": "Headers are a required field."},
            id="headers not sent at all",
        ),
        pytest.param(
            CSV_FILE,
            '["phone_number"]',
            {"errors": ["Missing required headers: name."]},
            id="headers missing required values",
        ),
        pytest.param(
            CSV_FILE,
            '["name","phone_number","invalid"]',
            {"errors": ["Invalid headers provided: invalid."]},
            id="headers include invalid headers",
        ),
        pytest.param(
            ("contacts.pdf", PDF, "application/pdf"),
            EVERY_HEADER,
            {"errors": ["File must be a CSV (text/csv)."]},
            id="file is not a csv",
        ),
    ],
)
def test_each_documented_error_case_is_422_in_their_words(
    local_stack: LocalStackHandle, own_account: OwnAccount, file, headers, body
) -> None:
    response = upload(local_stack, own_account, file, headers)
    assert response.status_code == 422, response.text
    assert response.json() == body
    assert response.headers["X-Request-ID"]


def test_headers_as_separate_fields_are_the_same_list(local_stack: LocalStackHandle, own_account: OwnAccount) -> None:
    response = requests.post(
        local_stack.url(f"/{own_account.account_id}/contacts/upload"),
        headers=own_account.authorization,
        files=[
            ("file", CSV_FILE),
            *(("headers[]", (None, name, None)) for name in ("name", "phone_number", "business", "tags")),
        ],
        timeout=60,
    )
    assert response.status_code == 201, response.text
    job = wait_for_end(local_stack, response.json()["contact_import_slug"], own_account.api_key)
    assert job["counts"]["created"] == 2


def test_an_account_in_the_path_that_is_not_the_keys_is_not_found(
    local_stack: LocalStackHandle, own_account: OwnAccount
) -> None:
    response = upload(local_stack, own_account, CSV_FILE, EVERY_HEADER, path_account="my_account")
    assert response.status_code == 404, response.text
    assert response.json()["error"]["code"] == "not_found"
