"""POST /imports takes the option and field names of the five import APIs beside ours (docs/api.md,
Compatibility): the requests the issue saw refused at once are accepted over HTTP and import as
their names say; an unknown option is still refused."""

from __future__ import annotations

import pytest
import requests

from tests.e2e.jobs import contact, wait_for_end
from tests.e2e.stack import LocalStackHandle, OwnAccount

pytestmark = pytest.mark.e2e


def imported(stack: LocalStackHandle, account: OwnAccount, response: requests.Response) -> dict:
    assert response.status_code == 202, response.text
    job = wait_for_end(stack, response.json()["data"]["job_id"], account.api_key)
    assert job["status"] == "completed", job
    return job


def test_folder_id_and_overwrite_existing(local_stack: LocalStackHandle, own_account: OwnAccount) -> None:
    def send(name: str, overwrite: str) -> requests.Response:
        return requests.post(
            local_stack.url("/imports"),
            headers=own_account.authorization,
            files={"file": ("contacts.csv", f"phone,name\n+12127365000,{name}\n".encode(), "text/csv")},
            data={"folder_id": "folder_abc123", "overwrite_existing": overwrite},
            timeout=60,
        )

    assert imported(local_stack, own_account, send("Jane", "false"))["list_id"] == "folder_abc123"
    assert imported(local_stack, own_account, send("Jane Doe", "true"))["counts"]["updated"] == 1
    assert (contact(local_stack, "folder_abc123", "+12127365000", own_account.api_key) or {}).get("name") == "Jane Doe"


def test_campaign_id_and_column_mappings(local_stack: LocalStackHandle, own_account: OwnAccount) -> None:
    response = requests.post(
        local_stack.url("/imports"),
        headers=own_account.authorization,
        files={"file": ("contacts.csv", b"Tel,Who\n(650) 253-0000,John Roe\n", "text/csv")},
        data={"campaign_id": "42", "column_mappings": '{"Tel": "phone_number", "Who": "contact_name"}'},
        timeout=60,
    )
    assert imported(local_stack, own_account, response)["list_id"] == "42"
    assert (contact(local_stack, "42", "+16502530000", own_account.api_key) or {}).get("name") == "John Roe"


def test_positional_headers_with_business_and_the_json_rows_of_update_existing(
    local_stack: LocalStackHandle, own_account: OwnAccount
) -> None:
    session = local_stack.session(own_account.api_key)
    first = session.post(
        local_stack.url("/imports"),
        json={
            "csv": "Who,Number,Firm,Labels\nJane Doe,(212) 736-5000,Acme,vip\n",
            "headers": ["name", "phone_number", "business", "tags"],
        },
        timeout=60,
    )
    assert imported(local_stack, own_account, first)["counts"]["created"] == 1
    jane = contact(local_stack, "default", "+12127365000", own_account.api_key) or {}
    assert (jane.get("company"), jane.get("tags")) == ("Acme", ["vip"])

    rows = [
        {
            "phone_number": "+12127365000",
            "full_name": "Jane D.",
            "email_address": "jane@acme.com",
            "organization": "Acme Inc",
        }
    ]
    again = session.post(local_stack.url("/imports"), json={"rows": rows, "update_existing": True}, timeout=60)
    assert imported(local_stack, own_account, again)["counts"]["updated"] == 1
    jane = contact(local_stack, "default", "+12127365000", own_account.api_key) or {}
    assert (jane.get("name"), jane.get("email"), jane.get("company")) == ("Jane D.", "jane@acme.com", "Acme Inc")


def test_an_unknown_option_is_still_refused(local_stack: LocalStackHandle, own_account: OwnAccount) -> None:
    response = requests.post(
        local_stack.url("/imports"),
        headers=own_account.authorization,
        files={"file": ("contacts.csv", b"phone\n+12127365000\n", "text/csv")},
        data={"folder": "folder_abc123"},
        timeout=60,
    )
    assert response.status_code == 400, response.text
    assert response.json()["error"]["code"] == "validation_error"
    assert "folder" in response.json()["error"]["message"]
