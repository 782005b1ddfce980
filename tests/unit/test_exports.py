"""Files as the tools people use export them: each fixture is written here, by our own code, in the
encoding, delimiter and header layout of that tool, with the contacts it must give."""

from __future__ import annotations

import gzip

import pytest

from benchmarks.export_files import (
    GOOGLE_OLD,
    HUBSPOT,
    MAILCHIMP,
    SALESFORCE,
    european_semicolons_windows_1252,
    excel_unicode_text,
    google_contacts_utf8,
    outlook_windows_1252,
    row_for,
    table,
    workbook_with_numbers,
)
from tests.unit.helpers import run


def contacts_of(data: bytes, **options: str) -> dict[str, dict]:
    result, contacts, errors, _ = run(data, **options)
    assert result.failure is None, result.failure
    assert not errors.errors, errors.codes()
    return contacts.items


def test_google_contacts_current_export_takes_the_mobile_of_several_phones():
    zoe = contacts_of(google_contacts_utf8())["+16502530000"]
    assert (zoe["name"], zoe["first_name"], zoe["last_name"]) == ("Zoë A. Quinn", "Zoë", "Quinn")
    assert (zoe["email"], zoe["company"], zoe["tags"]) == ("zoe@example.com", "Acme", ["Friends", "myContacts"])
    assert zoe["custom_fields"]["Phonetic First Name"] == "zo-ee"


def test_google_contacts_older_export():
    rows = [
        row_for(
            GOOGLE_OLD,
            **{
                "Name": "Jane Doe",
                "Given Name": "Jane",
                "Family Name": "Doe",
                "Group Membership": "* myContacts",
                "E-mail 1 - Value": "jane@acme.com",
                "Phone 1 - Type": "Home",
                "Phone 1 - Value": "212-736-5000",
                "Organization 1 - Name": "Acme",
            },
        )
    ]
    jane = contacts_of(table(GOOGLE_OLD, rows).encode("utf-8"))["+12127365000"]
    assert (jane["name"], jane["email"], jane["company"]) == ("Jane Doe", "jane@acme.com", "Acme")


def test_outlook_export_in_windows_1252_prefers_mobile_and_ignores_faxes():
    contacts = contacts_of(outlook_windows_1252())
    rene = contacts["+16502530000"]
    assert (rene["name"], rene["company"], rene["email"]) == ("René Müller", "Bäckerei “Süß”", "rene@example.com")
    assert contacts["+14155552671"]["email"] == "home@example.com"
    assert "+12127365099" not in contacts


def test_hubspot_mailchimp_and_salesforce_exports():
    hubspot = [
        row_for(
            HUBSPOT,
            **{
                "First Name": "Ann",
                "Email": "ann@example.com",
                "Phone Number": "+1 212 736 5000",
                "Mobile Phone Number": "+1 650 253 0000",
                "Company Name": "HubCo",
            },
        )
    ]
    ann = contacts_of(table(HUBSPOT, hubspot).encode())["+16502530000"]
    assert (ann["name"], ann["company"]) == ("Ann", "HubCo")

    mailchimp = [
        row_for(
            MAILCHIMP,
            **{
                "Email Address": "mc@example.com",
                "First Name": "Mo",
                "Last Name": "Chimp",
                "Phone Number": "415-555-2671",
                "TAGS": '"vip","newsletter"',
            },
        )
    ]
    mo = contacts_of(table(MAILCHIMP, mailchimp).encode())["+14155552671"]
    assert (mo["email"], mo["name"], mo["tags"]) == ("mc@example.com", "Mo Chimp", ["newsletter", "vip"])

    salesforce = [
        row_for(
            SALESFORCE,
            **{
                "First Name": "Sal",
                "Last Name": "Force",
                "Account Name": "SF Inc",
                "Phone": "212.736.5000",
                "Mobile": "",
                "Email": "sal@example.com",
                "Mailing City": "Boston",
            },
        )
    ]
    sal = contacts_of(table(SALESFORCE, salesforce).encode())["+12127365000"]
    assert (sal["company"], sal["custom_fields"]["Mailing City"]) == ("SF Inc", "Boston")


def test_european_excel_semicolons_in_windows_1252():
    jurgen = contacts_of(european_semicolons_windows_1252(), default_region="DE")["+4915123456789"]
    assert (jurgen["name"], jurgen["last_name"], jurgen["company"]) == ("Jürgen Müller", "Müller", "Müller & Söhne")
    assert jurgen["custom_fields"]["Notiz"] == "Kunde seit 2019; bevorzugt Anruf"


def test_excel_unicode_text_is_utf16_with_tabs():
    assert contacts_of(excel_unicode_text())["+442079460958"]["name"] == "Zoë Ünal"


def test_hand_made_sheet_with_lone_cr_line_ends_and_pipes():
    text = table(
        ["Full Name", "Tel", "Email"], [["Ann", "'+12127365000", "Ann <ann@example.com>"]], delimiter="|", newline="\r"
    )
    ann = contacts_of(text.encode())["+12127365000"]
    assert ann["email"] == "ann@example.com"


def test_xlsx_first_sheet_with_numbers_typed_as_numbers():
    result, contacts, errors, _ = run(workbook_with_numbers())
    assert set(contacts.items) == {"+14155552671", "+12127365000"}
    assert errors.codes() == [(5, "invalid_phone")]
    assert result.counts.total_rows == 3


def test_gzip_is_streamed_through_decompression():
    text = table(["phone", "name"], [[f"+1212736{n:04d}", f"P{n}"] for n in range(2000)])
    result, _, _, _ = run(gzip.compress(text.encode()), phone_validation="possible")
    assert result.counts.created == 2000


@pytest.mark.parametrize(
    ("raw", "e164", "extension"),
    [
        ("tel:+1-212-736-5000", "+12127365000", None),
        ("'+12127365000", "+12127365000", None),
        ("1-800-FLOWERS", "+18003569377", None),
        ("(212) 736-5000 ext. 42", "+12127365000", "42"),
        ("\u00a0+1 212 736 5000\u00a0", "+12127365000", None),
    ],
)
def test_phone_values_as_people_type_them(raw, e164, extension):
    contacts = contacts_of(table(["phone"], [[raw]]).encode())
    assert contacts[e164].get("phone_extension") == extension


def test_excel_scientific_notation_is_refused_naming_the_cause():
    _, _, errors, _ = run(table(["phone"], [["1.41555E+10"]]).encode())
    ((error, _),) = errors.errors
    assert error.code == "invalid_phone" and "scientific notation" in error.message
