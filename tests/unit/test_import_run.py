"""A whole import by the engine: outcomes and counts (docs/api.md), replays, first occurrence wins,
progress."""

from __future__ import annotations

import csv
import io

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from contacts_import.pipeline.normalize import ContactDraft
from contacts_import.pipeline.outcomes import Outcome, decide
from contacts_import.pipeline.stores import ExistingContact
from tests.unit.helpers import MemoryList, run

OUTCOMES = ("created", "updated", "unchanged", "skipped_existing", "skipped_duplicates", "invalid")
VALID = ["+12127365000", "+16502530000", "+14155552671", "+16172531000", "(212) 555-0100x", "+442079460958"]


def settled(counts) -> bool:
    return sum(getattr(counts, name) for name in OUTCOMES) == counts.total_rows == counts.processed_rows


def test_a_fresh_list_then_skip_then_update():
    data = b"phone,name\n+12127365000,Jane\n+16502530000,John\n"
    first, contacts, _, _ = run(data, job_id="a")
    assert (first.counts.created, first.counts.total_rows) == (2, 2)
    second, _, _, _ = run(b"phone,name\n(212) 736-5000,Jane B\n", contacts=contacts, job_id="b")
    assert second.counts.skipped_existing == 1 and contacts.items["+12127365000"]["name"] == "Jane"
    third, _, _, _ = run(b"phone,name\n(212) 736-5000,Jane C\n", contacts=contacts, job_id="c", on_existing="update")
    assert third.counts.updated == 1
    stored = contacts.items["+12127365000"]
    assert (stored["name"], stored["created_job_id"], stored["import_job_id"]) == ("Jane C", "a", "c")


def test_first_occurrence_wins_and_an_invalid_row_claims_no_phone():
    data = b"phone,name,email\n+12127365000,First,bad\n+12127365000,Second,\n(212) 736-5000,Third,\n"
    result, contacts, errors, _ = run(data)
    assert (result.counts.invalid, result.counts.created, result.counts.skipped_duplicates) == (1, 1, 1)
    assert contacts.items["+12127365000"]["name"] == "Second"
    assert errors.codes() == [(2, "invalid_email")]


def test_blank_records_are_no_rows():
    result, _, _, _ = run(b"phone,name\n+12127365000,Jane\n,\n;;\n\n , \n")
    assert result.counts.total_rows == 2  # ";;" is a value, not a blank record
    assert result.counts.invalid == 1


def test_dry_run_writes_nothing_but_counts_the_same():
    data = b"phone\n+12127365000\n+16502530000\n+12127365000\n"
    dry, contacts, _, _ = run(data, dry_run="true")
    assert contacts.items == {}
    wet, _, _, _ = run(data)
    assert dry.counts == wet.counts


def test_a_repeated_run_of_the_same_job_counts_the_same():
    data = b"phone,name\n+12127365000,Jane\n+16502530000,John\n+12127365000,Dup\nnope,Bad\n"
    contacts = MemoryList()
    contacts.write([{"phone": "+16502530000", "created_job_id": "older", "import_job_id": "older"}])
    first, _, _, _ = run(data, contacts=contacts, job_id="j", on_existing="update")
    again, _, _, _ = run(data, contacts=contacts, job_id="j", on_existing="update")
    assert first.counts == again.counts
    assert (first.counts.created, first.counts.updated) == (1, 1)


def test_progress_is_reported_after_every_task_and_only_grows():
    data = b"phone\n" + b"".join(f"+1212736{n:04d}\n".encode() for n in range(50))
    result, _, _, progress = run(data, chunk_bytes=100, rows_per_range=10, phone_validation="possible")
    assert (result.chunks, result.ranges) == (7, 5)
    assert len(progress.reports) == result.chunks + result.ranges
    done = [share for _, share in progress.reports]
    assert done == sorted(done) and done[result.chunks - 1] == 0.5 and done[-1] == 1.0
    totals = [counts.total_rows for counts, _ in progress.reports]
    assert totals == sorted(totals) and totals[result.chunks - 1] == 50, "the rows are counted by the maps"
    assert progress.reports[-1][0] == result.counts and settled(result.counts)
    assert result.counts.created == 50


def test_decide_rules():
    draft = ContactDraft(row=2, phone="+12127365000", name="New")
    stored = {"phone": "+12127365000", "name": "Old", "tags": ["x"], "created_at": "t0"}
    by = lambda created, imported: ExistingContact("+12127365000", created, imported, stored)  # noqa: E731
    common = {"job_id": "j", "list_id": "l", "now": "t1"}
    assert decide(draft, None, on_existing="skip", **common).outcome is Outcome.CREATED
    assert decide(draft, by("j", "j"), on_existing="skip", **common).write is None
    assert decide(draft, by("other", "other"), on_existing="skip", **common).outcome is Outcome.SKIPPED_EXISTING
    updated = decide(draft, by("other", "other"), on_existing="update", **common)
    assert updated.outcome is Outcome.UPDATED and updated.write["name"] == "New"
    assert updated.write["created_at"] == "t0" and updated.write["tags"] == ["x"]
    replay = decide(draft, by("other", "j"), on_existing="update", **common)
    assert (replay.outcome, replay.write) == (Outcome.UPDATED, None)


row_values = st.one_of(
    st.sampled_from(VALID),
    st.sampled_from(["", "12345", "not a phone", "+1invalid"]),
    st.text(alphabet="0123456789 +-()", max_size=14),
)
rows = st.lists(
    st.tuples(
        row_values,
        st.sampled_from(["", "Jane", 'O"Neil', "multi\nline", "Zoë"]),
        st.sampled_from(["", "a@b.co", "bad@"]),
    ),
    max_size=60,
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    rows=rows,
    existing=st.lists(st.sampled_from(VALID), max_size=3),
    on_existing=st.sampled_from(["skip", "update"]),
)
def test_every_row_ends_in_exactly_one_outcome(rows, existing, on_existing):
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(["phone", "name", "email"])
    writer.writerows(rows)
    data = buffer.getvalue().encode()
    contacts = MemoryList()
    seeded = (
        run(("phone\n" + "\n".join(existing) + "\n").encode(), contacts=contacts, job_id="seed")[0]
        if existing
        else None
    )
    result, contacts, errors, _ = run(data, contacts=contacts, job_id="j", on_existing=on_existing)
    counts = result.counts
    assert settled(counts)
    non_blank = sum(1 for r in rows if any(v.strip() for v in r))
    assert counts.total_rows == non_blank
    assert counts.invalid == len(errors.errors)
    assert len({e.row for e, _ in errors.errors}) == len(errors.errors)
    # and a second delivery of the same job changes nothing
    again = run(data, contacts=contacts, job_id="j", on_existing=on_existing)[0]
    assert again.counts == counts
    assert seeded is None or settled(seeded.counts)


def test_an_ended_job_read_before_its_total_is_written_answers_the_lists_size():
    from contacts_import.service.reports import settled_total

    assert settled_total({"ended": True, "total_contacts": None}, lambda: 7)["total_contacts"] == 7
    assert settled_total({"ended": True, "total_contacts": 3}, lambda: 7)["total_contacts"] == 3
    assert settled_total({"status": "processing"}, lambda: 7).get("total_contacts") is None
