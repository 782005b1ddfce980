"""The set of phones seen in a file, compact: E.164 numbers as 64-bit integers in an
open-addressing table. At most 16 bytes a phone (half the slots stay free), where a Python set of
strings costs about 90: a million-row file's duplicate detection fits in 16 MiB."""

from __future__ import annotations

from array import array
from collections.abc import Iterator

_GOLDEN = 0x9E3779B97F4A7C15  # Fibonacci hashing spreads consecutive numbers over the table
_MASK64 = (1 << 64) - 1


class PhoneSet:
    def __init__(self, capacity: int = 1 << 14) -> None:
        size = 1
        while size < capacity:
            size <<= 1
        self._slots = array("Q", bytes(8 * size))
        self._mask = size - 1
        self._shift = 64 - size.bit_length() + 1
        self._count = 0

    @staticmethod
    def _key(phone: str) -> int:
        # E.164 is "+" and at most 15 digits, never starting with 0: the digits are the key, never 0.
        return int(phone[1:])

    def _slot(self, key: int) -> int:
        slots, mask = self._slots, self._mask
        index = ((key * _GOLDEN) & _MASK64) >> self._shift
        while True:
            held = slots[index]
            if held == key or held == 0:
                return index
            index = (index + 1) & mask

    def add(self, phone: str) -> bool:
        """Add a phone; True when it was not there yet."""
        # The probe of _slot, inlined: this runs once per valid row in the reading process.
        key = int(phone[1:])
        slots, mask = self._slots, self._mask
        index = ((key * _GOLDEN) & _MASK64) >> self._shift
        while True:
            held = slots[index]
            if held == key:
                return False
            if held == 0:
                break
            index = (index + 1) & mask
        slots[index] = key
        self._count += 1
        if self._count * 2 > len(slots):
            self._grow()
        return True

    def __contains__(self, phone: object) -> bool:
        if not isinstance(phone, str) or len(phone) < 2 or not phone[1:].isdigit():
            return False
        key = self._key(phone)
        return self._slots[self._slot(key)] == key

    def __len__(self) -> int:
        return self._count

    def __iter__(self) -> Iterator[str]:
        return (f"+{key}" for key in self._slots if key)

    def _grow(self) -> None:
        old = self._slots
        size = len(old) * 2
        self._slots = array("Q", bytes(8 * size))
        self._mask = size - 1
        self._shift = 64 - size.bit_length() + 1
        for key in old:
            if key:
                self._slots[self._slot(key)] = key
