"""POST /campaigns/{campaign_id}/contacts/upload, the calling-campaign platform's upload
(docs/api.md, Compatibility). Its document shows no request example, only tables: every row of
its phone-normalization and column tables, its column_mappings field, its answer fields, its
behaviour with existing contacts and its error statuses are held here against the local stack."""

from __future__ import annotations

import random

import pytest
import requests

from tests.e2e.jobs import contact
from tests.e2e.stack import LocalStackHandle, OwnAccount

pytestmark = pytest.mark.e2e


def upload(
    stack: LocalStackHandle, account: OwnAccount, campaign_id: str, csv: bytes | None, **fields: str
) -> requests.Response:
    files = {"file": ("campaign contacts.csv", csv, "text/csv")} if csv is not None else None
    return requests.post(
        stack.url(f"/campaigns/{campaign_id}/contacts/upload"),
        headers=account.authorization,
        files=files,
        data=fields or None,
        timeout=60,
    )


def new_campaign() -> str:
    return str(random.randrange(10**6, 10**9))


@pytest.mark.parametrize("written", ["5551234567", "1-555-123-4567", "(555) 123-4567", "+15551234567"])
def test_each_input_format_of_their_table_is_normalized_to_e164(
    local_stack: LocalStackHandle, own_account: OwnAccount, written: str
) -> None:
    campaign = new_campaign()
    response = upload(local_stack, own_account, campaign, f'phone,name\n"{written}",Jane Doe\n'.encode())
    assert response.status_code == 200, response.text
    answer = response.json()
    assert (answer["success"], answer["imported_count"], answer["total_contacts"]) == (True, 1, 1)
    assert answer["file_name"] == "campaign contacts.csv"
    assert answer["import_date"].endswith("Z") and answer["message"] == "Imported 1 of 1 contacts."
    assert (contact(local_stack, campaign, "+15551234567", own_account.api_key) or {}).get("name") == "Jane Doe"


@pytest.mark.parametrize(
    ("phone", "name", "email", "company"),
    [
        ("phone", "name", "email", "company"),
        ("phone_number", "full_name", "email_address", "organization"),
        ("mobile", "contact_name", "email", "company"),
        ("cell", "name", "email_address", "organization"),
    ],
)
def test_the_column_names_of_their_table_are_detected(
    local_stack: LocalStackHandle, own_account: OwnAccount, phone: str, name: str, email: str, company: str
) -> None:
    campaign = new_campaign()
    csv = f"{phone},{name},{email},{company},Appointment\n(212) 736-5000,Jane Doe,jane@acme.com,Acme,Tuesday\n"
    response = upload(local_stack, own_account, campaign, csv.encode())
    assert response.status_code == 200, response.text
    stored = contact(local_stack, campaign, "+12127365000", own_account.api_key) or {}
    assert (stored.get("name"), stored.get("email"), stored.get("company")) == ("Jane Doe", "jane@acme.com", "Acme")
    assert stored.get("custom_fields") == {"Appointment": "Tuesday"}  # a custom column: a template variable


def test_column_mappings_is_a_json_string_of_csv_column_to_field(
    local_stack: LocalStackHandle, own_account: OwnAccount
) -> None:
    campaign = new_campaign()
    csv = b"Tel,Who,Firm\n+1 650 253 0000,John Roe,Widget\n"
    mappings = '{"Tel": "phone_number", "Who": "name", "Firm": "company"}'
    response = upload(local_stack, own_account, campaign, csv, column_mappings=mappings)
    assert response.status_code == 200, response.text
    stored = contact(local_stack, campaign, "+16502530000", own_account.api_key) or {}
    assert (stored.get("name"), stored.get("company")) == ("John Roe", "Widget")


def test_existing_contacts_with_the_same_phone_are_skipped(
    local_stack: LocalStackHandle, own_account: OwnAccount
) -> None:
    campaign = new_campaign()
    first = upload(local_stack, own_account, campaign, b"phone,name\n(212) 736-5000,Jane Doe\n")
    assert first.status_code == 200 and first.json()["imported_count"] == 1, first.text
    again = upload(local_stack, own_account, campaign, b"phone,name\n(212) 736-5000,Jane Renamed\n(650) 253-0000,Bo\n")
    assert again.status_code == 200, again.text
    answer = again.json()
    assert (answer["imported_count"], answer["total_contacts"]) == (1, 2)
    assert answer["message"] == "Imported 1 of 2 contacts (1 already in the campaign or repeated, 0 invalid)."
    assert (contact(local_stack, campaign, "+12127365000", own_account.api_key) or {}).get("name") == "Jane Doe"


@pytest.mark.parametrize(
    ("csv", "code"),
    [
        (b"", "empty_file"),
        (b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\n", "unsupported_media_type"),
        (b"name,email\nJane,jane@acme.com\n", "missing_required_column"),
        (None, "validation_error"),
    ],
    ids=["empty file", "not a csv", "no phone column", "no file"],
)
def test_an_invalid_file_format_or_empty_file_is_400(
    local_stack: LocalStackHandle, own_account: OwnAccount, csv: bytes | None, code: str
) -> None:
    response = upload(local_stack, own_account, new_campaign(), csv)
    assert response.status_code == 400, response.text
    answer = response.json()
    assert (answer["success"], answer["error"]["code"]) == (False, code)
    assert answer["message"] == answer["error"]["message"]


def test_a_campaign_id_that_is_not_an_integer_is_not_found(
    local_stack: LocalStackHandle, own_account: OwnAccount
) -> None:
    response = upload(local_stack, own_account, "spring-sale", b"phone\n(212) 736-5000\n")
    assert response.status_code == 404, response.text
    assert (response.json()["success"], response.json()["error"]["code"]) == (False, "not_found")
