"""A reduce on a list that another job reduces into: when it writes blind, when on conditions,
and how what another job changed between its read and its write is decided again."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest

from contacts_import.models import ImportOptions
from contacts_import.pipeline.fanout import GUARDED_WRITE_ROUNDS, reduce_range
from contacts_import.pipeline.normalize import ContactDraft
from contacts_import.pipeline.outcomes import (
    ContactsKeptChanging,
    ExistingContact,
    GuardedWrite,
    Reducers,
    RunContext,
    may_write_blind,
)
from tests.unit.helpers import MemoryList

ME = "job-me"
ALONE = Reducers(frozenset({ME}), 1)


@pytest.mark.parametrize(
    ("before_read", "before_write", "blind"),
    [
        (ALONE, ALONE, True),
        (Reducers(), Reducers(), True),  # a dry run announces nothing
        (Reducers(frozenset({ME, "other"}), 2), ALONE, False),  # it was there when we read
        (ALONE, Reducers(frozenset({ME, "other"}), 2), False),  # it is there now
        (ALONE, Reducers(frozenset({ME}), 2), False),  # it came and went in between
    ],
)
def test_a_batch_is_written_blind_only_if_no_other_job_reduced_from_its_read_to_its_write(
    before_read, before_write, blind
):
    assert may_write_blind(before_read, before_write, ME) is blind


def drafts(*numbers: int) -> list[ContactDraft]:
    return [ContactDraft(row=n + 2, phone=f"+1212736{n:04d}", name=f"Mine {n}") for n in numbers]


class RacedList(MemoryList):
    """A list on which another job writes ``theirs`` right after our first read: what we read as
    missing is then theirs when we write."""

    def __init__(self, theirs: Sequence[str], other: str = "job-other") -> None:
        super().__init__()
        self.theirs, self.other = list(theirs), other
        self.announce(ME)
        self.announce(other)

    def find_existing(self, phones: Sequence[str]) -> dict[str, ExistingContact]:
        found = super().find_existing(phones)
        if self.theirs:
            self.write([{"phone": p, "created_job_id": self.other, "import_job_id": self.other} for p in self.theirs])
            self.theirs = []
        return found


def reduce(contacts: MemoryList, options: ImportOptions, *numbers: int):
    context = RunContext(job_id=ME, list_id="list", now="2026-01-01T00:00:00Z")
    tally, _ = reduce_range([drafts(*numbers)], contacts, options, context)
    return tally


@pytest.mark.parametrize(("on_existing", "kept"), [("skip", "skipped_existing"), ("update", "updated")])
def test_contacts_another_job_created_between_our_read_and_write_are_decided_again(on_existing, kept):
    raced = RacedList(["+12127360001", "+12127360003"])
    tally = reduce(raced, ImportOptions(on_existing=on_existing), 0, 1, 2, 3)
    assert (tally.created, getattr(tally, kept)) == (2, 2)
    # One round; with updates, one more for the two decided again (skipped, they write nothing).
    assert raced.guarded_writes == (2 if on_existing == "update" else 1)
    creators = {phone: item["created_job_id"] for phone, item in raced.items.items()}
    assert creators == {
        "+12127360000": ME,
        "+12127360001": "job-other",
        "+12127360002": ME,
        "+12127360003": "job-other",
    }
    if on_existing == "update":
        assert raced.items["+12127360001"]["import_job_id"] == ME
        assert raced.items["+12127360001"]["name"] == "Mine 1"


def test_a_job_alone_on_its_list_writes_blind():
    alone = MemoryList()
    alone.announce(ME)
    assert reduce(alone, ImportOptions(), 0, 1, 2).created == 3
    assert alone.guarded_writes == 0


class EverChanging(MemoryList):
    def __init__(self) -> None:
        super().__init__()
        self.announce(ME)
        self.announce("job-other")

    def write_unless_changed(self, writes: Sequence[GuardedWrite]) -> set[str]:
        self.guarded_writes += 1
        return {w.item["phone"] for w in writes}  # another job changed every one of them, every time

    def find_existing(self, phones: Sequence[str]) -> dict[str, Any]:
        return {}


def test_contacts_that_keep_changing_have_the_task_retried():
    ever = EverChanging()
    with pytest.raises(ContactsKeptChanging):
        reduce(ever, ImportOptions(), 0, 1)
    assert ever.guarded_writes == GUARDED_WRITE_ROUNDS
