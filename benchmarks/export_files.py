"""Files as the tools people use export them, written by our own code (no copied exports): header
layouts, encodings and delimiters of Google Contacts, Outlook, HubSpot, Mailchimp, Salesforce,
European Excel and Excel's "Unicode Text". Used by the unit tests and the end-to-end tests."""

from __future__ import annotations

import codecs
import csv
import io
from collections.abc import Sequence

import openpyxl


def table(header: Sequence[str], rows: Sequence[Sequence[str]], *, delimiter: str = ",", newline: str = "\r\n") -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=delimiter, lineterminator=newline)
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue()


def row_for(header: Sequence[str], **values: str) -> list[str]:
    return [values.get(column, "") for column in header]


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


def outlook_windows_1252() -> bytes:
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
    return table(OUTLOOK, rows).encode("cp1252")


def google_contacts_utf8() -> bytes:
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
    return table(GOOGLE_NEW, rows).encode("utf-8")


def european_semicolons_windows_1252() -> bytes:
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
    return table(header, rows, delimiter=";").encode("cp1252")


def excel_unicode_text() -> bytes:
    text = table(
        ["Full Name", "Cell", "E-Mail", "Organization"], [["Zoë Ünal", "+44 20 7946 0958", "", "Org"]], delimiter="\t"
    )
    return codecs.BOM_UTF16_LE + text.encode("utf-16-le")


def workbook_with_numbers() -> bytes:
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
    return buffer.getvalue()
