"""What counting an account's jobs in flight costs: one bounded Query, whatever the account's past."""

from __future__ import annotations

from typing import Any

from contacts_import.ids import first_job_id_at, new_job_id
from contacts_import.store.jobs import IN_FLIGHT_SCAN_LIMIT, JobStore


class RecordingTable:
    def __init__(self, items: list[dict[str, Any]]) -> None:
        self.items = items
        self.queries: list[dict[str, Any]] = []

    def query(self, **request: Any) -> dict[str, Any]:
        self.queries.append(request)
        return {"Items": self.items, "LastEvaluatedKey": {"more": "pages"}}


class FakeResource:
    def __init__(self, table: RecordingTable) -> None:
        self.table = table
        self.meta = type("Meta", (), {"client": None})()

    def Table(self, name: str) -> RecordingTable:
        return self.table


def test_one_query_of_the_newest_jobs_in_the_window_and_no_second_page():
    now_ms = 1_800_000_000_000
    items = [
        {"job_id": new_job_id(now_ms - 1000), "status": "queued"},
        {"job_id": new_job_id(now_ms - 2000), "status": "processing"},
        {"job_id": new_job_id(now_ms - 3000), "status": "completed"},
        {"job_id": new_job_id(now_ms - 4000), "status": "awaiting_upload"},  # URL still valid
        {"job_id": new_job_id(now_ms - 20 * 60_000), "status": "awaiting_upload"},  # expired
    ]
    table = RecordingTable(items)
    count = JobStore(FakeResource(table), "jobs", "lists").count_in_flight(
        "acme", running_since_ms=now_ms - 3_600_000, awaiting_since_ms=now_ms - 900_000
    )
    assert count == 3
    (query,) = table.queries  # a further page is never read
    assert query["Limit"] == IN_FLIGHT_SCAN_LIMIT and query["ScanIndexForward"] is False
    condition = query["KeyConditionExpression"].get_expression()
    sort_key_condition = condition["values"][1].get_expression()
    assert sort_key_condition["operator"] == ">="
    assert sort_key_condition["values"][1] == first_job_id_at(now_ms - 3_600_000)


def test_first_job_id_at_orders_before_every_id_of_that_moment_and_after_older_ones():
    at = 1_800_000_000_000
    assert new_job_id(at - 1) < first_job_id_at(at) <= new_job_id(at) < first_job_id_at(at + 1)
