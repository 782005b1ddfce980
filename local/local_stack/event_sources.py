"""Event sources served locally: S3 notifications (asynchronous invocations) and SQS event source
mappings (batches, partial failures), each fed by a pump thread that long-polls a queue on the
local AWS endpoint; and EventBridge schedules (``rate()``), asynchronous invocations on a timer.

S3 cannot invoke a local process, so each bucket notifies an SQS queue of the local stack's own
(see ``resources.connect_s3_event_sources``). The S3 pump turns each message into the event Lambda
would get and hands it to ``AsyncInvoker``, which behaves like Lambda's asynchronous invocation:
retries after a failure, then a loud log line, a count, and the function's dead-letter queue or
OnFailure destination when the template declares one. The SQS pump behaves like Lambda's SQS
event source mapping: batches of up to BatchSize, a batch that fails stays on the queue and comes
back after the visibility timeout (moto applies the queue's redrive policy), and with
ReportBatchItemFailures only the reported messages stay.
"""

from __future__ import annotations

import itertools
import json
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from local_stack.lambda_runtime import InvocationResult
from local_stack.template import FunctionSpec, LocalAccount, ScheduleEventSource, SqsEventSource, StackTemplate

Invoke = Callable[[str, str], InvocationResult]  # (function logical id, event JSON) -> result
Log = Callable[[str], None]

# Lambda retries a failed asynchronous invocation after about one and then two minutes; locally
# the same number of attempts comes in seconds, so a failure shows while one is looking.
LOCAL_ASYNC_RETRY_DELAYS_SECONDS = (1.0, 2.0)
POLL_WAIT_SECONDS = 1  # short long-polls keep shutdown quick; an arriving message ends one at once
SQS_RECEIVE_MAX = 10


# ------------------------------------------------------------------------------ S3 events

_sequencer = itertools.count(int(time.time() * 1000) << 16)


def lambda_s3_event(message_body: str, account_id: str) -> dict[str, Any] | None:
    """The event Lambda receives for an S3 notification delivered to SQS by moto, or None for
    S3's test event. Keys stay URL-encoded (``quote_plus``), exactly as S3 sends them; the fields
    S3 sends and moto leaves out are filled in."""
    document = json.loads(message_body)
    if not isinstance(document, dict) or document.get("Event") == "s3:TestEvent" or "Records" not in document:
        return None
    for record in document["Records"]:
        record.setdefault("userIdentity", {"principalId": f"AWS:{account_id}"})
        record.setdefault("requestParameters", {"sourceIPAddress": "127.0.0.1"})
        record.setdefault(
            "responseElements",
            {"x-amz-request-id": uuid.uuid4().hex[:16].upper(), "x-amz-id-2": uuid.uuid4().hex},
        )
        s3 = record.get("s3", {})
        s3.get("bucket", {}).setdefault("ownerIdentity", {"principalId": account_id})
        s3.get("object", {}).setdefault("sequencer", f"{next(_sequencer):016X}")
    return document


@dataclass
class AsyncFunctionStats:
    events: int = 0
    attempts: int = 0
    retries: int = 0
    failed_events: int = 0  # every attempt failed
    dead_lettered: int = 0


@dataclass
class AsyncInvoker:
    """Lambda's asynchronous invocation for the local stack."""

    template: StackTemplate
    invoke: Invoke
    send_to_queue: Callable[[str, str], None]  # (queue logical id, message body)
    log: Log
    concurrency: int = 4
    retry_delays: Sequence[float] = LOCAL_ASYNC_RETRY_DELAYS_SECONDS
    stats: dict[str, AsyncFunctionStats] = field(default_factory=dict)
    _executors: dict[str, ThreadPoolExecutor] = field(default_factory=dict)
    _slots: dict[str, threading.BoundedSemaphore] = field(default_factory=dict)
    _stopping: threading.Event = field(default_factory=threading.Event)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def submit(self, function_id: str, event_json: str, description: str) -> None:
        """Queues one event for the function; blocks while the function is at its concurrency,
        so that a pump does not take messages faster than they can be handled."""
        spec = self.template.function(function_id)
        with self._lock:
            if function_id not in self._executors:
                limit = max(1, min(self.concurrency, spec.reserved_concurrency or self.concurrency))
                self._executors[function_id] = ThreadPoolExecutor(limit, thread_name_prefix=f"async {function_id}")
                self._slots[function_id] = threading.BoundedSemaphore(limit)
                self.stats[function_id] = AsyncFunctionStats()
            executor, slots = self._executors[function_id], self._slots[function_id]
            self.stats[function_id].events += 1
        slots.acquire()
        try:
            executor.submit(self._run, spec, event_json, description, slots)
        except RuntimeError:  # shut down meanwhile
            slots.release()

    def _run(self, spec: FunctionSpec, event_json: str, description: str, slots: threading.BoundedSemaphore) -> None:
        try:
            self._run_with_retries(spec, event_json, description)
        except Exception as exc:  # a pump thread must survive anything an invocation does
            self.log(f"[ERROR] asynchronous invocation of {spec.logical_id} broke: {exc!r}")
        finally:
            slots.release()

    def _run_with_retries(self, spec: FunctionSpec, event_json: str, description: str) -> None:
        stats = self.stats[spec.logical_id]
        attempts = 1 + spec.async_config.maximum_retry_attempts
        result: InvocationResult | None = None
        for attempt in range(1, attempts + 1):
            if self._stopping.is_set():
                return
            with self._lock:
                stats.attempts += 1
                stats.retries += attempt > 1
            result = self.invoke(spec.logical_id, event_json)
            if result.ok or self._stopping.is_set():
                return  # a stopping stack kills busy workers: that is no failure of the function
            assert result.error is not None
            self.log(
                f"[WARN] {spec.logical_id} failed on {description} (attempt {attempt} of {attempts}): "
                f"{result.error.get('errorType')}: {result.error.get('errorMessage')}"
            )
            if attempt < attempts:
                delay = self.retry_delays[min(attempt - 1, len(self.retry_delays) - 1)] if self.retry_delays else 0
                if self._stopping.wait(delay):
                    return
        assert result is not None and result.error is not None
        with self._lock:
            stats.failed_events += 1
        self.log(
            f"[ERROR] !!! {spec.logical_id} failed {attempts} times on {description}; "
            f"the event is dropped as Lambda would drop it !!!"
        )
        self._dead_letter(spec, event_json, result, attempts)

    def _dead_letter(self, spec: FunctionSpec, event_json: str, result: InvocationResult, attempts: int) -> None:
        config = spec.async_config
        if config.dead_letter_queue_id:
            self.send_to_queue(config.dead_letter_queue_id, event_json)
        if config.on_failure_queue_id:
            record = {
                "version": "1.0",
                "timestamp": datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
                "requestContext": {
                    "requestId": result.request_id,
                    "functionArn": f"{spec.arn}:$LATEST",
                    "condition": "RetriesExhausted",
                    "approximateInvokeCount": attempts,
                },
                "requestPayload": json.loads(event_json),
                "responseContext": {
                    "statusCode": 200,
                    "executedVersion": "$LATEST",
                    "functionError": "Unhandled",
                },
                "responsePayload": result.error,
            }
            self.send_to_queue(config.on_failure_queue_id, json.dumps(record))
        if config.dead_letter_queue_id or config.on_failure_queue_id:
            with self._lock:
                self.stats[spec.logical_id].dead_lettered += 1

    def stop(self) -> None:
        self._stopping.set()
        for executor in self._executors.values():
            executor.shutdown(wait=False, cancel_futures=True)

    def drain(self) -> None:
        """Waits until every submitted event is done, retries included; no submit after this."""
        for executor in list(self._executors.values()):
            executor.shutdown(wait=True)

    def as_dict(self) -> dict[str, Any]:
        with self._lock:
            return {function_id: vars(stats).copy() for function_id, stats in self.stats.items()}


# ------------------------------------------------------------------------------ pumps


class _Pump(threading.Thread):
    def __init__(self, name: str, sqs: Any, queue_url: str, log: Log, stopping: threading.Event) -> None:
        super().__init__(name=name, daemon=True)
        self.sqs = sqs
        self.queue_url = queue_url
        self.log = log
        self.stopping = stopping

    def receive(self, count: int, wait_seconds: int = POLL_WAIT_SECONDS) -> list[dict[str, Any]]:
        response = self.sqs.receive_message(
            QueueUrl=self.queue_url,
            MaxNumberOfMessages=max(1, min(count, SQS_RECEIVE_MAX)),
            WaitTimeSeconds=wait_seconds,
            MessageSystemAttributeNames=["All"],
            MessageAttributeNames=["All"],
        )
        return response.get("Messages", [])

    def run(self) -> None:
        while not self.stopping.is_set():
            try:
                self.poll_once()
            except Exception as exc:
                if self.stopping.is_set():
                    return
                self.log(f"[ERROR] {self.name}: {exc!r}; polling again shortly")
                self.stopping.wait(1.0)

    def poll_once(self) -> None:
        raise NotImplementedError


class S3EventPump(_Pump):
    """Carries one function's S3 notifications from its queue to ``AsyncInvoker``."""

    def __init__(
        self,
        function_id: str,
        sqs: Any,
        queue_url: str,
        invoker: AsyncInvoker,
        log: Log,
        stopping: threading.Event,
    ) -> None:
        super().__init__(f"s3 events -> {function_id}", sqs, queue_url, log, stopping)
        self.function_id = function_id
        self.invoker = invoker
        self.account_id = invoker.template.account.account_id

    def poll_once(self) -> None:
        for message in self.receive(SQS_RECEIVE_MAX):
            event = lambda_s3_event(message["Body"], self.account_id)
            # Lambda's own queue takes the event over; its retries happen there, not on this queue.
            self.sqs.delete_message(QueueUrl=self.queue_url, ReceiptHandle=message["ReceiptHandle"])
            if event is None:
                continue
            self.invoker.submit(self.function_id, json.dumps(event), _describe_s3_event(event))


def _describe_s3_event(event: dict[str, Any]) -> str:
    objects = [
        f"s3://{record['s3']['bucket']['name']}/{record['s3']['object']['key']}"
        for record in event.get("Records", [])
        if "s3" in record
    ]
    return ", ".join(objects) or "an S3 event"


def sqs_record(message: dict[str, Any], queue_arn: str, region: str) -> dict[str, Any]:
    """One record of Lambda's SQS event, from a ReceiveMessage answer."""
    attributes = message.get("Attributes", {})
    record: dict[str, Any] = {
        "messageId": message["MessageId"],
        "receiptHandle": message["ReceiptHandle"],
        "body": message["Body"],
        "attributes": {
            name: attributes[name]
            for name in (
                "ApproximateReceiveCount",
                "SentTimestamp",
                "SenderId",
                "ApproximateFirstReceiveTimestamp",
                "SequenceNumber",
                "MessageGroupId",
                "MessageDeduplicationId",
                "AWSTraceHeader",
            )
            if name in attributes
        },
        "messageAttributes": {
            name: {
                "stringValue": value.get("StringValue"),
                "binaryValue": value.get("BinaryValue"),
                "stringListValues": value.get("StringListValues", []),
                "binaryListValues": value.get("BinaryListValues", []),
                "dataType": value.get("DataType"),
            }
            for name, value in message.get("MessageAttributes", {}).items()
        },
        "md5OfBody": message.get("MD5OfBody"),
        "eventSource": "aws:sqs",
        "eventSourceARN": queue_arn,
        "awsRegion": region,
    }
    if "MD5OfMessageAttributes" in message:
        record["md5OfMessageAttributes"] = message["MD5OfMessageAttributes"]
    return record


def failed_message_ids(result: Any, batch_ids: set[str]) -> set[str]:
    """The messages a ReportBatchItemFailures answer leaves on the queue. An empty or missing
    ``batchItemFailures`` is full success; an answer Lambda cannot read fails the whole batch."""
    if result is None or result == {}:
        return set()
    if not isinstance(result, dict):
        return set(batch_ids)
    failures = result.get("batchItemFailures")
    if not failures:
        return set()
    if not isinstance(failures, list):
        return set(batch_ids)
    failed = set()
    for failure in failures:
        identifier = failure.get("itemIdentifier") if isinstance(failure, dict) else None
        if not identifier or identifier not in batch_ids:
            return set(batch_ids)
        failed.add(identifier)
    return failed


class SqsEventPump(_Pump):
    """Lambda's SQS event source mapping for one ``Type: SQS`` event."""

    def __init__(
        self,
        source: SqsEventSource,
        template: StackTemplate,
        sqs: Any,
        queue_url: str,
        invoke: Invoke,
        log: Log,
        stopping: threading.Event,
        concurrency: int = 4,
    ) -> None:
        super().__init__(f"sqs {source.queue_id} -> {source.function_id}", sqs, queue_url, log, stopping)
        self.source = source
        self.queue = template.queues[source.queue_id]
        self.region = template.account.region
        self.invoke = invoke
        limit = 1 if self.queue.fifo else min(concurrency, source.maximum_concurrency or concurrency)
        self._slots = threading.BoundedSemaphore(limit)
        self._batches = ThreadPoolExecutor(limit, thread_name_prefix=self.name)
        self.batches = 0
        self.failed_batches = 0
        self.failed_messages = 0

    def poll_once(self) -> None:
        self._slots.acquire()
        try:
            messages = self._collect_batch()
        except BaseException:
            self._slots.release()
            raise
        if not messages:
            self._slots.release()
            return
        self._batches.submit(self._process, messages)

    def _collect_batch(self) -> list[dict[str, Any]]:
        batch = self.receive(self.source.batch_size)
        window_ends = time.monotonic() + self.source.maximum_batching_window_seconds
        while batch and len(batch) < self.source.batch_size and time.monotonic() < window_ends:
            if self.stopping.is_set():
                break
            more = self.receive(self.source.batch_size - len(batch), wait_seconds=0)
            if not more:
                self.stopping.wait(min(0.2, max(0.0, window_ends - time.monotonic())))
            batch.extend(more)
        return batch

    def _process(self, messages: list[dict[str, Any]]) -> None:
        try:
            event = {"Records": [sqs_record(m, self.queue.arn, self.region) for m in messages]}
            result = self.invoke(self.source.function_id, json.dumps(event))
            ids = {m["MessageId"] for m in messages}
            if not result.ok:
                failed = ids
                assert result.error is not None
                self.log(
                    f"[WARN] {self.source.function_id} failed on a batch of {len(messages)} from "
                    f"{self.queue.name}: {result.error.get('errorType')}: "
                    f"{result.error.get('errorMessage')}; the messages return after the visibility timeout"
                )
            elif self.source.report_batch_item_failures:
                failed = failed_message_ids(result.result(), ids)
            else:
                failed = set()
            self.batches += 1
            if failed:
                self.failed_batches += 1
                self.failed_messages += len(failed)
            done = [m for m in messages if m["MessageId"] not in failed]
            for start in range(0, len(done), SQS_RECEIVE_MAX):
                self.sqs.delete_message_batch(
                    QueueUrl=self.queue_url,
                    Entries=[
                        {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]}
                        for i, m in enumerate(done[start : start + SQS_RECEIVE_MAX])
                    ],
                )
        except Exception as exc:
            self.log(f"[ERROR] {self.name}: {exc!r}")
        finally:
            self._slots.release()

    def stop(self) -> None:
        self._batches.shutdown(wait=False, cancel_futures=True)

    def as_dict(self) -> dict[str, Any]:
        return {
            "batches": self.batches,
            "failed_batches": self.failed_batches,
            "failed_messages": self.failed_messages,
        }


# ------------------------------------------------------------------------------ schedules


def scheduled_event(source: ScheduleEventSource, account: LocalAccount, now: datetime | None = None) -> dict[str, Any]:
    """The event EventBridge sends a function for a scheduled rule (or the rule's ``Input``)."""
    if source.input is not None:
        return json.loads(source.input)
    moment = (now or datetime.now(UTC)).replace(microsecond=0)
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": account.account_id,
        "time": moment.isoformat().replace("+00:00", "Z"),
        "region": account.region,
        "resources": [source.rule_arn],
        "detail": {},
    }


class ScheduleRunner(threading.Thread):
    """EventBridge's scheduled rules: each enabled ``rate()`` schedule invokes its function
    asynchronously once a period, the first time one period after start-up, as a new rule does."""

    def __init__(
        self,
        sources: Sequence[ScheduleEventSource],
        account: LocalAccount,
        invoker: AsyncInvoker,
        stopping: threading.Event,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__(name="schedules", daemon=True)
        self.sources = [source for source in sources if source.enabled]
        self.account = account
        self.invoker = invoker
        self.stopping = stopping
        self.clock = clock
        self.fired: dict[str, int] = {f"{s.function_id}.{s.event_id}": 0 for s in self.sources}

    def due(self, started: float, now: float) -> list[ScheduleEventSource]:
        """The sources whose next period has come (each fires once per period, none caught up twice)."""
        ready = []
        for source in self.sources:
            name = f"{source.function_id}.{source.event_id}"
            if now - started >= (self.fired[name] + 1) * source.rate_seconds:
                self.fired[name] = int((now - started) // source.rate_seconds)
                ready.append(source)
        return ready

    def run(self) -> None:
        started = self.clock()
        while self.sources and not self.stopping.wait(1.0):
            for source in self.due(started, self.clock()):
                event = scheduled_event(source, self.account)
                self.invoker.submit(source.function_id, json.dumps(event), f"the schedule {source.expression}")

    def as_dict(self) -> dict[str, int]:
        return dict(self.fired)
