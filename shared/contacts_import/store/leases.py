"""One writer job per (list, shard): the leases that keep two imports from writing the same contacts
at once.

A reduce or prune task takes the leases of the shards its range covers (``pipeline.shards``) before
it reads the list, so what it decides from that read is still true when it writes: no other job
writes those shards until this job lets them go. A lease belongs to the job, not the task: the
job's tasks on a shard share it (their phones never overlap), each one that takes it sets its end
to ``hold_seconds`` from then, a running task's heartbeat renews it (``renew``) every few seconds,
and the job lets a shard go once none of its tasks of the phase are left on it, or when it ends. A
task writes only while its hold is sure to last (it stops, ``LeaseLost``, once a renewal failed or
the last one is older than the hold less a margin), so a job that died holding a shard loses it
within ``hold_seconds``, and two live jobs never write one shard at once. A task that finds a shard
held by another job goes back to its queue for a while (``ShardsBusy``).

The leases live on the list's item (Lists table), an attribute per shard: the holder
(``lease_<shard>``), when it runs out (``lease_<shard>_until``, seconds since the epoch), and who has
ever written the shard (``writer_<shard>``: the one job, or ``*`` once a second one has). A shard that
only this job has ever written holds nothing this job did not write, so its reads can be skipped
(``Grant.sole_writer``): an import into a new list pays for no existence reads.

One UpdateItem takes up to ``SHARDS_PER_REQUEST`` shards at once, or none of them (DynamoDB holds an
expression to 4 KB); a range over more takes them in groups, and gives back what it took when a
later group is refused.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

SHARDS_PER_REQUEST = 40
SEVERAL_WRITERS = "*"


def holder_attribute(shard: int) -> str:
    return f"lease_{shard:03d}"


def until_attribute(shard: int) -> str:
    return f"lease_{shard:03d}_until"


def writer_attribute(shard: int) -> str:
    return f"writer_{shard:03d}"


class ShardsBusy(RuntimeError):
    """Raised to have the task tried again later: another job holds a shard it writes."""

    def __init__(self, list_id: str, held: dict[int, str], retry_after_seconds: float) -> None:
        super().__init__(f"shards {sorted(held)} of list {list_id!r} are held by another import")
        self.held = held
        self.retry_after_seconds = retry_after_seconds


class LeaseLost(RuntimeError):
    """A job's hold on a shard could not be renewed (it ran out and another job took it), or may
    have run out: the task stops writing and is retried."""


@dataclass(frozen=True)
class Grant:
    """The shards taken, and those of them that only this job has ever written."""

    shards: frozenset[int]
    sole_writer: frozenset[int]


def _condition_failed(error: ClientError) -> bool:
    return error.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException"


class ShardLeases:
    def __init__(self, resource: Any, lists_table: str) -> None:
        self._table = resource.Table(lists_table)

    def acquire(
        self, account_id: str, list_id: str, job_id: str, shards: Sequence[int], *, now: float, hold_seconds: float
    ) -> Grant:
        """Take every shard in ``shards`` for ``job_id`` (its own, free, or run out), or none:
        ShardsBusy when another job holds one."""
        wanted = sorted(set(shards))
        taken: list[int] = []
        sole: set[int] = set()
        for start in range(0, len(wanted), SHARDS_PER_REQUEST):
            group = wanted[start : start + SHARDS_PER_REQUEST]
            try:
                item = self._take(account_id, list_id, job_id, group, now=now, until=now + hold_seconds)
            except ClientError as error:
                if not _condition_failed(error):
                    raise
                if taken:
                    self.release(account_id, list_id, job_id, taken)
                raise self._busy(account_id, list_id, job_id, group, now) from None
            taken += group
            sole |= self._mark_writers(account_id, list_id, job_id, group, item)
        return Grant(frozenset(taken), frozenset(sole))

    def _take(
        self, account_id: str, list_id: str, job_id: str, group: Sequence[int], *, now: float, until: float
    ) -> dict[str, Any]:
        names: dict[str, str] = {}
        conditions, updates = [], []
        for n, shard in enumerate(group):
            names |= {f"#h{n}": holder_attribute(shard), f"#u{n}": until_attribute(shard)}
            names[f"#w{n}"] = writer_attribute(shard)
            conditions.append(f"(attribute_not_exists(#h{n}) OR #h{n} = :job OR #u{n} < :now)")
            updates.append(f"#h{n} = :job, #u{n} = :until, #w{n} = if_not_exists(#w{n}, :job)")
        answer = self._table.update_item(
            Key={"account_id": account_id, "list_id": list_id},
            UpdateExpression="SET " + ", ".join(updates),
            ConditionExpression=" AND ".join(conditions),
            ExpressionAttributeNames=names,
            ExpressionAttributeValues={":job": job_id, ":now": _number(now), ":until": _number(until)},
            ReturnValues="ALL_NEW",
        )
        return answer.get("Attributes", {})

    def _mark_writers(
        self, account_id: str, list_id: str, job_id: str, group: Sequence[int], item: dict[str, Any]
    ) -> set[int]:
        """The shards of ``group`` that only ``job_id`` has written; those another job wrote before
        are marked as written by several (once a second writer comes, the first one reads too)."""
        shared = [s for s in group if item.get(writer_attribute(s)) not in (job_id, SEVERAL_WRITERS)]
        if shared:
            self._table.update_item(
                Key={"account_id": account_id, "list_id": list_id},
                UpdateExpression="SET " + ", ".join(f"#w{n} = :several" for n in range(len(shared))),
                ExpressionAttributeNames={f"#w{n}": writer_attribute(s) for n, s in enumerate(shared)},
                ExpressionAttributeValues={":several": SEVERAL_WRITERS},
            )
        return {s for s in group if item.get(writer_attribute(s)) == job_id}

    def _busy(self, account_id: str, list_id: str, job_id: str, group: Sequence[int], now: float) -> ShardsBusy:
        item = self.item(account_id, list_id)
        held = {
            s: str(item[holder_attribute(s)])
            for s in group
            if item.get(holder_attribute(s)) not in (None, job_id) and float(item.get(until_attribute(s), 0)) >= now
        }
        runs_out = [float(item[until_attribute(s)]) for s in held]
        return ShardsBusy(list_id, held, max(0.0, min(runs_out) - now) if runs_out else 0.0)

    def renew(
        self, account_id: str, list_id: str, job_id: str, shards: Sequence[int], *, now: float, hold_seconds: float
    ) -> None:
        """Hold ``shards`` for ``job_id`` until ``now + hold_seconds``, if the job holds each still;
        LeaseLost otherwise (one ran out and another job took it)."""
        wanted = sorted(set(shards))
        for start in range(0, len(wanted), SHARDS_PER_REQUEST):
            group = wanted[start : start + SHARDS_PER_REQUEST]
            update = "SET " + ", ".join(f"#u{n} = :until" for n in range(len(group)))
            values = {":until": _number(now + hold_seconds)}
            if not self._while_held(account_id, list_id, job_id, group, update, values):
                raise LeaseLost(f"another import holds a shard of list {list_id!r} now")

    def item(self, account_id: str, list_id: str) -> dict[str, Any]:
        key = {"account_id": account_id, "list_id": list_id}
        return self._table.get_item(Key=key, ConsistentRead=True).get("Item") or {}

    def release(self, account_id: str, list_id: str, job_id: str, shards: Sequence[int]) -> None:
        """Let the shards go that ``job_id`` still holds (one that ran out and was taken over by
        another job is that job's now, and is left alone)."""
        item = self.item(account_id, list_id)
        held = [s for s in sorted(set(shards)) if item.get(holder_attribute(s)) == job_id]
        for start in range(0, len(held), SHARDS_PER_REQUEST):
            group = held[start : start + SHARDS_PER_REQUEST]
            if not self._remove_holds(account_id, list_id, job_id, group) and len(group) > 1:
                # One was taken over meanwhile (ours had run out): the others go one by one.
                for shard in group:
                    self._remove_holds(account_id, list_id, job_id, [shard])

    def _remove_holds(self, account_id: str, list_id: str, job_id: str, group: Sequence[int]) -> bool:
        update = "REMOVE " + ", ".join(f"#h{n}, #u{n}" for n in range(len(group)))
        return self._while_held(account_id, list_id, job_id, group, update, {})

    def _while_held(
        self, account_id: str, list_id: str, job_id: str, group: Sequence[int], update: str, values: dict[str, Any]
    ) -> bool:
        """Make ``update`` (``#h<n>``/``#u<n>`` name the holder and end of ``group``'s n-th shard)
        if ``job_id`` holds every shard of ``group``; False when one is not its own."""
        names: dict[str, str] = {}
        for n, shard in enumerate(group):
            names |= {f"#h{n}": holder_attribute(shard), f"#u{n}": until_attribute(shard)}
        try:
            self._table.update_item(
                Key={"account_id": account_id, "list_id": list_id},
                UpdateExpression=update,
                ConditionExpression=" AND ".join(f"#h{n} = :job" for n in range(len(group))),
                ExpressionAttributeNames=names,
                ExpressionAttributeValues={":job": job_id, **values},
            )
        except ClientError as error:
            if not _condition_failed(error):
                raise
            return False
        return True

    def held_by(self, account_id: str, list_id: str, job_id: str) -> list[int]:
        return held_by(self.item(account_id, list_id), job_id)


def held_by(list_item: dict[str, Any], job_id: str) -> list[int]:
    """The shards a list's item says ``job_id`` holds."""
    return sorted(
        int(name[len("lease_") :])
        for name, holder in list_item.items()
        if name.startswith("lease_") and not name.endswith("_until") and holder == job_id
    )


def _number(seconds: float) -> Any:
    from decimal import Decimal

    return Decimal(str(math.floor(seconds * 1000) / 1000))
