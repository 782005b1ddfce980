"""The engine's tasks run by hand: one worker or many, chunks and ranges in any order, tasks
repeated or stopped half-way, it ends with the contacts and counts of the oracle, one reader of the
whole file (``tests/unit/oracle.py``), row by row."""

from __future__ import annotations

import copy
import io
import itertools
import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from contacts_import.models import Counts, ImportOptions, RowError
from contacts_import.pipeline.chunks import plan_chunks, read_chunk
from contacts_import.pipeline.fanout import MappedChunk, map_chunk, missing_from_file, split_ranges
from contacts_import.pipeline.mapping import plan_file_columns
from contacts_import.pipeline.normalize import ContactDraft, RowNormalizer
from contacts_import.pipeline.outcomes import RunContext
from contacts_import.pipeline.reduce import reduce_range
from contacts_import.pipeline.runs import KeyRange, RunIndex, decode_run, encode_run
from contacts_import.pipeline.shards import LEGACY, contact_key, shard_of, shard_of_key, shard_spans
from contacts_import.pipeline.tally import Tally
from tests.unit.helpers import CollectedErrors, MemoryList
from tests.unit.oracle import oracle_import

NOW = "2026-11-21T00:00:00.000Z"


class KeyedErrors(CollectedErrors):
    """Row errors as the table keeps them: one per row, a repeat overwrites."""

    def by_row(self) -> dict[int, tuple[str, str, str | None, str | None, Any]]:
        kept: dict[int, Any] = {}
        for error, raw in self.errors:
            kept[error.row] = (error.code, error.message, error.column, error.value, raw)
        return kept


@dataclass
class FanOut:
    """A job's tasks over bytes, run by hand: maps, then ranges, then reduces."""

    data: bytes
    options: ImportOptions
    contacts: MemoryList
    job_id: str = "job-1"
    chunk_bytes: int = 64
    rows_per_range: int = 3
    shards: int = LEGACY
    errors: KeyedErrors = field(default_factory=KeyedErrors)

    def __post_init__(self) -> None:
        staging = io.BytesIO()
        self.plan = plan_chunks(
            io.BytesIO(self.data),
            has_header=self.options.has_header,
            encoding=self.options.encoding,
            delimiter=self.options.delimiter,
            chunk_bytes=self.chunk_bytes,
            stage=lambda: staging,
        )
        self.readable = staging.getvalue() if self.plan.staged else self.data
        self.normalizer = RowNormalizer(plan_file_columns(self.plan.first_record, self.options), self.options)
        self.context = RunContext(job_id=self.job_id, list_id=self.options.list_id, now=NOW)
        self.mapped: dict[int, MappedChunk] = {}
        self.reduced: dict[int, Tally] = {}

    def map(self, number: int) -> MappedChunk:
        chunk = self.plan.chunks[number]
        records = read_chunk(io.BytesIO(self.readable[chunk.start : chunk.end]), self.plan, chunk)
        mapped = map_chunk(records, self.normalizer, self.errors, shards=self.shards)
        self.mapped.setdefault(number, mapped)  # recorded once: a repeat finds it recorded
        return mapped

    def ranges(self) -> list[KeyRange]:
        assert len(self.mapped) == len(self.plan.chunks), "ranges are cut once every chunk is mapped"
        indexes = [self.mapped[n].index for n in sorted(self.mapped)]
        return split_ranges(indexes, rows_per_range=self.rows_per_range, shards=self.shards)

    def runs(self, keys: KeyRange) -> list[list[ContactDraft]]:
        parts = []
        for number in sorted(self.mapped):
            mapped = self.mapped[number]
            span = mapped.index.span(keys)
            if span:
                parts.append(list(decode_run(mapped.run[span[0] : span[1]], keys, self.shards)))
        return parts

    def reduce(self, number: int, keys: KeyRange, **kwargs: Any) -> Tally:
        tally, _ = reduce_range(
            self.runs(keys), self.contacts, self.options, self.context, shards=self.shards, **kwargs
        )
        self.reduced.setdefault(number, tally)
        return tally

    def counts(self) -> Counts:
        total = Tally()
        for tally in [*(m.tally for m in self.mapped.values()), *self.reduced.values()]:
            total.add(tally)
        return total.as_counts()

    def run_all(self, rng: random.Random | None = None) -> Counts:
        order = list(range(len(self.plan.chunks)))
        if rng:
            rng.shuffle(order)
        for number in order:
            self.map(number)
        ranges = list(enumerate(self.ranges()))
        if rng:
            rng.shuffle(ranges)
        for number, phones in ranges:
            self.reduce(number, phones)
        return self.counts()


class WorkerCrashed(Exception):
    pass


class CrashingList:
    """The list, through a worker that dies right after its first write reached the table."""

    def __init__(self, contacts: MemoryList) -> None:
        self._contacts = contacts

    def find_existing(self, phones: Sequence[str]) -> dict[str, Any]:
        return self._contacts.find_existing(phones)

    def write(self, items: Sequence[dict[str, Any]]) -> None:
        self._contacts.write(items)
        raise WorkerCrashed()


def single_reader(data: bytes, contacts: MemoryList, job_id: str = "job-1", **options: Any):
    parsed = ImportOptions.parse(options)
    answer = oracle_import(data, parsed, RunContext(job_id=job_id, list_id=parsed.list_id, now=NOW), contacts)
    return answer.counts, answer.errors_by_row()


def existing_list(phones: Sequence[str]) -> MemoryList:
    contacts = MemoryList()
    contacts.write(
        [
            {"phone": p, "name": f"Old {p}", "tags": ["old"], "created_job_id": "older", "import_job_id": "older"}
            for p in phones
        ]
    )
    return contacts


# ------------------------------------------------------------------------------ generated files

PHONES = ["+12127365000", "+16502530000", "+14155552671", "+16172531000", "+442079460958", "+4930901820"]
SPELLINGS = {
    "+12127365000": ["+12127365000", "(212) 736-5000", "212.736.5000"],
    "+16502530000": ["+1 650 253 0000", "6502530000"],
    "+14155552671": ["415-555-2671", "+14155552671"],
    "+16172531000": ["+16172531000"],
    "+442079460958": ["+44 20 7946 0958"],
    "+4930901820": ["+49 30 901820"],
}


@st.composite
def contact_files(draw: st.DrawFn) -> bytes:
    lines = ["phone,name,email,notes"]
    for number in range(draw(st.integers(min_value=0, max_value=40))):
        kind = draw(st.sampled_from(["valid"] * 6 + ["bad_phone", "bad_email", "blank", "quoted"]))
        phone = draw(st.sampled_from(PHONES))
        spelled = draw(st.sampled_from(SPELLINGS[phone]))
        if kind == "blank":
            lines.append(",,,")
        elif kind == "bad_phone":
            lines.append(f"12345,Bad {number},,")
        elif kind == "bad_email":
            lines.append(f"{spelled},Mail {number},not-an-email,")
        elif kind == "quoted":
            lines.append(f'"{spelled}","Quoted\n{number}",,"a ""note""\r\nacross lines"')
        else:
            lines.append(f"{spelled},Name {number},n{number}@example.com,")
    return ("\n".join(lines) + "\n").encode()


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    data=contact_files(),
    chunk_bytes=st.integers(min_value=1, max_value=300),
    rows_per_range=st.integers(min_value=1, max_value=12),
    existing=st.lists(st.sampled_from(PHONES), max_size=3, unique=True),
    on_existing=st.sampled_from(["skip", "update"]),
    seed=st.integers(min_value=0, max_value=2**16),
    shards=st.sampled_from([LEGACY, 1, 3, 64]),
)
def test_any_chunking_sharding_and_order_give_the_single_readers_contacts_and_counts(
    data, chunk_bytes, rows_per_range, existing, on_existing, seed, shards
):
    options = ImportOptions.parse({"on_existing": on_existing})
    expected_contacts = existing_list(existing)
    expected_counts, expected_errors = single_reader(data, expected_contacts, on_existing=on_existing)

    fan = FanOut(
        data,
        options,
        existing_list(existing),
        chunk_bytes=chunk_bytes,
        rows_per_range=rows_per_range,
        shards=shards,
    )
    assert fan.run_all(random.Random(seed)) == expected_counts
    assert fan.contacts.items == expected_contacts.items
    assert fan.errors.by_row() == expected_errors


SAMPLE = (
    b"phone,name,email,notes\n"
    b"+12127365000,A,a@example.com,\n"
    b'"(212) 736-5000","B\nB",,"x ""y""\r\nz"\n'
    b"12345,Bad,,\n"
    b"+1 650 253 0000,C,not-an-email,\n"
    b",,,\n"
    b"6502530000,D,d@example.com,\n"
    b"+44 20 7946 0958,E,,\n"
    b"415-555-2671,F,,\n"
    b"+14155552671,G,,\n"
)


def test_one_worker_and_many_workers_agree_row_by_row():
    one = FanOut(SAMPLE, ImportOptions(), MemoryList(), chunk_bytes=10**9, rows_per_range=10**9)
    counts = one.run_all()
    assert len(one.plan.chunks) == 1 and len(one.ranges()) == 1
    many = FanOut(SAMPLE, ImportOptions(), MemoryList(), chunk_bytes=1, rows_per_range=1)
    assert many.run_all(random.Random(7)) == counts
    assert len(many.plan.chunks) == 9 and len(many.ranges()) == 4
    assert many.contacts.items == one.contacts.items
    assert (counts.created, counts.skipped_duplicates, counts.invalid, counts.total_rows) == (4, 2, 2, 8)


def test_first_occurrence_wins_across_chunks_whichever_is_mapped_and_reduced_first():
    data = b"phone,name\n+12127365000,First\n+16502530000,Other\n(212) 736-5000,Second\n212.736.5000,Third\n"
    for seed in range(20):
        fan = FanOut(data, ImportOptions(), MemoryList(), chunk_bytes=1, rows_per_range=1)
        counts = fan.run_all(random.Random(seed))
        assert (counts.created, counts.skipped_duplicates) == (2, 2)
        assert fan.contacts.items["+12127365000"]["name"] == "First"


def test_an_invalid_row_claims_no_phone_in_another_chunk():
    data = b"phone,name,email\n+12127365000,Bad,nope\n+16502530000,x,\n(212) 736-5000,Good,\n"
    fan = FanOut(data, ImportOptions(), MemoryList(), chunk_bytes=1)
    counts = fan.run_all(random.Random(1))
    assert (counts.invalid, counts.created, counts.skipped_duplicates) == (1, 2, 0)
    assert fan.contacts.items["+12127365000"]["name"] == "Good"


def test_repeated_and_interrupted_tasks_count_as_one_clean_run():
    data = b"phone,name\n" + b"".join(f"+1212736{n % 300:04d},N{n}\n".encode() for n in range(700))
    options = ImportOptions(phone_validation="possible", on_existing="update")
    clean = FanOut(data, options, existing_list(["+12127360007"]), chunk_bytes=2000, rows_per_range=150)
    expected = clean.run_all()

    faulty = FanOut(data, options, existing_list(["+12127360007"]), chunk_bytes=2000, rows_per_range=150)
    for number in range(len(faulty.plan.chunks)):
        faulty.map(number)
        faulty.map(number)  # a duplicate delivery maps the chunk again
    ranges = faulty.ranges()
    assert len(ranges) > 2

    for number, keys in enumerate(ranges):
        with pytest.raises(WorkerCrashed):  # a worker that dies after writing its first contacts
            reduce_range(faulty.runs(keys), CrashingList(faulty.contacts), options, faulty.context)
        faulty.reduce(number, keys)  # the redelivery
        faulty.reduce(number, keys)  # and a second worker on the same range, after it
    assert faulty.counts() == expected
    assert faulty.contacts.items == clean.contacts.items


def test_a_dry_run_counts_the_same_and_writes_nothing():
    wet = FanOut(SAMPLE, ImportOptions(), MemoryList(), chunk_bytes=30)
    dry = FanOut(SAMPLE, ImportOptions(dry_run=True), MemoryList(), chunk_bytes=30)
    assert dry.run_all() == wet.run_all() and dry.contacts.items == {}


def test_a_cancelled_job_stops_between_batches_and_counts_what_it_wrote():
    data = b"phone\n" + b"".join(f"+1212736{n:04d}\n".encode() for n in range(250))
    options = ImportOptions(phone_validation="possible")
    fan = FanOut(data, options, MemoryList(), chunk_bytes=10**9, rows_per_range=10**9)
    fan.map(0)
    (everything,) = fan.ranges()
    tally, stopped = reduce_range(
        fan.runs(everything), fan.contacts, options, fan.context, stop=lambda: True, check_every=1
    )
    assert stopped and tally.created == len(fan.contacts.items) == 100  # one batch, written and counted
    assert fan.reduce(0, everything).created == 250  # a repeat counts what the first one wrote


# ------------------------------------------------------------------------------ parts


def drafts(*phones: str) -> list[ContactDraft]:
    return [
        ContactDraft(row=n + 2, phone=p, name=f"n{n}", tags=("a",), custom_fields={"k": "v"})
        for n, p in enumerate(phones)
    ]


def test_a_run_round_trips_and_its_index_finds_any_range():
    phones = sorted(f"+1{n:010d}" for n in range(0, 3000, 3))
    items = drafts(*phones)
    run_bytes, index = encode_run(items)
    assert list(decode_run(run_bytes)) == items
    assert index.lines == len(items) and index.entries[0] == (phones[0], 0)
    for lo, hi in [(None, None), ("+10000000300", "+10000001500"), ("+1", "+10000000001"), ("+19", None)]:
        keys = KeyRange(lo, hi)
        span = index.span(keys)
        wanted = [d for d in items if keys.contains(d.phone)]
        got = list(decode_run(run_bytes[span[0] : span[1]], keys)) if span else []
        assert got == wanted


def test_ranges_split_the_phones_evenly_and_keep_a_phone_in_one_range():
    runs = [encode_run(drafts(*sorted(f"+1{n:010d}" for n in range(k, 20_000, 4))))[1] for k in range(4)]
    ranges = split_ranges(runs, rows_per_range=2_000)
    assert len(ranges) == 10
    assert ranges[0].lo is None and ranges[-1].hi is None
    assert all(a.hi == b.lo for a, b in itertools.pairwise(ranges))
    sizes = [sum(1 for n in range(20_000) if r.contains(f"+1{n:010d}")) for r in ranges]
    assert max(sizes) - min(sizes) <= 4 * 256 * 2


def test_one_phone_repeated_everywhere_is_one_range():
    runs = [encode_run(drafts(*["+12127365000"] * 1000))[1] for _ in range(3)]
    assert split_ranges(runs, rows_per_range=10) == [KeyRange(None, None)]


def test_mirror_mode_finds_what_the_file_lacks():
    stored = ["+1", "+2", "+3", "+5", "+8"]
    assert list(missing_from_file(stored, ["+2", "+2", "+4", "+5", "+9"])) == ["+1", "+3", "+8"]
    assert list(missing_from_file(stored, [])) == stored


def test_tallies_add_up_and_say_which_rows_have_an_outcome():
    tally = Tally(total_rows=5, invalid=1, created=2, skipped_duplicates=2)
    tally.add(Tally.from_json(Tally(total_rows=1, updated=1).to_json()))
    counts = tally.as_counts()
    assert (counts.total_rows, counts.processed_rows, counts.created, counts.updated) == (6, 6, 2, 1)


def test_an_empty_run_has_no_span():
    run_bytes, index = encode_run([])
    assert (run_bytes, index.span(KeyRange(None, None))) == (b"", None)
    assert RunIndex.from_json(index.to_json()) == index


def test_row_errors_of_a_repeated_map_overwrite_their_row():
    data = b"phone,email\n+12127365000,bad\n"
    fan = FanOut(data, ImportOptions(), MemoryList())
    fan.map(0)
    fan.map(0)
    assert list(fan.errors.by_row()) == [2] and isinstance(fan.errors.errors[0][0], RowError)


def test_mapping_is_checked_once_for_the_whole_file():
    fan = FanOut(b"Mobile,Name\n+12127365000,A\n", ImportOptions(), MemoryList())
    assert fan.run_all().created == 1
    fan_copy = copy.deepcopy(fan.contacts.items)
    assert fan_copy["+12127365000"]["name"] == "A"


def sharded_run(phones: Sequence[str], shards: int) -> RunIndex:
    ordered = sorted(drafts(*phones), key=lambda d: (contact_key(d.phone, shards), d.row))
    return encode_run(ordered, shards)[1]


@pytest.mark.parametrize("rows_per_range", [50, 700, 3000, 100_000])
def test_a_range_is_part_of_one_shard_or_whole_shards(rows_per_range):
    shards = 16
    phones = [f"+1212{n:07d}" for n in range(0, 40_000, 7)]
    ranges = split_ranges([sharded_run(phones, shards)], rows_per_range=rows_per_range, shards=shards)
    keys = sorted(contact_key(p, shards) for p in phones)
    assert all(a.hi == b.lo for a, b in itertools.pairwise(ranges)) and ranges[0].lo is None
    for keyrange in ranges:
        held = [k for k in keys if keyrange.contains(k)]
        covered = [span for span in shard_spans(keyrange.lo, keyrange.hi, shards)]
        whole = all(span.lo is None and span.hi is None for span in covered)
        assert len(covered) == 1 or whole, f"{keyrange} is parts of several shards"
        assert {shard_of_key(k) for k in held} <= {span.shard for span in covered}
    assert sum(1 for k in keys for r in ranges if r.contains(k)) == len(keys), "every key in one range"


def test_shard_spans_say_which_phones_of_which_shards_a_range_holds():
    assert [(s.shard, s.lo, s.hi) for s in shard_spans(None, None, 3)] == [
        (0, None, None),
        (1, None, None),
        (2, None, None),
    ]
    assert [(s.shard, s.lo, s.hi) for s in shard_spans("001+1650", "002", 3)] == [(1, "+1650", None)]
    assert [(s.shard, s.lo, s.hi) for s in shard_spans("000", "002+1212", 3)] == [
        (0, None, None),
        (1, None, None),
        (2, None, "+1212"),
    ]
    assert [(s.shard, s.lo, s.hi) for s in shard_spans(None, None, LEGACY)] == [(0, None, None)]
    assert [(s.shard, s.lo, s.hi) for s in shard_spans("+1212", "+1650", LEGACY)] == [(0, "+1212", "+1650")]


def test_a_range_of_several_shards_writes_each_batch_over_all_of_them():
    class Recording(MemoryList):
        def __init__(self) -> None:
            super().__init__()
            self.batches: list[list[str]] = []

        def write(self, items: Sequence[dict[str, Any]]) -> None:
            self.batches.append([item["phone"] for item in items])
            super().write(items)

    data = b"phone\n" + b"".join(f"+1{2125550000 + n}\n".encode() for n in range(800))
    options = ImportOptions(phone_validation="possible")
    fan = FanOut(data, options, Recording(), chunk_bytes=10**9, rows_per_range=10**9, shards=8)
    assert fan.run_all().created == 800
    first_batch = fan.contacts.batches[0]
    assert {shard_of(phone, 8) for phone in first_batch} == set(range(8)), "one batch, every shard"
    assert sorted(p for batch in fan.contacts.batches for p in batch) == sorted(fan.contacts.items)
