"""Contacts written on conditions go in transactions DynamoDB takes: at most 100 items and 4 MB."""

from __future__ import annotations

import json

from contacts_import.pipeline.normalize import MAX_CONTACT_BYTES
from contacts_import.pipeline.outcomes import GuardedWrite
from contacts_import.store.contacts import TRANSACT_WRITE_BYTES, TRANSACT_WRITE_LIMIT, transaction_batches


def contact(n: int, note_bytes: int = 10) -> GuardedWrite:
    return GuardedWrite({"phone": f"+1650555{n:04d}", "custom_fields": {"note": "x" * note_bytes}}, None)


def test_small_contacts_go_a_hundred_at_a_time_in_order():
    writes = [contact(n) for n in range(250)]
    batches = list(transaction_batches(writes))
    assert [len(batch) for batch in batches] == [100, 100, 50]
    assert [write for batch in batches for write in batch] == writes


def test_large_contacts_are_cut_by_size_as_well():
    writes = [contact(n, note_bytes=MAX_CONTACT_BYTES - 1024) for n in range(30)]
    batches = list(transaction_batches(writes))
    assert len(batches) > 1 and sum(len(batch) for batch in batches) == 30
    for batch in batches:
        assert len(batch) <= TRANSACT_WRITE_LIMIT
        assert sum(len(json.dumps(write.item).encode()) for write in batch) <= TRANSACT_WRITE_BYTES <= 4_000_000
