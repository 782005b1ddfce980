"""Preview on the local stack, as a user would: import a file, preview a second one (updates, blank
cells, new rows) as a dry run, read its plan, and find the list as the first import left it."""

from __future__ import annotations

from typing import Any

import pytest

from tests.e2e.jobs import contact, new_list, wait_for_end
from tests.e2e.stack import LocalStackHandle

pytestmark = pytest.mark.e2e

FIRST = (
    b"phone,name,email,company\n"
    b"(212) 736-5000,Jane Doe,jane@acme.com,Acme\n"
    b"+1 650 253 0000,John Smith,john@widget.co,Widget\n"
)
SECOND = (
    b"phone,name,email,company\n"
    b"(212) 736-5000,Jane Roe,jane@acme.com,\n"  # a changed name, a blank company
    b"+1 650 253 0000,John Smith,john@widget.co,Widget\n"  # as stored
    b"415.555.2671,Ann Lee,,\n"  # new
    b"12345,Bad Number,,\n"
)


def imported(stack: LocalStackHandle, data: bytes, **params: str) -> dict[str, Any]:
    response = stack.session().post(
        stack.url("/imports"), params=params, data=data, headers={"Content-Type": "text/csv"}, timeout=60
    )
    assert response.status_code == 202, response.text
    return wait_for_end(stack, response.json()["data"]["job_id"])


def test_a_preview_plans_each_row_and_writes_nothing(local_stack: LocalStackHandle) -> None:
    list_id = new_list("preview")
    first = imported(local_stack, FIRST, list_id=list_id)
    before = contact(local_stack, list_id, "+12127365000")
    dry = imported(local_stack, SECOND, list_id=list_id, on_existing="update", on_blank="clear", dry_run="true")
    counts = dry["counts"]
    assert (counts["updated"], counts["unchanged"], counts["created"], counts["invalid"]) == (1, 1, 1, 1)

    session = local_stack.session()
    answer = session.get(local_stack.url(f"/imports/{dry['job_id']}/plan"), params={"limit": 2}, timeout=30)
    assert answer.status_code == 200, answer.text
    rows = answer.json()["data"]
    cursor = answer.json()["pagination"]["next_cursor"]
    while cursor:
        page = session.get(local_stack.url(f"/imports/{dry['job_id']}/plan"), params={"cursor": cursor}, timeout=30)
        rows += page.json()["data"]
        cursor = page.json()["pagination"]["next_cursor"]
    assert [(row["row"], row["outcome"]) for row in rows] == [
        (2, "updated"),
        (3, "unchanged"),
        (4, "created"),
        (5, "invalid"),
    ]
    assert rows[0]["changes"] == {
        "name": {"from": "Jane Doe", "to": "Jane Roe"},
        "company": {"from": "Acme", "to": None},
    }
    assert rows[3]["code"] == "invalid_phone"
    assert contact(local_stack, list_id, "+12127365000") == before  # a dry run writes nothing

    refused = session.get(local_stack.url(f"/imports/{first['job_id']}/plan"), timeout=30)
    assert (refused.status_code, refused.json()["error"]["code"]) == (409, "not_a_dry_run")
