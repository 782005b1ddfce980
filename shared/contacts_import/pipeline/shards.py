"""How a list is spread over DynamoDB partitions: its *shards*.

A DynamoDB partition key takes about 1,000 writes a second, so a list whose contacts shared one
would take hours to fill with millions of them. A list of ``shards`` shards keeps each contact under
the partition key ``<account>#<list>#<shard>``, the shard a stable hash of its E.164 phone, so one
contact is still one GetItem by (list, phone), and an import's writes spread over every shard.

How many shards a list has is decided once, by the first import into it, and kept on the list's
item (see docs/architecture.md). A list made before shards existed has none recorded: its contacts
keep the partition key ``<account>#<list>`` and it is read and written as one shard (``LEGACY``).

Work is cut by *contact key*, the shard (zero-padded, so keys sort as shards then phones) followed
by the phone: the runs of the map phase are sorted by it and the reduce ranges are ranges of it, so
a range of an import covers one shard, part of one, or several whole ones, and the tasks that write
a shard can take that shard's lease (``store.leases``). A legacy list's contact key is the phone
itself, as the work of an import was cut before shards (a job planned then still runs).
"""

from __future__ import annotations

import zlib
from collections.abc import Iterator
from dataclasses import dataclass

# A list made before shards: one partition key, ``<account>#<list>``.
LEGACY = 0
MAX_SHARDS = 1000
_WIDTH = 3  # digits of a shard in a contact key: up to MAX_SHARDS


def shard_of(phone: str, shards: int) -> int:
    """The shard of an E.164 phone in a list of ``shards`` shards (0 for a legacy list). CRC-32 of
    the phone: stable across processes, machines and Python versions, unlike ``hash``."""
    if shards <= 1:
        return 0
    return zlib.crc32(phone.encode("ascii")) % shards


def contact_key(phone: str, shards: int) -> str:
    """What contacts are ordered by while an import is cut up: the shard, then the phone."""
    if shards == LEGACY:
        return phone
    return f"{shard_of(phone, shards):0{_WIDTH}d}{phone}"


def phone_of(key: str) -> str:
    return key if key.startswith("+") else key[_WIDTH:]


def shard_of_key(key: str) -> int:
    return 0 if key.startswith("+") else int(key[:_WIDTH])


def shard_start(shard: int) -> str:
    """The smallest contact key of a shard of a sharded list (below every phone of it, which starts
    with ``+``)."""
    return f"{shard:0{_WIDTH}d}"


def partition_key(account_id: str, list_id: str, shard: int, shards: int) -> str:
    if shards == LEGACY:
        return f"{account_id}#{list_id}"
    return f"{account_id}#{list_id}#{shard:0{_WIDTH}d}"


@dataclass(frozen=True, slots=True)
class ShardSpan:
    """The part of one shard that a range of contact keys covers: phones ``lo <= phone < hi`` of
    shard ``shard`` (None: open-ended)."""

    shard: int
    lo: str | None
    hi: str | None


def shard_spans(lo: str | None, hi: str | None, shards: int) -> Iterator[ShardSpan]:
    """The shards a range of contact keys ``lo <= key < hi`` covers, in order, each with the phones
    of it that the range holds."""
    count = max(shards, 1)
    first = shard_of_key(lo) if lo is not None else 0
    last = shard_of_key(hi) if hi is not None else count - 1
    for shard in range(first, min(last, count - 1) + 1):
        phone_lo = phone_of(lo) or None if lo is not None and shard == first else None
        phone_hi = phone_of(hi) or None if hi is not None and shard == shard_of_key(hi) else None
        if hi is not None and shard == shard_of_key(hi) and phone_hi is None:
            return  # the range ends where this shard starts
        yield ShardSpan(shard, phone_lo, phone_hi)
