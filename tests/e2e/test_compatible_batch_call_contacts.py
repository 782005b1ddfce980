"""POST /batch-calls/{batch_call_id}/contacts, the voice-AI platform's "add contacts to a batch
call" (docs/api.md, Compatibility): its documented request examples get both documented answer
shapes (docs/decisions.md), its answer's example is reproduced by a batch that makes it, and a
body that fails its schema gets FastAPI's 422."""

from __future__ import annotations

import uuid

import pytest
import requests

from tests.e2e.jobs import contact, wait_for_end
from tests.e2e.stack import LocalStackHandle, OwnAccount

pytestmark = pytest.mark.e2e


def add(stack: LocalStackHandle, account: OwnAccount, batch_call_id: str, body: object) -> requests.Response:
    return requests.post(
        stack.url(f"/batch-calls/{batch_call_id}/contacts"), headers=account.authorization, json=body, timeout=60
    )


def new_batch_call() -> str:
    return f"bc_{uuid.uuid4().hex[:10]}"


def test_the_add_contacts_example_answers_both_documented_shapes(
    local_stack: LocalStackHandle, own_account: OwnAccount
) -> None:
    batch_call = new_batch_call()
    response = add(
        local_stack,
        own_account,
        batch_call,
        {"contacts": [{"phone_number": "+15551234567", "first_name": "John", "last_name": "Doe"}]},
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["data"] == {
        "added_count": 1,
        "failed_count": 0,
        "added": 1,
        "duplicates_skipped": 0,
        "invalid_skipped": 0,
        "total_contacts": 1,
    }
    assert body["meta"]["request_id"] == response.headers["X-Request-ID"]
    john = contact(local_stack, batch_call, "+15551234567", own_account.api_key) or {}
    assert (john.get("first_name"), john.get("last_name"), john.get("name")) == ("John", "Doe", "John Doe")

    # The schema's own example, into the same batch call: the number is there already.
    again = add(
        local_stack, own_account, batch_call, {"contacts": [{"phone_number": "+15551234567", "first_name": "Jane"}]}
    )
    assert again.status_code == 200, again.text
    assert again.json()["data"] == {
        "added_count": 0,
        "failed_count": 0,
        "added": 0,
        "duplicates_skipped": 1,
        "invalid_skipped": 0,
        "total_contacts": 1,
    }


def test_the_documented_answer_is_what_a_batch_with_those_outcomes_gets(
    local_stack: LocalStackHandle, own_account: OwnAccount
) -> None:
    batch_call = new_batch_call()
    already = [f"+1212555{n:04d}" for n in range(505)]
    loaded = local_stack.session(own_account.api_key).post(
        local_stack.url("/imports"),
        json={"rows": [{"phone": phone} for phone in already], "list_id": batch_call},
        timeout=60,
    )
    assert loaded.status_code == 202, loaded.text
    assert wait_for_end(local_stack, loaded.json()["data"]["job_id"], own_account.api_key)["counts"]["created"] == 505

    new = [f"+1650555{n:04d}" for n in range(150)]
    # 3 the batch call has, 2 repeated in this batch; 2 E.164 in form that no number can be.
    phones = [*new, *already[:3], new[0], new[1], "+1555", "+12125551234567"]
    response = add(local_stack, own_account, batch_call, {"contacts": [{"phone_number": p} for p in phones]})
    assert response.status_code == 200, response.text
    assert response.json()["data"] == {
        "added_count": 150,
        "failed_count": 2,
        "added": 150,
        "duplicates_skipped": 5,
        "invalid_skipped": 2,
        "total_contacts": 655,
    }


@pytest.mark.parametrize(
    ("body", "detail"),
    [
        ({}, [{"loc": ["body", "contacts"], "msg": "field required", "type": "value_error.missing"}]),
        (
            {"contacts": [{"first_name": "Jane"}]},
            [{"loc": ["body", "contacts", 0, "phone_number"], "msg": "field required", "type": "value_error.missing"}],
        ),
        ({"contacts": []}, [{"loc": ["body", "contacts"], "type": "too_short"}]),
        (
            {"contacts": [{"phone_number": "555-123-4567"}]},
            [{"loc": ["body", "contacts", 0, "phone_number"], "type": "string_pattern_mismatch"}],
        ),
    ],
)
def test_a_body_that_fails_their_schema_is_fastapis_422(
    local_stack: LocalStackHandle, own_account: OwnAccount, body, detail
) -> None:
    response = add(local_stack, own_account, new_batch_call(), body)
    assert response.status_code == 422, response.text
    answered = response.json()["detail"]
    assert [
        {key: problem[key] for key in expected} for problem, expected in zip(answered, detail, strict=True)
    ] == detail
    assert all(problem["msg"] for problem in answered)


def test_a_batch_call_id_that_names_no_list_is_not_found(
    local_stack: LocalStackHandle, own_account: OwnAccount
) -> None:
    response = add(local_stack, own_account, "no such batch", {"contacts": [{"phone_number": "+15551234567"}]})
    assert response.status_code == 404, response.text
    assert response.json()["error"]["code"] == "not_found"
