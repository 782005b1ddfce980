"""Event sources of the local stack without an endpoint: S3 events from moto's notifications,
Lambda's asynchronous retries and dead letters, and the SQS event source's batches."""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

import pytest

from local_stack.event_sources import (
    AsyncInvoker,
    ScheduleRunner,
    SqsEventPump,
    failed_message_ids,
    lambda_s3_event,
    scheduled_event,
    sqs_record,
)
from local_stack.lambda_runtime import InvocationResult
from local_stack.template import LocalAccount, ScheduleEventSource, StackTemplate, load_template, rate_seconds

TEMPLATE = """
Resources:
  Inbox:
    Type: AWS::SQS::Queue
  Dead:
    Type: AWS::SQS::Queue
  Failures:
    Type: AWS::SQS::Queue
  Worker:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: worker/
      Handler: app.handler
      DeadLetterQueue: {Type: SQS, TargetArn: !GetAtt Dead.Arn}
      EventInvokeConfig:
        DestinationConfig:
          OnFailure: {Type: SQS, Destination: !GetAtt Failures.Arn}
      Events:
        Inbox:
          Type: SQS
          Properties:
            Queue: !GetAtt Inbox.Arn
            BatchSize: 3
            FunctionResponseTypes: [ReportBatchItemFailures]
"""

MOTO_S3_MESSAGE = {
    "Records": [
        {
            "eventVersion": "2.1",
            "eventSource": "aws:s3",
            "awsRegion": "us-east-1",
            "eventTime": "2026-11-21T23:59:00.000Z",
            "eventName": "ObjectCreated:Put",
            "s3": {
                "s3SchemaVersion": "1.0",
                "configurationId": "Worker-Dropped",
                "bucket": {"name": "files", "arn": "arn:aws:s3:::files"},
                "object": {"key": "drop%2Flocal%2Fdefault%2FM%C3%A4rz+%282024%29.csv", "size": 12, "eTag": "abc"},
            },
        }
    ]
}


@pytest.fixture
def template(tmp_path: Path) -> StackTemplate:
    path = tmp_path / "template.yaml"
    path.write_text(TEMPLATE, encoding="utf-8")
    return load_template(path)


def test_s3_event_keeps_the_encoded_key_and_completes_the_record() -> None:
    event = lambda_s3_event(json.dumps(MOTO_S3_MESSAGE), "123456789012")
    assert event is not None
    (record,) = event["Records"]
    assert record["s3"]["object"]["key"] == "drop%2Flocal%2Fdefault%2FM%C3%A4rz+%282024%29.csv"
    assert record["eventName"] == "ObjectCreated:Put"
    assert record["userIdentity"]["principalId"]
    assert record["requestParameters"]["sourceIPAddress"]
    assert record["responseElements"]["x-amz-request-id"]
    assert record["s3"]["bucket"]["ownerIdentity"]["principalId"]
    later = lambda_s3_event(json.dumps(MOTO_S3_MESSAGE), "123456789012")
    assert later is not None
    assert later["Records"][0]["s3"]["object"]["sequencer"] > record["s3"]["object"]["sequencer"]


def test_s3_test_event_is_dropped() -> None:
    test_event = {"Service": "Amazon S3", "Event": "s3:TestEvent", "Time": "t", "Bucket": "files"}
    assert lambda_s3_event(json.dumps(test_event), "123456789012") is None


class FailingThenSucceeding:
    def __init__(self, failures: int) -> None:
        self.failures = failures
        self.calls: list[str] = []
        self.lock = threading.Lock()

    def __call__(self, function_id: str, event_json: str) -> InvocationResult:
        with self.lock:
            self.calls.append(event_json)
            failing = len(self.calls) <= self.failures
        if failing:
            return InvocationResult("req", error={"errorType": "ValueError", "errorMessage": "nope"})
        return InvocationResult("req", result_json="null")


def _invoker(template: StackTemplate, invoke: Any, sent: list[tuple[str, str]], log: list[str]) -> AsyncInvoker:
    return AsyncInvoker(
        template, invoke, send_to_queue=lambda q, body: sent.append((q, body)), log=log.append, retry_delays=(0, 0)
    )


def test_async_invocation_retries_twice_then_dead_letters(template: StackTemplate) -> None:
    invoke, sent, log = FailingThenSucceeding(failures=99), [], []
    invoker = _invoker(template, invoke, sent, log)
    invoker.submit("Worker", '{"n": 1}', "s3://files/a.csv")
    invoker.drain()
    assert len(invoke.calls) == 3
    stats = invoker.as_dict()["Worker"]
    assert (stats["attempts"], stats["retries"], stats["failed_events"], stats["dead_lettered"]) == (3, 2, 1, 1)
    assert ("Dead", '{"n": 1}') in sent
    failure_record = json.loads(next(body for queue, body in sent if queue == "Failures"))
    assert failure_record["requestContext"]["condition"] == "RetriesExhausted"
    assert failure_record["requestContext"]["approximateInvokeCount"] == 3
    assert failure_record["requestPayload"] == {"n": 1}
    assert failure_record["responsePayload"]["errorMessage"] == "nope"
    assert any("failed 3 times on s3://files/a.csv" in line for line in log)


def test_async_invocation_that_succeeds_on_retry(template: StackTemplate) -> None:
    invoke, sent, log = FailingThenSucceeding(failures=1), [], []
    invoker = _invoker(template, invoke, sent, log)
    invoker.submit("Worker", "{}", "an event")
    invoker.drain()
    assert len(invoke.calls) == 2
    assert invoker.as_dict()["Worker"]["failed_events"] == 0
    assert sent == []


def test_sqs_record_shape() -> None:
    message = {
        "MessageId": "m1",
        "ReceiptHandle": "r1",
        "Body": "hello",
        "MD5OfBody": "5d41402abc4b2a76b9719d911017c592",
        "Attributes": {"ApproximateReceiveCount": "1", "SentTimestamp": "1", "SenderId": "s", "Other": "x"},
        "MessageAttributes": {"kind": {"StringValue": "a", "DataType": "String"}},
    }
    record = sqs_record(message, "arn:aws:sqs:us-east-1:123456789012:q", "us-east-1")
    assert record["messageId"] == "m1" and record["receiptHandle"] == "r1" and record["body"] == "hello"
    assert record["attributes"] == {"ApproximateReceiveCount": "1", "SentTimestamp": "1", "SenderId": "s"}
    assert record["messageAttributes"]["kind"] == {
        "stringValue": "a",
        "binaryValue": None,
        "stringListValues": [],
        "binaryListValues": [],
        "dataType": "String",
    }
    assert (record["eventSource"], record["eventSourceARN"]) == ("aws:sqs", "arn:aws:sqs:us-east-1:123456789012:q")


def test_batch_item_failures_as_lambda_reads_them() -> None:
    ids = {"a", "b", "c"}
    assert failed_message_ids(None, ids) == set()
    assert failed_message_ids({}, ids) == set()
    assert failed_message_ids({"batchItemFailures": []}, ids) == set()
    assert failed_message_ids({"batchItemFailures": None}, ids) == set()
    assert failed_message_ids({"batchItemFailures": [{"itemIdentifier": "b"}]}, ids) == {"b"}
    assert failed_message_ids({"batchItemFailures": [{"itemIdentifier": "zzz"}]}, ids) == ids
    assert failed_message_ids({"batchItemFailures": [{"itemIdentifier": ""}]}, ids) == ids
    assert failed_message_ids({"batchItemFailures": [{"id": "b"}]}, ids) == ids
    assert failed_message_ids("ok", ids) == ids


class FakeSqs:
    def __init__(self, messages: list[dict[str, Any]]) -> None:
        self.messages = messages
        self.deleted: list[str] = []
        self.received_with: list[int] = []

    def receive_message(self, **kwargs: Any) -> dict[str, Any]:
        self.received_with.append(kwargs["MaxNumberOfMessages"])
        batch, self.messages = (
            self.messages[: kwargs["MaxNumberOfMessages"]],
            self.messages[kwargs["MaxNumberOfMessages"] :],
        )
        return {"Messages": batch}

    def delete_message_batch(self, QueueUrl: str, Entries: list[dict[str, str]]) -> None:
        self.deleted.extend(entry["ReceiptHandle"] for entry in Entries)


def _messages(count: int) -> list[dict[str, Any]]:
    return [{"MessageId": f"m{i}", "ReceiptHandle": f"r{i}", "Body": f"body {i}"} for i in range(count)]


def test_sqs_pump_deletes_only_what_succeeded(template: StackTemplate) -> None:
    sqs = FakeSqs(_messages(4))
    events: list[dict[str, Any]] = []

    def invoke(function_id: str, event_json: str) -> InvocationResult:
        event = json.loads(event_json)
        events.append(event)
        failures = [{"itemIdentifier": r["messageId"]} for r in event["Records"] if r["body"] == "body 1"]
        return InvocationResult("req", result_json=json.dumps({"batchItemFailures": failures}))

    (source,) = template.sqs_event_sources
    pump = SqsEventPump(source, template, sqs, "url", invoke, log=lambda line: None, stopping=threading.Event())
    pump.poll_once()
    pump.poll_once()
    pump._batches.shutdown(wait=True)
    assert [len(event["Records"]) for event in events] == [3, 1]  # BatchSize 3
    assert sqs.received_with[0] == 3
    assert sorted(sqs.deleted) == ["r0", "r2", "r3"]
    assert pump.as_dict() == {"batches": 2, "failed_batches": 1, "failed_messages": 1}
    assert events[0]["Records"][0]["eventSourceARN"] == template.queues["Inbox"].arn


def test_sqs_pump_keeps_a_failed_batch(template: StackTemplate) -> None:
    sqs = FakeSqs(_messages(2))
    (source,) = template.sqs_event_sources

    def invoke(function_id: str, event_json: str) -> InvocationResult:
        return InvocationResult("req", error={"errorType": "ValueError", "errorMessage": "no"})

    pump = SqsEventPump(source, template, sqs, "url", invoke, log=lambda line: None, stopping=threading.Event())
    pump.poll_once()
    pump._batches.shutdown(wait=True)
    assert sqs.deleted == []
    assert pump.as_dict()["failed_messages"] == 2


# ------------------------------------------------------------------------------ schedules


def _schedule(rate: float, **kwargs) -> ScheduleEventSource:
    return ScheduleEventSource(
        function_id="Sweep",
        event_id="Every",
        expression=f"rate({int(rate // 60)} minutes)",
        rate_seconds=rate,
        rule_arn="arn:aws:events:us-east-1:123456789012:rule/sweep",
        **kwargs,
    )


def test_rate_expressions_in_seconds_and_cron_is_not_run():
    assert [rate_seconds(e) for e in ("rate(5 minutes)", "rate(1 hour)", "rate(2 days)", "cron(0 12 * * ? *)")] == [
        300,
        3600,
        172800,
        None,
    ]


def test_a_schedule_fires_once_a_period_from_one_period_after_start():
    runner = ScheduleRunner([_schedule(300)], LocalAccount(), invoker=None, stopping=threading.Event())  # type: ignore[arg-type]
    assert runner.due(0, 299) == []
    assert len(runner.due(0, 300)) == 1
    assert runner.due(0, 450) == []
    assert len(runner.due(0, 1000)) == 1  # late: fires once, not three times
    assert runner.due(0, 1100) == [] and len(runner.due(0, 1200)) == 1


def test_a_disabled_schedule_never_fires_and_a_scheduled_event_has_eventbridges_shape():
    runner = ScheduleRunner([_schedule(60, enabled=False)], LocalAccount(), invoker=None, stopping=threading.Event())  # type: ignore[arg-type]
    assert runner.due(0, 10_000) == []
    event = scheduled_event(_schedule(60), LocalAccount())
    assert (event["detail-type"], event["source"], event["detail"]) == ("Scheduled Event", "aws.events", {})
    assert event["resources"] == ["arn:aws:events:us-east-1:123456789012:rule/sweep"]
    assert scheduled_event(_schedule(60, input='{"x": 1}'), LocalAccount()) == {"x": 1}
