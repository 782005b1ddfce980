"""``unchanged`` rows, blank cells (``on_blank``) and tags on update (docs/api.md, Updating)."""

from __future__ import annotations

from contacts_import.pipeline.contact_items import changed_fields
from contacts_import.pipeline.normalize import ContactDraft
from contacts_import.pipeline.outcomes import Outcome, decide
from contacts_import.pipeline.stores import ExistingContact
from tests.unit.helpers import MemoryList, run

PHONE = "+12127365000"
FIRST = b"phone,name,email,company,tags,Plan\n+12127365000,Jane,jane@example.com,Acme,vip,gold\n+16502530000,John,,,,\n"


def stored(**values: object) -> ExistingContact:
    item = {"phone": PHONE, "created_job_id": "a", "import_job_id": "a", "updated_at": "then", **values}
    return ExistingContact(PHONE, "a", "a", item)


def decided(draft: ContactDraft, existing: ExistingContact, **kwargs: object):
    return decide(draft, existing, job_id="b", on_existing="update", list_id="l", now="now", **kwargs)  # type: ignore[arg-type]


def test_a_row_that_changes_nothing_is_unchanged_and_writes_nothing() -> None:
    existing = stored(name="Jane", tags={"vip"}, custom_fields={"plan": "gold"})
    decision = decided(ContactDraft(row=2, phone=PHONE, name="Jane", tags=("vip",)), existing)
    assert (decision.outcome, decision.write, decision.changes) == (Outcome.UNCHANGED, None, None)


def test_an_update_names_each_changed_field_with_its_stored_and_new_value() -> None:
    existing = stored(name="Jane", email="j@example.com", tags={"vip"})
    draft = ContactDraft(row=2, phone=PHONE, name="Jane Doe", tags=("new",), custom_fields={"plan": "gold"})
    decision = decided(draft, existing)
    assert decision.outcome is Outcome.UPDATED
    assert decision.changes == {
        "name": {"from": "Jane", "to": "Jane Doe"},
        "tags": {"from": ["vip"], "to": ["new", "vip"]},
        "custom:plan": {"from": None, "to": "gold"},
    }
    assert decision.write is not None and decision.write["email"] == "j@example.com"  # a blank cell keeps
    assert decision.before == existing.item


def test_a_dry_run_knows_the_changes_but_builds_no_item() -> None:
    decision = decided(ContactDraft(row=2, phone=PHONE, name="B"), stored(name="A"), build_items=False)
    assert (decision.outcome, decision.write) == (Outcome.UPDATED, None)
    assert decision.changes == {"name": {"from": "A", "to": "B"}}


def test_clear_empties_only_the_fields_the_file_has_columns_for() -> None:
    existing = stored(name="Jane", email="j@example.com", company="Acme", custom_fields={"plan": "gold", "x": "1"})
    draft = ContactDraft(row=2, phone=PHONE, name="Jane")
    decision = decided(draft, existing, clear=frozenset({"name", "email", "custom:plan"}))
    assert decision.changes == {
        "email": {"from": "j@example.com", "to": None},
        "custom:plan": {"from": "gold", "to": None},
    }
    assert decision.write is not None
    assert "email" not in decision.write and decision.write["company"] == "Acme"
    assert decision.write["custom_fields"] == {"x": "1"}


def test_tags_are_compared_as_a_set_whatever_the_store_gives_back() -> None:
    assert changed_fields({"tags": {"b", "a"}}, {"tags": ["a", "b"]}) == {}
    assert changed_fields({"tags": [], "custom_fields": {}}, {}) == {}


def test_an_import_with_unchanged_rows_counts_them_and_leaves_the_contacts_as_they_were() -> None:
    _, contacts, _, _ = run(FIRST, job_id="a")
    before = {phone: dict(item) for phone, item in contacts.items.items()}
    again, _, _, _ = run(FIRST, contacts=contacts, job_id="b", on_existing="update")
    counts = again.counts
    assert (counts.unchanged, counts.updated, counts.created) == (2, 0, 0)
    assert counts.processed_rows == counts.total_rows == 2
    assert contacts.items == before  # updated_at and import_job_id too


def test_on_blank_keep_and_clear_over_a_whole_import() -> None:
    blanks = b"phone,name,email,company,tags,Plan\n+12127365000,Jane,,,,\n"
    _, kept, _, _ = run(FIRST, job_id="a")
    result, _, _, _ = run(blanks, contacts=kept, job_id="b", on_existing="update")
    assert result.counts.unchanged == 1 and kept.items[PHONE]["email"] == "jane@example.com"

    _, cleared, _, _ = run(FIRST, job_id="a")
    result, _, _, _ = run(blanks, contacts=cleared, job_id="b", on_existing="update", on_blank="clear")
    assert result.counts.updated == 1
    item = cleared.items[PHONE]
    assert (item.get("email"), item.get("company"), item["name"]) == (None, None, "Jane")
    assert item["tags"] == ["vip"]  # tags are only ever added to
    assert item["custom_fields"] == {}
    assert item["import_job_id"] == "b"


def test_clear_without_update_changes_nothing() -> None:
    _, contacts, _, _ = run(FIRST, job_id="a")
    result, _, _, _ = run(b"phone,email\n+12127365000,\n", contacts=contacts, job_id="b", on_blank="clear")
    assert result.counts.skipped_existing == 1 and contacts.items[PHONE]["email"] == "jane@example.com"


def test_a_repeated_update_counts_updated_again_not_unchanged() -> None:
    """A task run again after it wrote finds its own job's update: still ``updated``."""
    contacts = MemoryList()
    run(FIRST, contacts=contacts, job_id="a")
    changed = b"phone,name\n+12127365000,Jane B\n"
    first, _, _, _ = run(changed, contacts=contacts, job_id="b", on_existing="update")
    repeat, _, _, _ = run(changed, contacts=contacts, job_id="b", on_existing="update")
    assert first.counts.updated == repeat.counts.updated == 1
