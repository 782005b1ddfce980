"""The fast paths are the slow paths, faster: proven equal on the benchmark corpus and on generated
numbers and addresses.

- Phones: the North American fast path against `phonenumbers.parse` + `is_valid_number` (or
  `is_possible_number`) + E.164 formatting, and against our own normalizer with the fast path off.
- Emails: the plain-ASCII fast path, and the one for local parts beyond ASCII at a plain domain,
  against email-validator.
- Reading: a chunk decoded whole and read from one list of lines (``text_records``) against the
  line-by-line reader (``numbered_records``).
"""

from __future__ import annotations

import csv
import io
import json

import phonenumbers
import pytest
from email_validator import EmailNotValidError, validate_email
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from benchmarks.generate import sample
from contacts_import.pipeline import normalize, reading, runs
from contacts_import.pipeline.normalize import PhoneNormalizer, _international_local_address, _plain_ascii_address
from contacts_import.pipeline.reading import (
    CSV_FIELD_LIMIT,
    MAX_RECORD_CHARS,
    TEXT_BLOCK_CHARS,
    Record,
    line_pieces,
    numbered_records,
    text_records,
)
from tests.unit.helpers import run

CORPUS = list(csv.reader(io.StringIO(sample(20_000).decode("utf-8"))))[1:]


def reference(raw: str, region: str, validation: str) -> str | None:
    """What phonenumbers alone says: the E.164 number, or None."""
    try:
        number = phonenumbers.parse(raw, region)
    except phonenumbers.NumberParseException:
        return None
    ok = phonenumbers.is_valid_number(number) if validation == "strict" else phonenumbers.is_possible_number(number)
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164) if ok else None


def fast_only(raw: str, region: str, validation: str) -> tuple[str, None] | str | None:
    """The fast path's answer: a number, an error message, or None when it does not decide."""
    return PhoneNormalizer(region, validation)._nanp_fast(raw)


def same_as_reference(fast: tuple[str, None] | str, raw: str, region: str, validation: str) -> bool:
    expected = reference(raw, region, validation)
    return (fast[0] == expected) if isinstance(fast, tuple) else (expected is None)


@pytest.mark.parametrize("validation", ["strict", "possible"])
@pytest.mark.parametrize("region", ["US", "CA", "DE"])
def test_phone_fast_path_equals_phonenumbers_on_the_corpus(region, validation):
    taken = 0
    for raw in {row[0].strip() for row in CORPUS if row[0].strip()}:
        fast = fast_only(raw, region, validation)
        if fast is not None:
            taken += 1
            assert same_as_reference(fast, raw, region, validation), raw
    if region != "DE":
        assert taken > 5000  # the fast path is really taken on what we see


@pytest.mark.parametrize("validation", ["strict", "possible"])
def test_phone_normalizer_answers_the_same_with_and_without_its_fast_path(validation):
    fast, slow = PhoneNormalizer("US", validation), PhoneNormalizer("US", validation, fast_path=False)
    for row in CORPUS:
        raw = row[0].strip()
        if raw:
            assert fast.normalize(raw) == slow.normalize(raw), raw


punctuation = st.sampled_from(["", " ", "-", ".", "(", ")", "/", "  "])
nanp_like = st.builds(
    lambda plus, one, digits, seps: (
        ("+" if plus else "") + ("1" if one else "") + "".join(d + s for d, s in zip(digits, seps, strict=False))
    ),
    st.booleans(),
    st.booleans(),
    st.text(alphabet="0123456789", min_size=9, max_size=12),
    st.lists(punctuation, min_size=12, max_size=12),
)


@settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    raw=st.one_of(nanp_like, st.text(alphabet="0123456789 +-().", max_size=18)),
    region=st.sampled_from(["US", "CA", "GB"]),
    validation=st.sampled_from(["strict", "possible"]),
)
@example(raw="+1 212 736 5000", region="US", validation="strict")
@example(raw="12127365000", region="GB", validation="strict")
@example(raw="(800) 356-9377", region="CA", validation="strict")
@example(raw="+44 20 7946 0958", region="US", validation="strict")
@example(raw="+39 06 1234 5678", region="US", validation="strict")
@example(raw="555-1234", region="US", validation="strict")
@example(raw="310-5949", region="US", validation="strict")
@example(raw="+027810000", region="US", validation="strict")
def test_phone_fast_path_equals_phonenumbers_on_generated_numbers(raw, region, validation):
    fast = fast_only(raw, region, validation)
    if fast is not None:
        assert same_as_reference(fast, raw, region, validation)


with_extension = st.builds(
    lambda number, sep, ext: number + sep + ext,
    nanp_like,
    st.sampled_from([" x", " x ", "x", " ext ", " X"]),
    st.text(alphabet="0123456789", min_size=0, max_size=8),
)


@settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    raw=st.one_of(nanp_like, with_extension, st.text(alphabet="0123456789 +-().x", max_size=18)),
    region=st.sampled_from(["US", "CA", "GB"]),
    validation=st.sampled_from(["strict", "possible"]),
)
@example(raw="212-860-8028 x137", region="US", validation="strict")
@example(raw="+44 20 7946 0958 x12", region="US", validation="strict")
@example(raw="1234567890", region="US", validation="strict")
@example(raw="011 44 20", region="US", validation="strict")
@example(raw="555-1234", region="US", validation="possible")
def test_phone_normalizer_answers_the_same_with_and_without_its_fast_path_on_generated_numbers(raw, region, validation):
    # The whole answer, messages and extensions included, not only valid or not.
    raw = raw.strip()
    if raw:
        fast = PhoneNormalizer(region, validation).normalize(raw)
        assert fast == PhoneNormalizer(region, validation, fast_path=False).normalize(raw)


def test_us_patterns_compiled_from_metadata_decide_like_phonenumbers():
    for area in range(200, 1000, 7):
        for exchange in (200, 555, 736, 911, 958):
            national = f"{area}{exchange}4567"
            number = phonenumbers.PhoneNumber(country_code=1, national_number=int(national))
            assert normalize._US_NUMBERS.valid(national) == phonenumbers.is_valid_number_for_region(number, "US")


def test_north_american_regions_compiled_from_metadata_decide_like_phonenumbers():
    # Every area code, so each +1 region's leading digits (268 Antigua, 876 Jamaica, ...) and Canada's
    # rule without them are met; exchanges valid and not.
    for area in range(200, 1000):
        for exchange in (200, 234, 555, 911):
            national = f"{area}{exchange}4567"
            number = phonenumbers.PhoneNumber(country_code=1, national_number=int(national))
            assert normalize._NANP_NUMBERS.valid(national) == phonenumbers.is_valid_number(number), national


def _near(national: str) -> list[str]:
    """The number and its neighbours: a digit changed at each end, one digit more and one less."""
    return [
        national,
        national[:-1] + str((int(national[-1]) + 1) % 10),
        str((int(national[0]) + 1) % 10) + national[1:],
        national + "5",
        national[:-1],
    ]


def test_every_main_region_pattern_decides_like_phonenumbers():
    # The joined per-length patterns against phonenumbers' own type-by-type check, for every calling
    # code's main region the international fast path uses, on its example numbers of every type
    # and their neighbours.
    checked = 0
    for code, regions in normalize.COUNTRY_CODE_TO_REGION_CODE.items():
        if code not in normalize._COUNTRY_PATTERNS or normalize._COUNTRY_PATTERNS[code] is None:
            continue
        patterns = normalize._COUNTRY_PATTERNS[code]
        for kind in range(12):
            example = phonenumbers.example_number_for_type(regions[0], kind)
            if example is None:
                continue
            for national in _near(str(example.national_number)):
                if national and national[0] != "0":
                    number = phonenumbers.PhoneNumber(country_code=code, national_number=int(national))
                    expected = phonenumbers.is_valid_number_for_region(number, regions[0])
                    assert patterns.valid(national) == expected, (regions[0], national)
                    checked += 1
    assert checked > 2000


def email_validator_says(text: str) -> str | None:
    try:
        return validate_email(text, check_deliverability=False).normalized
    except EmailNotValidError:
        return None


def test_email_fast_path_equals_email_validator_on_the_corpus():
    taken = 0
    for row in CORPUS:
        text = row[3].strip()
        fast = _plain_ascii_address(text)
        if fast is not None:
            taken += 1
            assert fast == email_validator_says(text), text
    assert taken > 10_000


atext = st.text(alphabet="abcXYZ019!#$%&'*+/=?^_`{|}~-", min_size=1, max_size=8)
label = st.text(alphabet="abcDEF0189-", min_size=1, max_size=10)
addresses = st.builds(
    lambda local, dots, labels, tld: ".".join([local, *dots]) + "@" + ".".join([*labels, tld]),
    atext,
    st.lists(atext, max_size=2),
    st.lists(label, min_size=1, max_size=3),
    st.sampled_from(["com", "org", "CO", "uk", "io", "test", "local", "x1", "1x", "localhost", "xn--p1ai", "a"]),
)


def test_international_local_part_fast_path_equals_email_validator_on_the_international_corpus():
    taken = 0
    for row in csv.reader(io.StringIO(sample(5_000, corpus="international").decode("utf-8"))):
        text = row[3].strip()
        fast = _international_local_address(text)
        if fast is not None:
            taken += 1
            assert fast == email_validator_says(text), text
    assert taken > 1_500  # the addresses whose local part has letters beyond ASCII


# Letters beyond ASCII, composed and decomposed, and characters email-validator refuses in a local
# part (a zero-width space, a right-to-left mark, a combining mark first, a space).
intl_atext = st.text(alphabet='aZ9!#-_.ëüßøłé\u0301\u200b\u200f 日本"\\', min_size=1, max_size=10)
international_addresses = st.builds(
    lambda local, labels, tld: local + "@" + ".".join([*labels, tld]),
    intl_atext,
    st.lists(label, min_size=1, max_size=3),
    st.sampled_from(["com", "DE", "test", "a", "xn--p1ai"]),
)


@settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=st.one_of(international_addresses, st.text(alphabet='aë.@-\u0301 "', max_size=20)))
@example(text="zoë." + "ü" * 64 + "@example.com")
@example(text="zoë" * 30 + "@" + "a" * 60 + ".example.com")
@example(text="e\u0301@example.com")
def test_international_local_part_fast_path_equals_email_validator_on_generated_addresses(text):
    fast = _international_local_address(text)
    if fast is not None:
        assert fast == email_validator_says(text)


@settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=st.one_of(addresses, st.text(alphabet="ab.@-_+ \"'xn", max_size=20)))
@example(text="a" * 65 + "@example.com")
@example(text="jane@mail.example--x.com")
@example(text="jane@EXAMPLE.COM")
def test_email_fast_path_equals_email_validator_on_generated_addresses(text):
    fast = _plain_ascii_address(text)
    if fast is not None:
        assert fast == email_validator_says(text)


def test_the_engine_on_two_workers_answers_exactly_as_on_one():
    data = sample(12_000)
    answers = []
    for workers in (1, 2):
        result, _, errors, _ = run(data, workers=workers, chunk_bytes=64 * 1024, rows_per_range=2_000, dry_run="true")
        answers.append((result.counts, [(e.row, e.code, e.message) for e, _ in errors.errors], result.chunks))
    assert answers[0] == answers[1]
    assert answers[0][0].total_rows == 12_000 and answers[0][2] > 2


def test_the_engines_memory_is_a_chunk_and_a_range_not_the_file():
    """Twice the rows, about the same peak of Python allocations: the maps hold a chunk, the reduces
    a range, and the runs between them are in the work area."""
    import tracemalloc

    from contacts_import.models import ImportOptions
    from contacts_import.pipeline.in_process import import_in_process
    from contacts_import.pipeline.outcomes import RunContext

    class CountOnly:
        def add(self, error, raw):
            pass

        def flush(self):
            pass

    peaks = []
    # A small run first: what the first run loads once (phone metadata, codecs) is not a peak of
    # either measured run, whichever tests ran before in this process.
    for rows in (3_000, 30_000, 60_000):
        data = sample(rows)
        tracemalloc.start()
        try:
            import_in_process(
                data,
                ImportOptions(phone_validation="possible", dry_run=True),
                RunContext("j", "l", "now"),
                CountOnly(),
                chunk_bytes=256 * 1024,
                rows_per_range=2_000,
            )
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        peaks.append(peak)
    # Twice the rows do not double the peak, and neither is near what holding the file's drafts
    # takes (tens of MB at 60,000 rows); the peaks move by a few MB with what ran before.
    assert peaks[2] < 2 * peaks[1] and max(peaks) < 24 * 2**20, peaks


# ------------------------------------------------------------------------------ reading a chunk whole


def slow_records(text: str, first_row: int, lines_before: int) -> list:
    pieces = line_pieces(io.StringIO(text).read, TEXT_BLOCK_CHARS)
    return as_tuples(numbered_records(pieces, ",", "utf-8", lambda: 0, first_row, lines_before))


def whole_text_records(text: str, first_row: int, lines_before: int) -> list:
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(reading, "WHOLE_TEXT_MIN_LINE_CHARS", 0)  # short lines read whole too
        return as_tuples(text_records(text, ",", "utf-8", first_row, lines_before))


def as_tuples(records) -> list:
    return [(r.row, tuple(r.fields)) if isinstance(r, Record) else (r.row, r.code, r.message, r.value) for r in records]


_cells = st.text(alphabet='ab ,"\n\r\té😀', max_size=12)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    lines=st.lists(st.lists(_cells, min_size=1, max_size=4).map(",".join), max_size=20),
    newline=st.sampled_from(["\n", "\r\n", "\r"]),
    first_row=st.integers(min_value=1, max_value=10**6),
    lines_before=st.integers(min_value=0, max_value=10**6),
)
def test_a_chunk_read_whole_gives_the_records_of_the_line_by_line_reader(lines, newline, first_row, lines_before):
    text = newline.join(lines)
    assert whole_text_records(text, first_row, lines_before) == slow_records(text, first_row, lines_before)


@pytest.mark.parametrize(
    "text",
    [
        'a,b\r\n"' + "x\n" * (MAX_RECORD_CHARS // 2) + '"\r\nc,d\r\n',  # a quoted record over the limit
        "a,b\n" + "y" * (MAX_RECORD_CHARS + 1) + "\nc,d\n",  # one line over the limit
        "a,b\n" + "z" * CSV_FIELD_LIMIT + "\nc,d\n",  # a field over csv's limit
        'a,b\n"open\nc,d\ne,f\n',  # a quote that never closes
        'a,b\n"two\nlines",x\nc,d\n"' + "w" * (MAX_RECORD_CHARS + 5),  # after a good quoted record, a long last one
    ],
)
def test_a_chunk_read_whole_hands_what_it_does_not_take_to_the_line_by_line_reader(text):
    assert whole_text_records(text, 2, 1) == slow_records(text, 2, 1)


# ------------------------------------------------------------------------------ run lines


@settings(max_examples=300, deadline=None)
@given(
    values=st.tuples(
        st.integers(),
        st.text(),
        st.none() | st.text(),
        st.lists(st.text(), max_size=3).map(tuple),
        st.dictionaries(st.text(), st.text(), max_size=3),
        st.floats(allow_nan=True),
    )
)
def test_a_run_line_is_what_the_json_encoder_writes(values):
    assert runs._encode_line(values) == json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode(values)
