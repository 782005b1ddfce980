"""Files as the tools people use export them: each fixture is written here, by our own code, in the
encoding, delimiter and header layout of that tool, with the contacts it must give."""

from __future__ import annotations

import codecs
import csv
import gzip
import io
from collections.abc import Sequence

import openpyxl
import pytest

from tests.unit.helpers import run


def table(header: Sequence[str], rows: Sequence[Sequence[str]], *, delimiter: str = ",", newline: str = "\r\n") -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=delimiter, lineterminator=newline)
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue()


def row_for(header: Sequence[str], **values: str) -> list[str]:
    return [values.get(column, "") for column in header]


def contacts_of(data: bytes, **options: str) -> dict[str, dict]:
    result, contacts, errors, _ = run(data, **options)
    assert result.failure is None, result.failure
    assert not errors.errors, errors.codes()
    return contacts.items


GOOGLE_NEW = [
    "First Name",
    "Middle Name",
    "Last Name",
    "Phonetic First Name",
    "Phonetic Middle Name",
    "Phonetic Last Name",
    "Name Prefix",
    "Name Suffix",
    "Nickname",
    "File As",
    "Organization Name",
    "Organization Title",
    "Organization Department",
    "Birthday",
    "Notes",
    "Photo",
    "Labels",
    "E-mail 1 - Label",
    "E-mail 1 - Value",
    "Phone 1 - Label",
    "Phone 1 - Value",
    "Phone 2 - Label",
    "Phone 2 - Value",
    "Address 1 - Label",
    "Address 1 - Formatted",
]
GOOGLE_OLD = [
    "Name",
    "Given Name",
    "Additional Name",
    "Family Name",
    "Yomi Name",
    "Given Name Yomi",
    "Additional Name Yomi",
    "Family Name Yomi",
    "Name Prefix",
    "Name Suffix",
    "Initials",
    "Nickname",
    "Short Name",
    "Maiden Name",
    "Birthday",
    "Gender",
    "Location",
    "Billing Information",
    "Directory Server",
    "Mileage",
    "Occupation",
    "Hobby",
    "Sensitivity",
    "Priority",
    "Subject",
    "Notes",
    "Language",
    "Photo",
    "Group Membership",
    "E-mail 1 - Type",
    "E-mail 1 - Value",
    "Phone 1 - Type",
    "Phone 1 - Value",
    "Phone 2 - Type",
    "Phone 2 - Value",
    "Organization 1 - Type",
    "Organization 1 - Name",
    "Organization 1 - Title",
]
OUTLOOK = [
    "Title",
    "First Name",
    "Middle Name",
    "Last Name",
    "Suffix",
    "Company",
    "Department",
    "Job Title",
    "Business Street",
    "Business City",
    "Business Fax",
    "Business Phone",
    "Business Phone 2",
    "Callback",
    "Car Phone",
    "Company Main Phone",
    "Home Fax",
    "Home Phone",
    "Home Phone 2",
    "ISDN",
    "Mobile Phone",
    "Other Fax",
    "Other Phone",
    "Pager",
    "Primary Phone",
    "Radio Phone",
    "TTY/TDD Phone",
    "Telex",
    "E-mail Address",
    "E-mail Type",
    "E-mail Display Name",
    "E-mail 2 Address",
    "Categories",
    "Notes",
]
HUBSPOT = [
    "Record ID",
    "First Name",
    "Last Name",
    "Email",
    "Phone Number",
    "Mobile Phone Number",
    "Company Name",
    "Lifecycle Stage",
    "Contact owner",
    "Create Date",
]
MAILCHIMP = [
    "Email Address",
    "First Name",
    "Last Name",
    "Address",
    "Phone Number",
    "Birthday",
    "MEMBER_RATING",
    "OPTIN_TIME",
    "OPTIN_IP",
    "CONFIRM_TIME",
    "LATITUDE",
    "LONGITUDE",
    "TIMEZONE",
    "CC",
    "LAST_CHANGED",
    "LEID",
    "EUID",
    "NOTES",
    "TAGS",
]
SALESFORCE = [
    "First Name",
    "Last Name",
    "Title",
    "Account Name",
    "Phone",
    "Mobile",
    "Email",
    "Mailing City",
    "Contact Owner",
    "Lead Source",
]


def test_google_contacts_current_export_takes_the_mobile_of_several_phones():
    rows = [
        row_for(
            GOOGLE_NEW,
            **{
                "First Name": "Zoë",
                "Middle Name": "A.",
                "Last Name": "Quinn",
                "Phonetic First Name": "zo-ee",
                "Organization Name": "Acme",
                "Labels": "* myContacts ::: Friends",
                "E-mail 1 - Label": "* Home",
                "E-mail 1 - Value": "zoe@example.com ::: zq@example.org",
                "Phone 1 - Label": "Work",
                "Phone 1 - Value": "+1 212-736-5000",
                "Phone 2 - Label": "Mobile",
                "Phone 2 - Value": "(650) 253-0000 ::: +1 415-555-2671",
            },
        ),
    ]
    contacts = contacts_of(table(GOOGLE_NEW, rows).encode("utf-8"))
    zoe = contacts["+16502530000"]
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
    rows = [
        row_for(
            OUTLOOK,
            **{
                "First Name": "René",
                "Last Name": "Müller",
                "Company": "Bäckerei “Süß”",
                "Business Fax": "+1 212 736 5099",
                "Business Phone": "+1 212 736 5000",
                "Mobile Phone": "+1 650 253 0000",
                "E-mail Address": "rene@example.com",
                "E-mail Display Name": "René Müller (rene@example.com)",
            },
        ),
        row_for(
            OUTLOOK,
            **{
                "First Name": "Only",
                "Last Name": "Home",
                "Home Phone": "(415) 555-2671",
                "E-mail 2 Address": "home@example.com",
            },
        ),
    ]
    contacts = contacts_of(table(OUTLOOK, rows).encode("cp1252"))
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
    header = ["Name", "Vorname", "Telefon", "Handy", "E-Mail", "Firma", "Notiz"]
    rows = [
        [
            "Müller",
            "Jürgen",
            "030 901820",
            "0151 23456789",
            "j.mueller@example.de",
            "Müller & Söhne",
            "Kunde seit 2019; bevorzugt Anruf",
        ]
    ]
    contacts = contacts_of(table(header, rows, delimiter=";").encode("cp1252"), default_region="DE")
    jurgen = contacts["+4915123456789"]
    assert (jurgen["first_name"], jurgen["company"]) == ("Jürgen", "Müller & Söhne")
    assert jurgen["custom_fields"]["Notiz"] == "Kunde seit 2019; bevorzugt Anruf"


def test_excel_unicode_text_is_utf16_with_tabs():
    text = table(
        ["Full Name", "Cell", "E-Mail", "Organization"], [["Zoë Ünal", "+44 20 7946 0958", "", "Org"]], delimiter="\t"
    )
    contacts = contacts_of(codecs.BOM_UTF16_LE + text.encode("utf-16-le"))
    assert contacts["+442079460958"]["name"] == "Zoë Ünal"


def test_hand_made_sheet_with_lone_cr_line_ends_and_pipes():
    text = table(
        ["Full Name", "Tel", "Email"], [["Ann", "'+12127365000", "Ann <ann@example.com>"]], delimiter="|", newline="\r"
    )
    ann = contacts_of(text.encode())["+12127365000"]
    assert ann["email"] == "ann@example.com"


def test_xlsx_first_sheet_with_numbers_typed_as_numbers():
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(["Mobile", "Name", "Email"])
    sheet.append([14155552671, "Num Ber", "n@example.com"])
    sheet.append([None, None, None])
    sheet.append(["+12127365000", "Text", None])
    sheet.append(["nope", "Bad", None])
    workbook.create_sheet("Second").append(["phone"])
    buffer = io.BytesIO()
    workbook.save(buffer)
    result, contacts, errors, _ = run(buffer.getvalue())
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
