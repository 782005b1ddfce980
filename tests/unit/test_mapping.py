"""Header mapping: synonyms, explicit mapping, positional headers, custom fields, refusals."""

from __future__ import annotations

import pytest

from contacts_import.errors import InvalidOptions, MissingRequiredColumn, TooManyColumns
from contacts_import.models import ImportOptions
from contacts_import.pipeline.mapping import plan_columns


def plan(header, **options):
    return plan_columns(header, len(header), ImportOptions.parse({}, text=options))


@pytest.mark.parametrize(
    "phone_header",
    [
        "phone",
        "Phone",
        "PHONE NUMBER",
        "phone_number",
        "Phone-Number",
        "\ufeffphone",
        "mobile",
        "Cell",
        "tel",
        "Telephone",
        " Mobile Phone ",
    ],
)
def test_phone_synonyms_ignore_case_spaces_punctuation_and_bom(phone_header):
    assert plan([phone_header, "x"]).phone_columns == (0,)


@pytest.mark.parametrize(
    ("header", "field"),
    [
        ("Full Name", "name"),
        ("contact_name", "name"),
        ("First Name", "first_name"),
        ("surname", "last_name"),
        ("E-mail", "email"),
        ("email_address", "email"),
        ("Organization", "company"),
        ("company", "company"),
        ("Tags", "tags"),
    ],
)
def test_field_synonyms(header, field):
    result = plan(["phone", header])
    assert (result.email_columns == (1,)) if field == "email" else (result.field_columns == {field: 1})


def test_unknown_columns_become_custom_fields_under_their_header():
    result = plan(["phone", "Favourite Colour", ""])
    assert result.custom_columns == ((1, "Favourite Colour"), (2, "column 3"))


def test_mobile_is_preferred_over_other_phone_columns():
    assert plan(["Home Phone", "Phone", "Mobile"]).phone_columns[0] == 2


def test_explicit_mapping_wins_and_the_rest_is_still_matched():
    result = plan(["Number", "Who", "email"], mapping='{"Who": "name", "Number": "phone"}')
    assert result.phone_columns == (0,)
    assert result.field_columns == {"name": 1}
    assert result.email_columns == (2,)


def test_mapping_to_custom_and_ignore():
    result = plan(["phone", "Notes", "Secret"], mapping={"Notes": "custom:note", "Secret": "ignore"})
    assert result.custom_columns == ((1, "note"),)


def test_mapping_naming_an_unknown_field_is_invalid_and_names_it():
    with pytest.raises(InvalidOptions, match="nickname_x"):
        ImportOptions.parse({"mapping": {"name": "nickname_x"}})


def test_mapping_naming_a_column_the_file_lacks_is_invalid():
    with pytest.raises(InvalidOptions, match="Nope"):
        plan(["phone"], mapping={"Nope": "name"})


def test_positional_headers_option():
    result = plan(["Who", "Number"], headers=["name", "phone"])
    assert result.phone_columns == (1,) and result.field_columns == {"name": 0}


def test_without_a_header_mapping_keys_are_column_numbers():
    options = ImportOptions.parse({"has_header": False, "mapping": {"1": "phone", "0": "name"}})
    result = plan_columns(None, 2, options)
    assert result.phone_columns == (1,) and result.field_columns == {"name": 0}


def test_no_phone_column_is_refused_naming_the_headers_seen():
    with pytest.raises(MissingRequiredColumn) as refused:
        plan(["Name", "Email"])
    assert "'Name', 'Email'" in refused.value.message
    assert refused.value.details == {"headers": ["Name", "Email"]}


def test_more_than_a_thousand_columns_fails_the_file():
    with pytest.raises(TooManyColumns):
        plan(["phone", *[f"c{i}" for i in range(1001)]])


@pytest.mark.parametrize(
    ("header", "first", "last"),
    [
        (["Telefon", "Name", "Vorname"], 2, 1),
        (["Tel", "Nom", "Prénom"], 2, 1),
        (["Teléfono", "Nombre", "Apellidos"], 1, 2),
    ],
)
def test_name_beside_a_first_or_last_name_column_is_the_other_half(header, first, last):
    result = plan(header)
    assert (result.field_columns.get("first_name"), result.field_columns.get("last_name")) == (first, last)
    assert "name" not in result.field_columns


def test_an_explicit_name_mapping_is_left_alone():
    result = plan(["phone", "Name", "Vorname"], mapping={"Name": "name"})
    assert result.field_columns == {"name": 1, "first_name": 2}
