"""The chunk worker's hold on a task while it runs: the heartbeat that keeps its message invisible
and renews its leases, the backoff of a failed task, and the check before every write that the
task's shard leases are sure to last."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from contacts_import.service import process_chunk
from contacts_import.service.process_chunk import LEASE_MARGIN_SECONDS, ShardHold, WritesUnderHold, retry_delay
from contacts_import.settings import ProcessChunkSettings
from contacts_import.store.leases import LeaseLost
from contacts_import.store.task_queue import Delivery, Heartbeat

DELIVERY = Delivery("https://sqs.example/queue", "receipt-1", 1)


class RecordingSqs:
    def __init__(self) -> None:
        self.visibilities: list[int] = []
        self.beaten = threading.Event()

    def change_message_visibility(self, **request: Any) -> None:
        assert (request["QueueUrl"], request["ReceiptHandle"]) == (DELIVERY.queue_url, DELIVERY.receipt_handle)
        self.visibilities.append(request["VisibilityTimeout"])
        if len(self.visibilities) >= 3:
            self.beaten.set()


def settings(**overrides: Any) -> ProcessChunkSettings:
    names = ("bucket_name", "contacts_table", "jobs_table", "row_errors_table", "lists_table", "tasks_table")
    required = {name: "x" for name in (*names, "chunk_queue_url", "accounts_table", "webhook_signing_key_id")}
    return ProcessChunkSettings(**required, **overrides)


def test_a_heartbeat_keeps_the_message_invisible_and_renews_until_it_is_stopped():
    sqs, renewals = RecordingSqs(), []
    heartbeat = Heartbeat(sqs, DELIVERY, visibility_seconds=60, every_seconds=0.01)
    with heartbeat:
        heartbeat.renew_also(lambda: renewals.append(1))
        assert sqs.beaten.wait(10), "it beats on its own"
    beats = len(sqs.visibilities)
    assert set(sqs.visibilities) == {60} and renewals
    threading.Event().wait(0.05)
    assert len(sqs.visibilities) == beats, "no beat after it stopped"


def test_a_failed_task_comes_back_after_its_backoff_not_the_visibility():
    sqs = RecordingSqs()
    heartbeat = Heartbeat(sqs, DELIVERY, visibility_seconds=60, every_seconds=60).start()
    heartbeat.retry_in(7)
    assert sqs.visibilities == [60, 7]


def test_a_beat_that_fails_is_reported_and_the_beating_goes_on():
    failures: list[str] = []

    class StaleReceipt(RecordingSqs):
        def change_message_visibility(self, **request: Any) -> None:
            super().change_message_visibility(**request)
            raise RuntimeError("ReceiptHandleIsInvalid")

    sqs = StaleReceipt()
    with Heartbeat(
        sqs, DELIVERY, visibility_seconds=60, every_seconds=0.01, on_failure=lambda what, e: failures.append(what)
    ):
        assert sqs.beaten.wait(10)
    assert failures[:3] == ["visibility"] * 3


@pytest.mark.parametrize("receives", range(1, 12))
def test_the_backoff_doubles_with_the_receives_is_capped_and_jittered(receives):
    chunk = settings(task_retry_base_seconds=2, task_retry_cap_seconds=60)
    ceiling = min(60, 2 * 2 ** (receives - 1))
    delays = {retry_delay(receives, chunk) for _ in range(200)}
    assert all(max(1, ceiling // 2) <= delay <= ceiling for delay in delays), delays
    if ceiling >= 8:
        assert len(delays) > 1, "jittered"


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_writes_stop_once_the_lease_may_have_run_out(monkeypatch):
    clock = FakeClock()
    monkeypatch.setattr(process_chunk.time, "monotonic", clock)
    written: list[list[dict]] = []

    class Contacts:
        def write(self, items: list[dict]) -> None:
            written.append(items)

    hold = ShardHold(lambda now: None, hold_seconds=120)
    contacts = WritesUnderHold(Contacts(), hold)  # type: ignore[arg-type]
    clock.now += 120 - LEASE_MARGIN_SECONDS - 1
    contacts.write([{"phone": "+1"}])
    clock.now += 2  # held up past the margin: the lease may run out while the write is on its way
    with pytest.raises(LeaseLost):
        contacts.write([{"phone": "+2"}])
    hold.renew()  # a renewal that succeeds makes it sure again
    contacts.write([{"phone": "+3"}])
    assert [batch[0]["phone"] for batch in written] == ["+1", "+3"]


def test_writes_stop_once_a_renewal_found_the_lease_taken():
    def taken(now: float) -> None:
        raise LeaseLost("another import holds a shard")

    hold = ShardHold(taken, hold_seconds=120)
    with pytest.raises(LeaseLost):
        hold.renew()
    with pytest.raises(LeaseLost):
        hold.check()
