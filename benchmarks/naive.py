"""The importer a user writes first, the yardstick of `make bench`: csv.DictReader, a pydantic model per
row with EmailStr and a phonenumbers validator. The yardstick for `contacts-import validate`."""

from __future__ import annotations

import csv
from pathlib import Path

import phonenumbers
from pydantic import BaseModel, EmailStr, ValidationError, field_validator


class NaiveContact(BaseModel):
    phone: str
    first_name: str | None = None
    last_name: str | None = None
    email: EmailStr | None = None
    company: str | None = None

    @field_validator("phone")
    @classmethod
    def _phone(cls, value: str) -> str:
        try:
            number = phonenumbers.parse(value, "US")
        except phonenumbers.NumberParseException as error:
            raise ValueError(str(error)) from error
        if not phonenumbers.is_valid_number(number):
            raise ValueError("invalid phone")
        return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)

    @field_validator("email", mode="before")
    @classmethod
    def _empty_email(cls, value: str | None) -> str | None:
        return value or None


def naive_import(path: Path) -> tuple[int, int, set[str]]:
    """(valid rows, invalid rows, the E.164 phones of valid rows)."""
    valid, invalid, phones = 0, 0, set()
    with path.open(encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            try:
                contact = NaiveContact(
                    phone=row["Phone"],
                    first_name=row["First Name"] or None,
                    last_name=row["Last Name"] or None,
                    email=row["Email"],
                    company=row["Company"] or None,
                )
            except ValidationError:
                invalid += 1
                continue
            valid += 1
            phones.add(contact.phone)
    return valid, invalid, phones
