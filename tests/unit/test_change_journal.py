"""The change journal a reduce writes (pipeline.journal): a dry run's plan of every row, an
import's before-images of what it updates, written before the contacts and the same when repeated."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from contacts_import.models import ImportOptions
from contacts_import.pipeline.journal import JournalEntry
from contacts_import.pipeline.normalize import ContactDraft
from contacts_import.pipeline.outcomes import RunContext
from contacts_import.pipeline.reduce import reduce_range
from tests.unit.helpers import NOW, MemoryList


class MemoryJournal:
    def __init__(self, contacts: MemoryList | None = None) -> None:
        self.entries: dict[int, dict[str, Any]] = {}
        self._contacts = contacts
        self.written_before: list[bool] = []

    def record(self, entries: Sequence[JournalEntry]) -> None:
        for entry in entries:
            self.entries[entry.row] = entry.to_json()
            if self._contacts is not None and entry.before is not None:
                # Recorded before the write: the contact is still as it was.
                self.written_before.append(self._contacts.items[entry.phone] == entry.before)


def drafts(*rows: tuple[int, str, str | None]) -> list[ContactDraft]:
    return sorted(
        (ContactDraft(row=row, phone=phone, name=name) for row, phone, name in rows), key=lambda d: (d.phone, d.row)
    )


def seeded() -> MemoryList:
    contacts = MemoryList()
    for phone, name in (("+12127365000", "Jane"), ("+16502530000", "John")):
        contacts.items[phone] = {"phone": phone, "name": name, "created_job_id": "a", "import_job_id": "a"}
    return contacts


RUN = drafts(
    (2, "+12127365000", "Jane B"), (3, "+16502530000", "John"), (4, "+14155552671", "Li"), (5, "+12127365000", "X")
)


def reduced(contacts: MemoryList, journal: MemoryJournal, job_id: str = "b", **options: Any):
    parsed = ImportOptions.model_validate({"on_existing": "update", **options})
    return reduce_range([RUN], contacts, parsed, RunContext(job_id, "default", NOW), journal=journal)


def test_a_dry_run_journals_every_row_as_its_plan_and_writes_no_contact() -> None:
    contacts, journal = seeded(), MemoryJournal()
    before = {phone: dict(item) for phone, item in contacts.items.items()}
    tally, _ = reduced(contacts, journal, dry_run=True)
    assert contacts.items == before
    assert journal.entries == {
        2: {
            "row": 2,
            "phone": "+12127365000",
            "outcome": "updated",
            "changes": {"name": {"from": "Jane", "to": "Jane B"}},
        },
        3: {"row": 3, "phone": "+16502530000", "outcome": "unchanged"},
        4: {"row": 4, "phone": "+14155552671", "outcome": "created"},
        5: {"row": 5, "phone": "+12127365000", "outcome": "skipped_duplicates"},
    }
    assert (tally.updated, tally.unchanged, tally.created, tally.skipped_duplicates) == (1, 1, 1, 1)


def test_an_import_journals_only_its_updates_with_their_before_image_before_writing() -> None:
    contacts = seeded()
    journal = MemoryJournal(contacts)
    reduced(contacts, journal)
    assert list(journal.entries) == [2]
    entry = journal.entries[2]
    assert entry["before"] == {"phone": "+12127365000", "name": "Jane", "created_job_id": "a", "import_job_id": "a"}
    assert entry["changes"] == {"name": {"from": "Jane", "to": "Jane B"}}
    assert journal.written_before == [True]
    assert contacts.items["+12127365000"]["name"] == "Jane B"


def test_a_repeated_task_keeps_the_entries_its_first_run_wrote() -> None:
    contacts = seeded()
    journal = MemoryJournal()
    reduced(contacts, journal)
    first = dict(journal.entries)
    again = MemoryJournal()
    reduced(contacts, again)  # finds its own job's writes: nothing new to journal
    assert again.entries == {} and journal.entries == first
    reduced(contacts, journal)
    assert journal.entries == first


def test_a_dry_run_repeated_writes_the_same_plan() -> None:
    contacts = seeded()
    one, two = MemoryJournal(), MemoryJournal()
    reduced(contacts, one, dry_run=True)
    reduced(contacts, two, dry_run=True)
    assert one.entries == two.entries
