"""Updates on DynamoDB Local: ``unchanged`` rows write nothing, ``on_blank`` keeps or clears, and
every count adds up, whatever the deliveries (docs/api.md, Updating)."""

from __future__ import annotations

import random

import pytest

from tests.integration.pipeline import Pipeline, assert_like_a_clean_run, contacts_file
from tests.unit.helpers import MemoryList, run

FIRST = contacts_file(rows=200, seed=41)


@pytest.fixture
def pipeline(stack) -> Pipeline:
    return Pipeline(stack, chunk_bytes=1500, rows_per_range=30, list_shards=4)


def second_file() -> bytes:
    """FIRST again with every third row's name changed and every fifth row's email blank."""
    lines = FIRST.decode().split("\n")
    changed = [lines[0]]
    for number, line in enumerate(lines[1:], start=1):
        cells = line.split(",")
        if len(cells) == 4 and cells[0] and not cells[0].startswith('"'):
            if number % 3 == 0:
                cells[1] = cells[1] + " B"
            if number % 5 == 0:
                cells[2] = ""
        changed.append(",".join(cells))
    return "\n".join(changed).encode()


@pytest.mark.parametrize("on_blank", ["keep", "clear"])
def test_a_second_import_with_update_counts_unchanged_rows_and_writes_only_changes(pipeline, on_blank) -> None:
    first = pipeline.start(FIRST, list_id="again")
    pipeline.drain()
    before = pipeline.stored("again")
    second = pipeline.start(second_file(), list_id="again", on_existing="update", on_blank=on_blank)
    pipeline.drain(rng=random.Random(3), repeat=True)  # every task delivered twice, in any order

    counts = pipeline.job(second)["counts"]
    outcomes = ("created", "updated", "unchanged", "skipped_existing", "skipped_duplicates", "invalid")
    assert sum(counts[name] for name in outcomes) == counts["total_rows"] == counts["processed_rows"]
    assert counts["unchanged"] > 0 and counts["updated"] > 0 and counts["created"] == 0

    after = pipeline.stored("again")
    rewritten = {phone for phone, item in after.items() if item["import_job_id"] == second}
    assert len(rewritten) == counts["updated"]
    for phone, item in after.items():
        if phone not in rewritten:
            assert item == before[phone]  # unchanged: not written at all, updated_at included
        else:
            assert item["created_job_id"] == first and item["updated_at"] >= before[phone]["updated_at"]

    # The same as the engine decides in one process, contact for contact.
    contacts = MemoryList()
    run(FIRST, contacts=contacts, job_id="a")
    assert_like_a_clean_run(
        pipeline, second, "again", second_file(), existing=contacts, on_existing="update", on_blank=on_blank
    )
    cleared = [phone for phone, item in after.items() if "email" not in item and "email" in before[phone]]
    assert bool(cleared) == (on_blank == "clear")
