"""What a task costs in AWS: the DynamoDB capacity units it consumed, and its S3 requests.

Every AWS client the stores build is metered (``meter_dynamodb``, ``count_requests``): each
DynamoDB request asks for ``ReturnConsumedCapacity=TOTAL`` unless it asked for more, and what
DynamoDB answers it consumed is added to the *meter* of the task under way in this thread
(``metered``), as is every S3 request. A call made with no task under way (the API's reads, the
job's own bookkeeping after a task is recorded: its progress, its next phase's messages, its end)
is counted nowhere; SQS requests are nearly all of that kind, so they are not counted at all. A
task records its meter with its tally, once (``TaskStore.record``): its job's ``consumed`` is the
sum over its recorded tasks, however often they ran.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, fields
from typing import Any

# The DynamoDB operations that take ReturnConsumedCapacity, by what they consume.
READS = ("GetItem", "BatchGetItem", "Query", "Scan", "TransactGetItems")
WRITES = ("PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem", "TransactWriteItems")


@dataclass
class Consumed:
    write_units: float = 0.0
    read_units: float = 0.0
    s3_requests: int = 0

    def add(self, other: Consumed) -> None:
        for field in fields(self):
            setattr(self, field.name, getattr(self, field.name) + getattr(other, field.name))

    def to_json(self) -> dict[str, Any]:
        from decimal import Decimal

        return {
            "write_units": Decimal(str(round(self.write_units, 1))),
            "read_units": Decimal(str(round(self.read_units, 1))),
            "s3_requests": self.s3_requests,
        }

    @classmethod
    def from_json(cls, value: dict[str, Any] | None) -> Consumed:
        value = value or {}
        return cls(
            write_units=float(value.get("write_units", 0)),
            read_units=float(value.get("read_units", 0)),
            s3_requests=int(value.get("s3_requests", 0)),
        )


_meter: ContextVar[Consumed | None] = ContextVar("consumed", default=None)


@contextmanager
def metered() -> Iterator[Consumed]:
    """What the calls made inside consume, in this thread."""
    consumed = Consumed()
    token = _meter.set(consumed)
    try:
        yield consumed
    finally:
        _meter.reset(token)


def _ask_for_capacity(params: dict[str, Any], **_: Any) -> None:
    params.setdefault("ReturnConsumedCapacity", "TOTAL")


def _units(answer: Any) -> float:
    capacities = answer if isinstance(answer, list) else [answer]
    return sum(float(capacity.get("CapacityUnits", 0)) for capacity in capacities if isinstance(capacity, dict))


def _count_capacity(operation: str) -> Any:
    def count(parsed: dict[str, Any] | None = None, **_: Any) -> None:
        consumed = _meter.get()
        if consumed is None or not parsed or "ConsumedCapacity" not in parsed:
            return
        units = _units(parsed["ConsumedCapacity"])
        if operation in WRITES:
            consumed.write_units += units
        else:
            consumed.read_units += units

    return count


def meter_dynamodb(client: Any) -> Any:
    events = client.meta.events
    for operation in READS + WRITES:
        events.register(f"before-parameter-build.dynamodb.{operation}", _ask_for_capacity)
        events.register(f"after-call.dynamodb.{operation}", _count_capacity(operation))
    return client


def count_requests(client: Any, service: str) -> Any:
    """Counts the client's requests (``s3``) on the meter of the task under way."""
    counter = f"{service}_requests"

    def count(**_: Any) -> None:
        consumed = _meter.get()
        if consumed is not None:
            setattr(consumed, counter, getattr(consumed, counter) + 1)

    client.meta.events.register(f"after-call.{service}", count)
    return client
