"""A list over many partition keys, through the local stack: an import spreads its contacts over
the list's shards (seen in the contacts table's keys through the AWS endpoint), every contact is
read by phone and by paging through the API, and the job says what it consumed."""

from __future__ import annotations

import pytest

from tests.e2e.jobs import contact, new_list, wait_for_end
from tests.e2e.stack import LocalStackHandle

pytestmark = pytest.mark.e2e

ROWS = 2000


def test_an_import_is_spread_over_its_lists_shards_and_read_back_whole(local_stack: LocalStackHandle) -> None:
    list_id = new_list("shards")
    data = b"phone,name\n" + b"".join(f"+1{2125550000 + n},Person {n}\n".encode() for n in range(ROWS))
    answer = local_stack.session().post(
        local_stack.url("/imports"),
        params={"list_id": list_id, "phone_validation": "possible"},
        data=data,
        headers={"Content-Type": "text/csv"},
        timeout=60,
    )
    assert answer.status_code == 202, answer.text
    job = wait_for_end(local_stack, answer.json()["data"]["job_id"])
    assert (job["status"], job["counts"]["created"]) == ("completed", ROWS)
    assert job["consumed"]["write_units"] >= ROWS and job["consumed"]["s3_requests"] > 0

    table = local_stack.template.tables["ContactsTable"].name
    dynamodb = local_stack.client("dynamodb")
    keys: dict[str, int] = {}
    scan: dict = {"TableName": table, "ProjectionExpression": "list_key"}
    while True:
        page = dynamodb.scan(**scan)
        for item in page["Items"]:
            if item["list_key"]["S"].startswith(f"local#{list_id}#"):
                keys[item["list_key"]["S"]] = keys.get(item["list_key"]["S"], 0) + 1
        if "LastEvaluatedKey" not in page:
            break
        scan["ExclusiveStartKey"] = page["LastEvaluatedKey"]
    assert sorted(keys) == [f"local#{list_id}#{shard:03d}" for shard in range(64)], "every shard holds some"
    assert sum(keys.values()) == ROWS and max(keys.values()) < 3 * ROWS / 64

    for n in (0, 777, ROWS - 1):
        assert contact(local_stack, list_id, f"+1{2125550000 + n}")["name"] == f"Person {n}"
    session, phones, cursor = local_stack.session(), [], None
    while True:
        page = session.get(
            local_stack.url(f"/lists/{list_id}/contacts"),
            params={"limit": 450, **({"cursor": cursor} if cursor else {})},
            timeout=60,
        ).json()
        phones += [c["phone"] for c in page["data"]]
        cursor = page["pagination"]["next_cursor"]
        if not cursor:
            break
    assert len(phones) == ROWS == len(set(phones))
    assert session.get(local_stack.url(f"/lists/{list_id}"), timeout=60).json()["data"]["total_contacts"] == ROWS
