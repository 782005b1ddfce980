"""Contact fields and the header names people's exports use for them.

Matching ignores case, spaces, punctuation and a byte-order mark: ``Phone Number``, ``phone_number``
and ``PHONE-NUMBER`` are one key, ``phonenumber``. Beyond exact synonyms, a header's words decide:
``Business Phone``, ``Phone 1 - Value`` (Google), ``Mobile Phone Number`` (HubSpot) and
``E-mail 2 Address`` (Outlook) are phones and emails; faxes and pagers are not phones.

Several phone (or email) columns may match; the first non-empty one wins, in this priority:
mobile and cell first (a contacts list is for calling and texting), then primary or main, then a
plain phone, then business, then home, then other kinds; columns of equal rank in file order.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from contacts_import.compatible_names import FIELD_NAMES

PHONE = "phone"
NAME = "name"
FIRST_NAME = "first_name"
LAST_NAME = "last_name"
MIDDLE_NAME = "middle_name"  # not a stored field: it goes into the composed name (and custom_fields)
EMAIL = "email"
COMPANY = "company"
TAGS = "tags"
PHONE_TYPE = "phone_type"  # not a stored field: Google's "Phone N - Type" / "Phone N - Label"

KNOWN_FIELDS: tuple[str, ...] = (PHONE, NAME, FIRST_NAME, LAST_NAME, EMAIL, COMPANY, TAGS)
IGNORE = "ignore"
CUSTOM_PREFIX = "custom:"

_EXACT: dict[str, str] = {
    **dict.fromkeys(
        [
            "phone",
            "phonenumber",
            "phoneno",
            "number",
            "tel",
            "telephone",
            "telephonenumber",
            "msisdn",
            "mobile",
            "mobilenumber",
            "mobilephone",
            "cell",
            "cellphone",
            "cellnumber",
            "contactnumber",
        ],
        PHONE,
    ),
    **dict.fromkeys(["name", "fullname", "contactname", "displayname", "contact", "nombre", "nom"], NAME),
    **dict.fromkeys(["firstname", "givenname", "forename", "fname", "first", "vorname", "prenom"], FIRST_NAME),
    **dict.fromkeys(
        ["lastname", "surname", "familyname", "lname", "last", "nachname", "familienname", "apellido", "apellidos"],
        LAST_NAME,
    ),
    **dict.fromkeys(["middlename", "additionalname", "middle", "middleinitial"], MIDDLE_NAME),
    **dict.fromkeys(["email", "emailaddress", "mail", "emailaddr", "correo", "correoelectronico", "courriel"], EMAIL),
    **dict.fromkeys(
        [
            "company",
            "companyname",
            "organization",
            "organisation",
            "organizationname",
            "organisationname",
            "org",
            "accountname",
            "employer",
            "businessname",
            "organization1name",
            "firma",
            "firmenname",
            "empresa",
            "societe",
            "entreprise",
            "azienda",
            "bedrijf",
        ],
        COMPANY,
    ),
    **dict.fromkeys(["tags", "tag", "labels", "groupmembership", "groups", "categories"], TAGS),
}

_NOT_ALNUM = re.compile(r"[\W_]+", re.UNICODE)
_CAMEL = re.compile(r"(?<=[a-z])(?=[A-Z])")
_WORD = re.compile(r"[^\W\d_]+", re.UNICODE)  # runs of letters: "Phone1" and "phone_1" give "phone"
# Words that name a phone, in the languages of the exports we see (English, German, French, Spanish,
# Portuguese, Italian, Dutch), accents folded.
_PHONE_WORDS = {
    "phone",
    "phones",
    "phonenumber",
    "telephone",
    "tel",
    "msisdn",
    "callback",
    "telefon",
    "telefono",
    "telephon",
    "telefone",
    "telefoon",
    "rufnummer",
    "telefonnummer",
}
# Words that make a header something other than the value it names.
_NOT_A_PHONE = {"fax", "pager", "tty", "tdd", "isdn", "telex", "type", "label", "ext", "extension", "country"}
_NOT_AN_EMAIL = {"display", "type", "label", "opt", "optin", "status", "consent", "subscribed", "format", "domain"}
_MOBILE = {
    "mobile",
    "cell",
    "cellular",
    "cellphone",
    "mobilephone",
    "handy",
    "sms",
    "whatsapp",
    "mobil",
    "mobiltelefon",
    "portable",
    "movil",
    "celular",
    "cellulare",
    "telemovel",
    "gsm",
}
_BUSINESS = {"business", "work", "company", "office", "corporate", "geschaftlich", "buro", "travail", "trabajo"}
_PRIMARY = {"primary", "main", "default", "preferred"}
_HOME = {"home", "private", "personal", "residence", "privat", "domicile", "casa"}
_OTHER = {"other", "car", "radio", "callback", "assistant", "alternate", "alt", "secondary"}

PRIORITY_MOBILE, PRIORITY_PRIMARY, PRIORITY_PLAIN, PRIORITY_BUSINESS, PRIORITY_HOME, PRIORITY_OTHER = range(6)


@dataclass(frozen=True)
class HeaderMatch:
    """What a header stands for: a field, its rank among columns of the same field (lower first),
    and for Google's numbered columns the number that pairs "Phone 1 - Value" with its type."""

    field: str
    priority: int = PRIORITY_PLAIN
    group: str | None = None


def _folded(text: str) -> str:
    """Lower case without accents or a BOM: "Téléphone" and "TELEPHONE" compare equal."""
    decomposed = unicodedata.normalize("NFKD", text.replace("\ufeff", "").casefold())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def header_key(header: str) -> str:
    """The comparison key of a header: lower case, no BOM or accents, no spaces or punctuation."""
    return _NOT_ALNUM.sub("", _folded(header))


# The field names of the import APIs we stand in for ("business" is the company), from their one table.
_EXACT.update({header_key(name): field for name, field in FIELD_NAMES.items()})


def classify_header(header: str) -> HeaderMatch | None:
    """The field a header stands for, or None when it is a custom column."""
    key = header_key(header)
    if not key:
        return None
    spaced = _CAMEL.sub(" ", header)  # "HomePhone" reads as "Home Phone"
    words = set(_WORD.findall(_folded(spaced).replace("e-mail", "email")))
    exact = _EXACT.get(key)
    if exact == PHONE:
        return HeaderMatch(PHONE, _phone_priority(words))
    if exact == EMAIL:
        return HeaderMatch(EMAIL)
    if exact:
        return HeaderMatch(exact)
    numbered = re.fullmatch(r"(phone|email)(\d+)(value|type|label)", key)  # Google: "Phone 1 - Value"
    if numbered:
        kind, number, part = numbered.groups()
        if part == "value":
            return HeaderMatch(PHONE if kind == "phone" else EMAIL, PRIORITY_PLAIN, f"{kind}{number}")
        return HeaderMatch(PHONE_TYPE, group=f"{kind}{number}") if kind == "phone" else None
    if _is_phone(key, words):
        return HeaderMatch(PHONE, _phone_priority(words))
    if "email" in key and not words & _NOT_AN_EMAIL and not key.endswith("name"):
        return HeaderMatch(EMAIL)
    return None


def _is_phone(key: str, words: set[str]) -> bool:
    # Whole words only: "Phonetic First Name" (Google) is no phone.
    if words & _NOT_A_PHONE:
        return False
    return bool(
        words & _PHONE_WORDS
        or any(word.endswith("phone") for word in words)  # "HomePhone", "workphone"
        or words & _MOBILE
        or (words & {"number", "no", "nummer", "numero"} and words & (_BUSINESS | _HOME | {"contact"}))
    )


def _phone_priority(words: set[str]) -> int:
    if words & _MOBILE:
        return PRIORITY_MOBILE
    if words & _BUSINESS:
        return PRIORITY_BUSINESS
    if words & _PRIMARY:
        return PRIORITY_PRIMARY
    if words & _HOME:
        return PRIORITY_HOME
    if words & _OTHER:
        return PRIORITY_OTHER
    return PRIORITY_PLAIN


def is_mobile_type(value: str) -> bool:
    """Google's "Phone N - Type" value says mobile ("Mobile", "* Mobile", "Cell")."""
    return bool(set(_WORD.findall(value.casefold())) & _MOBILE)


def field_for_header(header: str) -> str | None:
    match = classify_header(header)
    return match.field if match and match.field in KNOWN_FIELDS else None


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


def matches_exactly(header: str) -> bool:
    """Whether a header is one of a field's own names or synonyms ("Mobile", "E-mail Address"),
    rather than matched by its words ("Cell phone of the manager"): the preview's confidence."""
    return header_key(header) in _EXACT
