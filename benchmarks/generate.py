"""A seeded generator of realistic contact files for the benchmark, in two corpora.

- ``crm``: mixed national and international phone formats, invalid numbers, bad emails, duplicates,
  quoted line breaks and non-ASCII names (ASCII e-mail addresses), in the proportions an export
  from a real CRM shows;
- ``international``: names *and e-mail local parts* with non-ASCII letters (``zoë.müller@...``,
  which only email-validator decides: the slow path), 35% numbers already in ``+1`` form, the rest
  US, UK, German and French numbers as people format them, and 5% junk.

The same corpus, seed and row count always give the same bytes.
"""

from __future__ import annotations

import csv
import io
import random
from pathlib import Path

FIRST = [
    "Jane",
    "John",
    "Zoë",
    "René",
    "Søren",
    "Łukasz",
    "Ana",
    "Mohammed",
    "Wei",
    "Olga",
    "Chloé",
    "Kenji",
    "Priya",
    "Jürgen",
    "Siobhán",
    "Mateo",
    "Aiko",
    "Noah",
    "Fatima",
    "Émile",
]
LAST = [
    "Doe",
    "Smith",
    "Müller",
    "O'Neil",
    "García",
    "Kowalski",
    "Nguyen",
    "Ivanova",
    "Rossi",
    "Dubois",
    "Tanaka",
    "Patel",
    "Schmidt",
    "Brown",
    "Nakamura",
    "Silva",
    "Kim",
    "Haddad",
    "Larsen",
    "Novák",
]
COMPANIES = ["Acme", "Widget Co", "Bäckerei Süß", "Globex, Inc.", "Initech", "Umbrella", "Hooli", ""]
# (weight, area codes or country, format) for valid numbers
US_AREAS = ["212", "646", "415", "650", "617", "312", "713", "305", "206", "202"]
HEADER = ["Phone", "First Name", "Last Name", "Email", "Company", "Notes"]


def _us_number(rng: random.Random) -> tuple[str, str, str]:
    area, exchange, line = rng.choice(US_AREAS), str(rng.randint(201, 989)), f"{rng.randint(0, 9999):04d}"
    return area, exchange, line


def phone(rng: random.Random) -> str:
    kind = rng.random()
    area, exchange, line = _us_number(rng)
    if kind < 0.25:
        return f"+1{area}{exchange}{line}"  # E.164 already
    if kind < 0.45:
        return f"({area}) {exchange}-{line}"
    if kind < 0.55:
        return f"{area}.{exchange}.{line}"
    if kind < 0.65:
        return f"{area}{exchange}{line}"  # plain national digits
    if kind < 0.72:
        return f"+1 {area} {exchange} {line}"
    if kind < 0.78:
        return rng.choice(["+44 20 7946 ", "+49 30 901820", "+33 1 42 68 53 ", "+81 3-1234-"]) + str(
            rng.randint(1000, 9999)
        )
    if kind < 0.82:
        return f"1-{area}-{exchange}-{line}"
    if kind < 0.86:
        return f"{area}-{exchange}-{line} x{rng.randint(1, 999)}"
    if kind < 0.93:
        return rng.choice(
            [
                "12345",
                "555-1234",
                "+1 555 123 4567",
                "not a phone",
                "0000000000",
                "1.41555E+10",
                f"+999 {rng.randint(100000, 999999)}",
            ]
        )  # invalid
    return ""  # missing


def email(rng: random.Random, first: str, last: str, n: int) -> str:
    kind = rng.random()
    local = f"{first}.{last}{n}".lower().replace("'", "")
    ascii_local = local.encode("ascii", "ignore").decode() or f"user{n}"
    if kind < 0.70:
        return f"{ascii_local}@example.com"
    if kind < 0.80:
        return ""
    if kind < 0.85:
        return f"{first} {last} <{ascii_local}@example.org>"
    if kind < 0.90:
        return rng.choice(
            [f"{ascii_local}@", f"{ascii_local}example.com", f"{ascii_local}@exa mple.com", f"@{ascii_local}.com"]
        )  # invalid
    return f"{ascii_local}+tag@Mail.Example.CO.UK"


def international_phone(rng: random.Random) -> str:
    kind = rng.random()
    area, exchange, line = _us_number(rng)
    if kind < 0.35:
        return f"+1{area}{exchange}{line}"
    if kind < 0.55:
        return rng.choice([f"({area}) {exchange}-{line}", f"{area}-{exchange}-{line}", f"{area}.{exchange}.{line}"])
    if kind < 0.68:
        uk, digits = rng.choice([("+44 20 7946 ", 4), ("+44 161 496 ", 4), ("+44 7911 123", 3)])
        return uk + str(rng.randint(0, 10**digits - 1)).zfill(digits)
    if kind < 0.81:
        return rng.choice(["+49 30 901820", "+49 89 123456", "+49 40 4223"]) + f"{rng.randint(0, 99):02d}"
    if kind < 0.95:
        return f"+33 1 42 68 {rng.randint(10, 99)} {rng.randint(10, 99)}"
    return rng.choice(["12345", "n/a", "+1 555 123 4567", "0000000000", "call me", f"+999 {rng.randint(1, 99999)}"])


def international_email(rng: random.Random, first: str, last: str, n: int) -> str:
    """Local parts keep their letters as the name has them (``zoë.müller12``): valid addresses that
    the ASCII fast path hands to email-validator."""
    kind = rng.random()
    local = f"{first}.{last}{n}".lower().replace("'", "")
    if kind < 0.80:
        return f"{local}@{rng.choice(['example.com', 'example.de', 'example.fr', 'example.co.uk'])}"
    if kind < 0.90:
        return ""
    if kind < 0.95:
        return f"{first} {last} <{local}@example.org>"
    return rng.choice([f"{local}@", f"{local}example.com", f"@{local}.com"])  # invalid


CORPORA = ("crm", "international")


def rows(count: int, seed: int = 2026, corpus: str = "crm"):
    if corpus not in CORPORA:
        raise ValueError(f"unknown corpus {corpus!r}; one of {CORPORA}")
    rng = random.Random(seed)
    make_phone, make_email = (phone, email) if corpus == "crm" else (international_phone, international_email)
    earlier: list[str] = []
    for n in range(count):
        first, last = rng.choice(FIRST), rng.choice(LAST)
        number = rng.choice(earlier) if earlier and rng.random() < 0.03 else make_phone(rng)  # duplicates
        if len(earlier) < 5000:
            earlier.append(number)
        notes = "Met at the fair\nCall after 5pm" if rng.random() < 0.02 else ""  # quoted line breaks
        yield [number, first, last, make_email(rng, first, last, n), rng.choice(COMPANIES), notes]


def write_file(path: Path, count: int, seed: int = 2026, corpus: str = "crm") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.exists() and path.stat().st_size > 0 and path.with_suffix(".done").exists():
        return path
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\r\n")
        writer.writerow(HEADER)
        buffer = []
        for row in rows(count, seed, corpus):
            buffer.append(row)
            if len(buffer) >= 10000:
                writer.writerows(buffer)
                buffer.clear()
        writer.writerows(buffer)
    path.with_suffix(".done").touch()
    return path


def sample(count: int, seed: int = 2026, corpus: str = "crm") -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(HEADER)
    writer.writerows(rows(count, seed, corpus))
    return buffer.getvalue().encode("utf-8")
