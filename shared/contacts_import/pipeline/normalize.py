"""From a record's fields to a contact draft, or to the one row error that refuses it.

Phones become E.164 with ``phonenumbers`` against the job's region; ``strict`` validation asks
``is_valid_number``, ``possible`` only ``is_possible_number`` (test ranges such as 555 pass).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from functools import cached_property

import phonenumbers
from phonenumbers.phonenumberutil import COUNTRY_CODE_TO_REGION_CODE

from contacts_import.models import ImportOptions, RowError
from contacts_import.pipeline.fields import is_mobile_type
from contacts_import.pipeline.mapping import ColumnPlan
from contacts_import.pipeline.reading import MAX_RECORD_CHARS

# Every value must fit in a DynamoDB item with room to spare, and a spreadsheet cell holds 32,767.
MAX_FIELD_CHARS = 32 * 1024
MAX_ROW_CHARS = MAX_RECORD_CHARS  # the reader cuts a longer record first; its fields are measured here
# DynamoDB refuses an item over 400 KB (attribute names and UTF-8 values), and a refused contact
# would fail its whole task, not just its row: a row whose contact would come near that is a row
# error. Only long rows (or very long custom headers) can get there; those contacts are measured.
MAX_CONTACT_BYTES = 350 * 1024
# Characters people and spreadsheets leave around values: spaces, non-breaking and zero-width ones.
_TRIM = " \t\r\n\u00a0\u200b\ufeff"
_TAG_SPLIT = re.compile(r"\s*(?:[,;|]|:::)\s*")
_NOT_DIGIT = re.compile(r"\D+")
_DIGITS_AND_PUNCTUATION = re.compile(r"[\d\s().+\-/]+")
_EXTENSION = re.compile(r"(\S.*\d) x(\d{1,6})")
_SCIENTIFIC = re.compile(r"[+-]?\d+(?:[.,]\d+)?[eE][+]?\d+")


@dataclass(slots=True)
class ContactDraft:
    row: int
    phone: str
    phone_extension: str | None = None
    name: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    email: str | None = None
    company: str | None = None
    tags: tuple[str, ...] = ()
    custom_fields: dict[str, str] = field(default_factory=dict)


def clean(value: str) -> str:
    return value.strip(_TRIM)


def is_blank_record(fields: list[str]) -> bool:
    """Excel leaves lines of only delimiters at the end of a sheet: such a record is no row."""
    # Every field is trimmable characters only exactly when all of them together are.
    return not "".join(fields).strip(_TRIM)


class PhoneNormalizer:
    def __init__(self, default_region: str, validation: str, *, fast_path: bool = True) -> None:
        self._region = default_region
        self._strict = validation == "strict"
        # North American numbers (most of what we see) written with digits and punctuation only skip
        # the general parser; tests prove the two paths equal.
        self._nanp_region = phonenumbers.country_code_for_region(default_region) == 1
        self._fast_path = fast_path

    def normalize(self, raw: str) -> tuple[str, str | None] | str:
        """(E.164, extension) for a good number, else the message of the row error."""
        if self._fast_path:
            fast: tuple[str, str | None] | str | None = self._nanp_fast(raw)
            if fast is None and " x" in raw:
                fast = self._extension_fast(raw)
            if fast is not None:
                return fast
        text = raw
        if text.startswith("'"):
            text = text[1:]  # a spreadsheet's "keep as text" apostrophe
        if text[:4].lower() == "tel:":
            text = text[4:]
        if _SCIENTIFIC.fullmatch(text):
            return (
                f"{raw!r} looks like a number a spreadsheet turned into scientific notation; "
                "its digits are lost: format the column as text and export again"
            )
        try:
            number = phonenumbers.parse(text, self._region)
        except phonenumbers.NumberParseException as error:
            return f"{raw!r} is not a phone number ({_parse_reason(error)})"
        if not self._acceptable(number):
            international = self._as_international(text)
            if international is None:
                kind = "valid" if self._strict else "possible"
                return f"{raw!r} is not a {kind} phone number for region {self._region} or its country code"
            number = international
        e164 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
        return e164, number.extension or None

    def _nanp_fast(self, raw: str) -> tuple[str, None] | str | None:
        """A North American number written as digits and punctuation, decided without the general
        parser: (E.164, None), or the error message the full path would give; None when the number
        is not of that shape (the full path then decides)."""
        if not _DIGITS_AND_PUNCTUATION.fullmatch(raw):
            return None
        plus = raw.count("+")
        if plus > 1 or (plus == 1 and not raw.lstrip().startswith("+")):
            return None
        digits = _NOT_DIGIT.sub("", raw)
        if plus and digits[:1] != "1":
            return self._international_fast(raw, digits)
        if (
            not plus
            and self._strict
            and self._nanp_region
            and 3 <= len(digits) <= 10
            and digits[0] != "0"
            and not _NANP_NUMBERS.may_be_valid(digits)
            and not (digits[0] == "1" and _NANP_NUMBERS.may_be_valid(digits[1:]))
        ):
            # No +1 region's general pattern takes the digits, nor the digits after a national
            # prefix 1 (a local number without its area code, say): invalid, and too short to be
            # taken as international. A leading 0 may be the international prefix 011: full path.
            return f"{raw!r} is not a valid phone number for region {self._region} or its country code"
        if len(digits) == 11 and digits[0] == "1":
            national = digits[1:]
        elif len(digits) == 10 and not plus and self._nanp_region:
            national = digits
        else:
            return None
        if (plus == 0 and not self._nanp_region) or national[0] in "01":
            return None
        # The US is first among +1's regions and has no leading-digit rule: a number valid for it
        # is valid (is_valid_number would find the US first). Others are checked against every +1
        # region in is_valid_number's order, with the patterns compiled once.
        if self._strict:
            if not _US_NUMBERS.valid(national) and not _NANP_NUMBERS.valid(national):
                return f"{raw!r} is not a valid phone number for region {self._region} or its country code"
        elif not phonenumbers.is_possible_number(
            phonenumbers.PhoneNumber(country_code=1, national_number=int(national))
        ):
            return None
        return "+1" + national, None

    def _extension_fast(self, raw: str) -> tuple[str, str] | None:
        """A number the fast path takes as valid followed by " x" and a few digits (212-860-8028 x137):
        the number, with the digits as its extension, as phonenumbers reads it."""
        match = _EXTENSION.fullmatch(raw)
        if match is None:
            return None
        number = self._nanp_fast(match[1])
        return (number[0], match[2]) if isinstance(number, tuple) else None

    def _international_fast(self, raw: str, digits: str) -> tuple[str, None] | None:
        """ "+<country code> <number>" valid for that country's main region. phonenumbers'
        is_valid_number looks at the main region first, so such a number is valid; anything else
        (another region of the code, a national prefix written after the code) takes the full path."""
        if not self._strict or digits[:1] == "0":
            return None  # calling codes never start with 0: phonenumbers refuses such a number
        for length in (1, 2, 3):
            code = int(digits[:length]) if len(digits) > length else 0
            if code in _COUNTRY_PATTERNS:
                national = digits[length:]
                patterns = _COUNTRY_PATTERNS[code]
                if patterns is not None and national[:1] != "0" and patterns.valid(national):
                    return f"+{digits}", None
                return None
        return None

    def _acceptable(self, number: phonenumbers.PhoneNumber) -> bool:
        return phonenumbers.is_valid_number(number) if self._strict else phonenumbers.is_possible_number(number)

    def _as_international(self, text: str) -> phonenumbers.PhoneNumber | None:
        """Excel drops the "+" of a number it stores as a number (4915123456789): digits that are no
        number of the default region, but a valid one with a "+", are taken as international."""
        digits = _NOT_DIGIT.sub("", text)
        if not (11 <= len(digits) <= 15) or digits.startswith("0") or text.lstrip().startswith(("+", "0")):
            return None
        try:
            number = phonenumbers.parse("+" + digits, None)
        except phonenumbers.NumberParseException:
            return None
        return number if phonenumbers.is_valid_number(number) else None


class _RegionPatterns:
    """A region's validity rule from phonenumbers' own metadata, compiled once: the general
    description, then any number type whose possible lengths and pattern match (what phonenumbers'
    _number_type_helper decides, without its per-call pattern lookups). Validity asks only whether
    some type matches, so the types that allow a length are joined into one pattern for it."""

    _TYPES = (
        "fixed_line",
        "mobile",
        "toll_free",
        "premium_rate",
        "shared_cost",
        "voip",
        "personal_number",
        "pager",
        "uan",
        "voicemail",
    )

    def __init__(self, region: str) -> None:
        metadata = phonenumbers.PhoneMetadata.metadata_for_region(region)
        general = metadata.general_desc if metadata is not None else None
        if general is None or not general.national_number_pattern:
            raise ValueError(f"phonenumbers has no number rule for region {region!r}")
        self._general = re.compile(general.national_number_pattern)
        self._general_lengths = frozenset(general.possible_length or ())
        typed: list[tuple[frozenset[int], str]] = []
        for name in self._TYPES:
            desc = getattr(metadata, name)
            if desc is not None and desc.national_number_pattern:
                typed.append((frozenset(desc.possible_length or ()), desc.national_number_pattern))
        # A type without possible lengths allows any length the general description allows.
        lengths = {length for allowed, _ in typed for length in allowed}
        self._by_length: dict[int, re.Pattern[str]] = {
            length: _any_of([pattern for allowed, pattern in typed if not allowed or length in allowed])
            for length in lengths
        }
        lengthless = [pattern for allowed, pattern in typed if not allowed]
        self._other_lengths = _any_of(lengthless) if lengthless else None

    def general_fullmatch(self, national: str) -> bool:
        length = len(national)
        return (not self._general_lengths or length in self._general_lengths) and bool(
            self._general.fullmatch(national)
        )

    def valid(self, national: str) -> bool:
        if not self.general_fullmatch(national):
            return False
        types = self._by_length.get(len(national), self._other_lengths)
        return types is not None and types.fullmatch(national) is not None


def _any_of(patterns: list[str]) -> re.Pattern[str]:
    # fullmatch of an alternation is a full match of one of its branches.
    return re.compile("|".join(f"(?:{pattern})" for pattern in patterns))


class _SharedCodeRegions:
    """is_valid_number for a calling code shared by several regions (+1): the number's region is the
    first, in phonenumbers' order, whose leading digits start it or, for a region without leading
    digits, whose rule it satisfies; the number is valid when its region's rule holds."""

    def __init__(self, code: int) -> None:
        self._code = code

    @cached_property
    def _regions(self) -> list[tuple[re.Pattern[str] | None, _RegionPatterns]]:
        # Compiled on first use, not at import: two dozen regions' patterns are a cold start's cost.
        regions = []
        for region in COUNTRY_CODE_TO_REGION_CODE[self._code]:
            metadata = phonenumbers.PhoneMetadata.metadata_for_region(region)
            if metadata is not None:
                leading = re.compile(metadata.leading_digits) if metadata.leading_digits is not None else None
                regions.append((leading, _RegionPatterns(region)))
        return regions

    def may_be_valid(self, national: str) -> bool:
        """False when no region's general description takes the number (is_valid_number asks it first)."""
        return any(patterns.general_fullmatch(national) for _, patterns in self._regions)

    def valid(self, national: str) -> bool:
        for leading, patterns in self._regions:
            if leading is not None:
                if leading.match(national):
                    return patterns.valid(national)
            elif patterns.valid(national):
                return True
        return False


_US_NUMBERS = _RegionPatterns("US")
_NANP_NUMBERS = _SharedCodeRegions(1)


class _CountryPatterns(dict[int, "_RegionPatterns | None"]):
    """The main region's patterns for each country calling code, compiled on first use; None where
    the main region has a leading-digits rule (another region may then be the number's)."""

    def __missing__(self, code: int) -> _RegionPatterns | None:
        regions = COUNTRY_CODE_TO_REGION_CODE.get(code)
        if not regions or regions[0] == "001":
            raise KeyError(code)
        metadata = phonenumbers.PhoneMetadata.metadata_for_region(regions[0])
        patterns = None if metadata is None or metadata.leading_digits is not None else _RegionPatterns(regions[0])
        self[code] = patterns
        return patterns

    def __contains__(self, code: object) -> bool:
        return code in COUNTRY_CODE_TO_REGION_CODE and COUNTRY_CODE_TO_REGION_CODE[code][0] != "001"  # type: ignore[index]


_COUNTRY_PATTERNS = _CountryPatterns()


def _parse_reason(error: phonenumbers.NumberParseException) -> str:
    reasons = {
        phonenumbers.NumberParseException.INVALID_COUNTRY_CODE: "unknown country code",
        phonenumbers.NumberParseException.NOT_A_NUMBER: "not a number",
        phonenumbers.NumberParseException.TOO_SHORT_AFTER_IDD: "too short",
        phonenumbers.NumberParseException.TOO_SHORT_NSN: "too short",
        phonenumbers.NumberParseException.TOO_LONG: "too long",
    }
    return reasons.get(error.error_type, "unparseable")


# An everyday ASCII address that email-validator certainly accepts: dot-atoms, a domain of LDH
# labels ending in a TLD that starts and ends with a letter. Anything else (quoted local parts,
# IDN, punycode, special-use domains, edge lengths) goes to email-validator itself; tests prove
# the two agree.
_PLAIN_ADDRESS = re.compile(
    r"(?P<local>[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*)"
    r"@(?P<domain>(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z](?:[A-Za-z0-9-]{0,61}[A-Za-z])?)"
)
_SPECIAL_USE_DOMAINS = ("arpa", "invalid", "local", "localhost", "onion", "test")


def _plain_ascii_address(text: str) -> str | None:
    match = _PLAIN_ADDRESS.fullmatch(text)
    if match is None or len(text) > 254 or len(match["local"]) > 64:
        return None
    domain = match["domain"].lower()
    if "--" in domain or domain.rsplit(".", 1)[-1] in _SPECIAL_USE_DOMAINS or len(domain) > 253:
        return None
    return f"{match['local']}@{domain}"


def _international_local_address(text: str) -> str | None:
    """An address whose local part has letters beyond ASCII (``zoë.müller@example.com``) at a
    domain the ASCII path takes: the local part decided by email-validator's own rule for local
    parts (RFC 6531 dot-atoms, its Unicode safety checks), the domain as the ASCII path decides it.
    Skipped is only its domain check, which costs most of its time (a per-character IDNA test) and
    says nothing new for a plain ASCII domain. None when any part needs the whole of email-validator
    (not NFC-normalized, quoted, too long, a domain of another shape...); tests prove the two agree."""
    local, at, domain = text.rpartition("@")
    if not at or local.isascii() or "@" in local or len(local) > 64 or len(text.encode("utf-8")) > 254:
        return None
    plain_domain = _plain_ascii_address("x@" + domain)
    if plain_domain is None or unicodedata.normalize("NFC", local) != local:
        return None
    from email_validator import EmailNotValidError
    from email_validator.syntax import validate_email_local_part

    try:
        checked = validate_email_local_part(local, allow_smtputf8=True)
    except EmailNotValidError:
        return None
    return f"{checked['local_part']}{plain_domain[1:]}"


def normalize_email(raw: str) -> str | None:
    """The address, or None when it is not a syntactically valid one."""
    text = raw
    if text.endswith(">") and "<" in text:
        text = text[text.rindex("<") + 1 : -1].strip()  # "Jane Doe <jane@a.com>"
    if text[:7].lower() == "mailto:":
        text = text[7:]
    fast = _plain_ascii_address(text) if text.isascii() else _international_local_address(text)
    if fast is not None:
        return fast
    # Imported here: most addresses never need it, and every cold start would pay for it.
    from email_validator import EmailNotValidError, validate_email

    try:
        return validate_email(text, check_deliverability=False).normalized
    except EmailNotValidError:
        return None


class RowNormalizer:
    """Turns one record into a ContactDraft or a RowError, following a ColumnPlan.

    This runs once per row and is most of a row's cost after the phone check: the plan's columns
    are resolved to indices once, and a short record is padded once rather than every lookup
    checking its length."""

    def __init__(self, plan: ColumnPlan, options: ImportOptions) -> None:
        self._plan = plan
        self._width = plan.width
        self._phones = PhoneNormalizer(options.default_region, options.phone_validation)
        self._option_tags = options.tags
        columns = plan.field_columns
        self._first_name = columns.get("first_name")
        self._last_name = columns.get("last_name")
        self._middle_name = columns.get("middle_name")
        self._name = columns.get("name")
        self._company = columns.get("company")
        self._tags = columns.get("tags")
        self._custom = plan.custom_columns
        # The custom fields' names go in every contact; with at most 4 bytes a character and the
        # first and last names twice (in `name`), a row of fewer characters than this cannot make
        # a contact over MAX_CONTACT_BYTES.
        key_bytes = sum(len(key.encode()) + 16 for _, key in plan.custom_columns)
        self._measured_from_chars = (MAX_CONTACT_BYTES - 16 * 1024 - key_bytes) // 8

    def _phone_order(self, fields: list[str]) -> tuple[int, ...]:
        """Phone columns in this row's order: a Google column whose type says mobile goes first."""
        order = self._plan.phone_columns
        types = self._plan.phone_type_columns
        if not types:
            return order
        mobile = [i for i in order if i in types and is_mobile_type(fields[types[i]])]
        return (*mobile, *(i for i in order if i not in mobile))

    def normalize(self, row: int, fields: list[str]) -> ContactDraft | RowError:
        plan = self._plan
        width = self._width
        if len(fields) > width:
            extra = [value for value in fields[width:] if clean(value)]
            if extra:
                return RowError(
                    row=row,
                    code="too_many_fields",
                    message=f"The row has {len(fields)} fields; the header has {width}.",
                    value=_excerpt(extra[0]),
                )
        elif len(fields) < width:
            fields = fields + [""] * (width - len(fields))
        # A row within the field limit is within the row limit too: one sum decides most rows.
        characters = sum(map(len, fields))
        if characters > MAX_FIELD_CHARS:
            refusal = _too_long(row, fields, plan)
            if refusal is not None:
                return refusal

        phone_raw, phone_column = _first_value(self._phone_order(fields), fields)
        if not phone_raw:
            return RowError(
                row=row,
                code="missing_phone",
                message="The row has no phone number.",
                column=plan.column_name(phone_column),
                value="",
            )
        phone = self._phones.normalize(phone_raw)
        if isinstance(phone, str):
            return RowError(
                row=row, code="invalid_phone", message=phone, column=plan.column_name(phone_column), value=phone_raw
            )

        email = None
        if plan.email_columns:
            email_raw, email_column = _first_value(plan.email_columns, fields)
            if email_raw:
                email = normalize_email(email_raw)
                if email is None:
                    return RowError(
                        row=row,
                        code="invalid_email",
                        message=f"{email_raw!r} is not a valid email address.",
                        column=plan.column_name(email_column),
                        value=email_raw,
                    )

        first_name = fields[self._first_name].strip(_TRIM) or None if self._first_name is not None else None
        last_name = fields[self._last_name].strip(_TRIM) or None if self._last_name is not None else None
        name = fields[self._name].strip(_TRIM) or None if self._name is not None else None
        if name is None and (first_name or last_name):
            middle_name = fields[self._middle_name].strip(_TRIM) if self._middle_name is not None else ""
            name = " ".join([part for part in (first_name, middle_name, last_name) if part])

        tags = self._option_tags
        if self._tags is not None:
            tags_raw = fields[self._tags].strip(_TRIM)
            if tags_raw:
                tags = tuple(dict.fromkeys([*_split_tags(tags_raw), *tags]))

        custom: dict[str, str] = {}
        for index, key in self._custom:
            value = fields[index].strip(_TRIM)
            if value:
                custom[key] = value

        draft = ContactDraft(
            row,
            phone[0],
            phone[1],
            name,
            first_name,
            last_name,
            email,
            fields[self._company].strip(_TRIM) or None if self._company is not None else None,
            tags,
            custom,
        )
        if characters > self._measured_from_chars:
            size = contact_bytes(draft)
            if size > MAX_CONTACT_BYTES:
                return RowError(
                    row=row,
                    code="row_too_long",
                    message=f"The contact would take {size} bytes; a stored contact holds at most {MAX_CONTACT_BYTES}.",
                )
        return draft


def contact_bytes(draft: ContactDraft) -> int:
    """About what the contact's item takes in DynamoDB, never less: its values and custom field
    names in UTF-8, and room for the fixed attributes (names, list, job ids, times)."""
    values = [draft.phone, draft.phone_extension, draft.name, draft.first_name, draft.last_name, draft.email]
    values += [draft.company, *draft.tags, *draft.custom_fields.keys(), *draft.custom_fields.values()]
    return 512 + sum(len(value.encode()) + 8 for value in values if value)


def _too_long(row: int, fields: list[str], plan: ColumnPlan) -> RowError | None:
    """The refusal of a row with a field or the whole row over its limit; None when neither is."""
    lengths = list(map(len, fields))
    if sum(lengths) > MAX_ROW_CHARS:
        return RowError(row=row, code="row_too_long", message=f"The row is over {MAX_ROW_CHARS} characters.")
    for index, length in enumerate(lengths):
        if length > MAX_FIELD_CHARS:
            return RowError(
                row=row,
                code="field_too_long",
                message=f"The value is over {MAX_FIELD_CHARS} characters.",
                column=plan.column_name(index),
                value=_excerpt(fields[index]),
            )
    return None


def _first_value(columns: tuple[int, ...], fields: list[str]) -> tuple[str, int]:
    """The first non-empty value among the columns, and its column. Google joins several values in
    one cell with " ::: "; the first is taken."""
    for index in columns:
        value = fields[index].strip(_TRIM)
        if value:
            if " ::: " in value:
                value = clean(value.split(" ::: ")[0])
            return value, index
    return "", columns[0]


def _split_tags(raw: str) -> list[str]:
    # Google's "Group Membership" reads "* myContacts ::: Friends" (the star marks a system group);
    # Mailchimp's TAGS reads "vip","newsletter".
    tags = (tag.lstrip("* ").strip().strip("\"'").strip() for tag in _TAG_SPLIT.split(raw))
    return [tag for tag in tags if tag]


def _excerpt(value: str, limit: int = 200) -> str:
    return value if len(value) <= limit else value[:limit] + "…"
