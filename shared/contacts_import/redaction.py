"""Masking personal data in text bound for a log: e-mail addresses and phone numbers.

Logs carry job ids, counts and row numbers by design; contact values reach them only by accident,
inside an exception's message (pydantic quotes the input it refused, a bug may format a value) or a
request path (``/lists/{list_id}/contacts/{phone}``). Those are masked here by pattern. A name
cannot be recognised by pattern, which is why no log call is given row values in the first place.

Pure standard library: the Lambda functions' log formatter and the local stack's request log
both use it.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import unquote

# An address, also in URL-encoded form (the '@' as %40 has been decoded before this runs).
_EMAIL = re.compile(r"[\w.!#$%&'*+/=?^`{|}~-]+@[\w-]+(?:\.[\w-]+)+")
# Seven or more digits, optionally after '+', with up to three separators between digits, as
# phones are written: "(212) 736-5000", "+1 650 253 0000", "415.555.2671", "+14155552671".
# Not when glued to letters, '_', '-' or '.' (job ids like imp_01jd7..., hex ids, the account
# number inside a bucket name or ARN, versions): those are identifiers, not phones.
_PHONE = re.compile(r"(?<![\w+\-.])\+?\(?\d(?:[ \t().\-/]{0,3}\d){6,}(?![\w])")
# pydantic's error text quotes the refused input: "input_value='Jane Doe', input_type=str".
_PYDANTIC_INPUT = re.compile(r"input_value=(?:'(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\"|[^,\]\s]+)")
KEEP_LAST_DIGITS = 2


def _mask_phone(match: re.Match[str]) -> str:
    digits = re.sub(r"\D", "", match.group(0))
    return "***" + digits[-KEEP_LAST_DIGITS:]


def redact_text(text: str) -> str:
    """``text`` with every e-mail address as ``<email>``, every phone-like number as ``***`` and
    its last two digits, and pydantic's quoted inputs as ``input_value=<redacted>``."""
    if "%" in text:
        text = unquote(text)  # %2B14155552671 and jane%40acme.com are still a phone and an address
    text = _PYDANTIC_INPUT.sub("input_value=<redacted>", text)
    text = _EMAIL.sub("<email>", text)
    return _PHONE.sub(_mask_phone, text)


def redact(value: Any) -> Any:
    """A log value with :func:`redact_text` applied to every string in it. Numbers, booleans and
    None stay (counts and row numbers are what logs are for); other objects become their text."""
    if value is None or isinstance(value, bool | int | float):
        return value
    if isinstance(value, str):
        return redact_text(value)
    if isinstance(value, dict):
        return {key: redact(item) for key, item in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [redact(item) for item in value]
    return redact_text(str(value))
