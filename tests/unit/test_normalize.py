"""Values: phones to E.164, emails, names, tags, trimming, and the row errors that refuse a row."""

from __future__ import annotations

import pytest

from contacts_import.models import ImportOptions, RowError
from contacts_import.pipeline.mapping import plan_columns
from contacts_import.pipeline.normalize import (
    MAX_CONTACT_BYTES,
    ContactDraft,
    PhoneNormalizer,
    RowNormalizer,
    contact_bytes,
    normalize_email,
)


def normalize(header, fields, **options):
    parsed = ImportOptions.parse(options)
    return RowNormalizer(plan_columns(header, len(header), parsed), parsed).normalize(2, fields)


@pytest.mark.parametrize(
    ("raw", "region", "e164"),
    [
        ("(212) 736-5000", "US", "+12127365000"),
        ("+1 650 253 0000", "US", "+16502530000"),
        ("415.555.2671", "US", "+14155552671"),
        ("tel:+1-212-736-5000", "US", "+12127365000"),
        ("'+12127365000", "US", "+12127365000"),
        ("030 901820", "DE", "+4930901820"),
        ("+44 20 7946 0958", "US", "+442079460958"),
    ],
)
def test_phones_become_e164(raw, region, e164):
    result = PhoneNormalizer(region, "strict").normalize(raw)
    assert result == (e164, None)


def test_extension_is_kept():
    assert PhoneNormalizer("US", "strict").normalize("212-736-5000 ext. 42") == ("+12127365000", "42")


def test_strict_refuses_test_numbers_that_possible_accepts():
    assert isinstance(PhoneNormalizer("US", "strict").normalize("+15551234567"), str)
    assert PhoneNormalizer("US", "possible").normalize("+15551234567") == ("+15551234567", None)


def test_scientific_notation_is_refused_with_its_cause():
    message = PhoneNormalizer("US", "strict").normalize("1.41555E+10")
    assert isinstance(message, str) and "scientific notation" in message


@pytest.mark.parametrize(
    ("raw", "address"),
    [
        ("jane@acme.com", "jane@acme.com"),
        ("Jane Doe <jane@acme.com>", "jane@acme.com"),
        ("mailto:j@a.co", "j@a.co"),
    ],
)
def test_emails(raw, address):
    assert normalize_email(raw) == address


@pytest.mark.parametrize("raw", ["not-an-email", "a@", "@b.com", "a b@c.com"])
def test_bad_emails(raw):
    assert normalize_email(raw) is None


def test_a_full_row_with_trimming_name_composition_tags_and_custom_fields():
    draft = normalize(
        ["Phone", "First Name", "Last Name", "Email", "Company", "Tags", "Shoe Size"],
        ["\u00a0 (212) 736-5000 ", " Jane", "Doe ", "jane@acme.com", "Acme", "a; b|c", "42"],
        tags="vip",
    )
    assert draft == ContactDraft(
        row=2,
        phone="+12127365000",
        name="Jane Doe",
        first_name="Jane",
        last_name="Doe",
        email="jane@acme.com",
        company="Acme",
        tags=("a", "b", "c", "vip"),
        custom_fields={"Shoe Size": "42"},
    )


@pytest.mark.parametrize(
    ("fields", "code", "column"),
    [
        (["", "Jane", ""], "missing_phone", "phone"),
        (["12345", "Jane", ""], "invalid_phone", "phone"),
        (["+12127365000", "Jane", "nope"], "invalid_email", "email"),
        (["+12127365000", "x" * 40000, ""], "field_too_long", "name"),
        (["+12127365000", "Jane", "", "surprise"], "too_many_fields", None),
    ],
)
def test_row_errors_name_their_cause(fields, code, column):
    result = normalize(["phone", "name", "email"], fields)
    assert isinstance(result, RowError)
    assert (result.row, result.code, result.column) == (2, code, column)


def test_extra_empty_fields_are_ignored():
    assert isinstance(normalize(["phone", "name"], ["+12127365000", "Jane", "", ""]), ContactDraft)


def test_a_short_record_has_empty_values():
    draft = normalize(["phone", "name", "email"], ["+12127365000"])
    assert isinstance(draft, ContactDraft) and draft.name is None and draft.email is None


def test_an_international_number_excel_stripped_of_its_plus_is_taken():
    assert PhoneNormalizer("US", "strict").normalize("4915123456789") == ("+4915123456789", None)
    assert PhoneNormalizer("US", "strict").normalize("442079460958") == ("+442079460958", None)
    assert isinstance(PhoneNormalizer("US", "strict").normalize("99999999999"), str)


WIDE_HEADER = ["phone", *(f"note {n}" for n in range(8))]


def test_a_row_whose_contact_would_not_fit_in_a_stored_item_is_a_row_error():
    # 240,000 characters: under the row limit in characters, but 720 KB of UTF-8 (DynamoDB's
    # items hold 400 KB): refused as a row, so that writing it cannot fail the rows around it.
    wide = ["+14155552671", *("漢" * 30_000 for _ in range(8))]
    result = normalize(WIDE_HEADER, wide)
    assert isinstance(result, RowError) and result.code == "row_too_long"
    assert str(MAX_CONTACT_BYTES) in result.message


def test_a_long_row_whose_contact_fits_is_kept_whole():
    wide = ["+14155552671", *("x" * 30_000 for _ in range(8))]
    result = normalize(WIDE_HEADER, wide)
    assert isinstance(result, ContactDraft) and len(result.custom_fields) == 8
    assert contact_bytes(result) <= MAX_CONTACT_BYTES


def test_rows_too_long_in_characters_and_fields_too_long_name_their_cause():
    one_long = normalize(WIDE_HEADER, ["+14155552671", "x" * (32 * 1024 + 1), *([""] * 7)])
    assert isinstance(one_long, RowError) and (one_long.code, one_long.column) == ("field_too_long", "note 0")
    # Every field within its limit, the row over its 262,144 characters.
    row_long = normalize(WIDE_HEADER, ["+14155552671", *("x" * 32 * 1024 for _ in range(8))])
    assert isinstance(row_long, RowError) and row_long.code == "row_too_long"
