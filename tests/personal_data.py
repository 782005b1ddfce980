"""A file of contacts whose every value is easy to find, and every form those values can take in a
log: for the tests that import it and then search the logs for any of them."""

from __future__ import annotations

import re
from urllib.parse import quote

import phonenumbers

# Unusual names and addresses, so that finding one in a log cannot be a coincidence. Rows 4 and 5
# are invalid (a short phone, a bad address) so that the run produces row errors with values.
CONTACTS_CSV = (
    b"phone,first_name,last_name,email,company\r\n"
    b"(212) 736-5000,Henrietta,Quarrington,henrietta.quarrington@example.org,Quarrington Ltd\r\n"
    b"+1 650 253 0000,Bartholomew,Zylstra,bart.zylstra@example.net,Zylstra and Sons\r\n"
    b"415.555.2671,Ottoline,Featherstonehaugh,ottoline.f@example.com,\r\n"
    b"12345,Ignatius,Wolstenholme,ignatius@example.org,\r\n"
    b"617-253-1000,Perpetua,Vandersloot,perpetua at example dot com,\r\n"
)
PHONES = ("(212) 736-5000", "+1 650 253 0000", "415.555.2671", "617-253-1000")
NAMES = (
    "Henrietta",
    "Quarrington",
    "Bartholomew",
    "Zylstra",
    "Ottoline",
    "Featherstonehaugh",
    "Ignatius",
    "Wolstenholme",
    "Perpetua",
    "Vandersloot",
)
EMAILS = (
    "henrietta.quarrington@example.org",
    "bart.zylstra@example.net",
    "ottoline.f@example.com",
    "ignatius@example.org",
    "perpetua at example dot com",
)


def phone_forms(raw: str, region: str = "US") -> set[str]:
    """Every way a log could spell this phone: as written, its digits, E.164 (also URL-encoded),
    the national and international formats and the national number alone."""
    number = phonenumbers.parse(raw, region)
    e164 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    national = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL)
    international = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)
    return {
        raw,
        re.sub(r"\D", "", raw),
        e164,
        e164[1:],
        quote(e164, safe=""),
        national,
        international,
        str(phonenumbers.national_significant_number(number)),
    }


def personal_values() -> set[str]:
    """What must never appear in a log after importing CONTACTS_CSV."""
    values = {form for raw in PHONES for form in phone_forms(raw)}
    values |= set(NAMES) | set(EMAILS)
    values |= {quote(email, safe="") for email in EMAILS}
    return values


def leaks(text: str) -> list[str]:
    return sorted(value for value in personal_values() if value in text)
