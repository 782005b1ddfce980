"""Contact fields and the header names people use for them.

Header matching ignores case, spaces, punctuation and a byte-order mark: ``Phone Number``,
``phone_number`` and ``PHONE-NUMBER`` are one key, ``phonenumber``.
"""

from __future__ import annotations

import re

PHONE = "phone"
NAME = "name"
FIRST_NAME = "first_name"
LAST_NAME = "last_name"
EMAIL = "email"
COMPANY = "company"
TAGS = "tags"

KNOWN_FIELDS: tuple[str, ...] = (PHONE, NAME, FIRST_NAME, LAST_NAME, EMAIL, COMPANY, TAGS)
IGNORE = "ignore"
CUSTOM_PREFIX = "custom:"

# Several columns may map to the phone; the first non-empty one in this order wins (mobile first,
# because a contacts list is for calling and texting).
PHONE_SYNONYMS_BY_PRIORITY: tuple[str, ...] = (
    "mobile",
    "mobilephone",
    "mobilenumber",
    "cell",
    "cellphone",
    "cellnumber",
    "phone",
    "phonenumber",
    "phoneno",
    "number",
    "tel",
    "telephone",
    "telephonenumber",
    "msisdn",
)

_SYNONYMS: dict[str, str] = {
    **{key: PHONE for key in PHONE_SYNONYMS_BY_PRIORITY},
    "name": NAME,
    "fullname": NAME,
    "contactname": NAME,
    "displayname": NAME,
    "firstname": FIRST_NAME,
    "givenname": FIRST_NAME,
    "forename": FIRST_NAME,
    "fname": FIRST_NAME,
    "lastname": LAST_NAME,
    "surname": LAST_NAME,
    "familyname": LAST_NAME,
    "lname": LAST_NAME,
    "email": EMAIL,
    "emailaddress": EMAIL,
    "mail": EMAIL,
    "company": COMPANY,
    "companyname": COMPANY,
    "organization": COMPANY,
    "organisation": COMPANY,
    "org": COMPANY,
    "tags": TAGS,
    "tag": TAGS,
    "labels": TAGS,
}

_NOT_ALNUM = re.compile(r"[\W_]+", re.UNICODE)


def header_key(header: str) -> str:
    """The comparison key of a header: lower case, no BOM, no spaces or punctuation."""
    return _NOT_ALNUM.sub("", header.replace("\ufeff", "").casefold())


def field_for_header(header: str) -> str | None:
    """The known field a header stands for, or None when it is a custom column."""
    return _SYNONYMS.get(header_key(header))


def phone_priority(header: str) -> int:
    """Lower is preferred, among several phone columns."""
    key = header_key(header)
    try:
        return PHONE_SYNONYMS_BY_PRIORITY.index(key)
    except ValueError:
        return len(PHONE_SYNONYMS_BY_PRIORITY)


def parse_target(target: str) -> str | None:
    """Check a mapping target named by a user: a field, ``custom:<key>`` or ``ignore``.

    Returns the canonical target, or None when it names nothing we know. Synonyms are accepted
    (``mobile`` means ``phone``) because people write mappings the way they write headers.
    """
    stripped = target.strip()
    if stripped.casefold() == IGNORE:
        return IGNORE
    if stripped.casefold().startswith(CUSTOM_PREFIX):
        key = stripped[len(CUSTOM_PREFIX) :].strip()
        return f"{CUSTOM_PREFIX}{key}" if key else None
    if stripped in KNOWN_FIELDS:
        return stripped
    return field_for_header(stripped)
