"""The local stack's machinery on a small template of its own, independent of the product's
functions: a Lambda authorizer's three answers, a crashing handler, S3 triggers with prefix and
suffix filters, asynchronous retries ending in a dead-letter queue, and an SQS event source with
partial batch failures, redelivery and a redrive policy.

The stack runs in this process (``LocalStack``) on free ports; its functions are tiny handlers
written into a temporary directory, run in real worker processes.
"""

from __future__ import annotations

import io
import json
import textwrap
import time
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import quote_plus, unquote_plus

import boto3
import pytest
import requests

from local_stack.stack import LocalStack, StackConfig
from tests.e2e.stack import free_port

pytestmark = pytest.mark.e2e

WAIT_SECONDS = 180  # for background work on a slow machine; never asserted as a duration

TEMPLATE = """
Transform: AWS::Serverless-2016-10-31
Globals:
  Function:
    Timeout: 30
    Environment:
      Variables:
        BUCKET: !Ref Files
Resources:
  Files:
    Type: AWS::S3::Bucket
  Dead:
    Type: AWS::SQS::Queue
  Work:
    Type: AWS::SQS::Queue
    Properties:
      VisibilityTimeout: 4
      RedrivePolicy:
        deadLetterTargetArn: !GetAtt WorkDead.Arn
        maxReceiveCount: 3
  WorkDead:
    Type: AWS::SQS::Queue
  Api:
    Type: AWS::Serverless::Api
    Properties:
      StageName: test
      BinaryMediaTypes: ["*~1*"]
      Auth:
        DefaultAuthorizer: Keys
        Authorizers:
          Keys:
            FunctionArn: !GetAtt Auth.Arn
            FunctionPayloadType: REQUEST
            Identity: {Headers: [Authorization], ReauthorizeEvery: 0}
  Auth:
    Type: AWS::Serverless::Function
    Properties: {CodeUri: functions/, Handler: auth.handler}
  Echo:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: functions/
      Handler: echo.handler
      Events:
        Post: {Type: Api, Properties: {RestApiId: !Ref Api, Path: "/echo/{name}", Method: POST}}
        Crash: {Type: Api, Properties: {RestApiId: !Ref Api, Path: /crash, Method: GET}}
  OnUpload:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: functions/
      Handler: marker.on_upload
      Events:
        Uploaded:
          Type: S3
          Properties:
            Bucket: !Ref Files
            Events: s3:ObjectCreated:*
            Filter: {S3Key: {Rules: [{Name: prefix, Value: in/}, {Name: suffix, Value: .csv}]}}
  Flaky:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: functions/
      Handler: marker.always_fails
      DeadLetterQueue: {Type: SQS, TargetArn: !GetAtt Dead.Arn}
      Events:
        Failing:
          Type: S3
          Properties:
            Bucket: !Ref Files
            Events: s3:ObjectCreated:*
            Filter: {S3Key: {Rules: [{Name: prefix, Value: fail/}]}}
  Batch:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: functions/
      Handler: marker.on_batch
      Events:
        Queued:
          Type: SQS
          Properties:
            Queue: !GetAtt Work.Arn
            BatchSize: 10
            FunctionResponseTypes: [ReportBatchItemFailures]
"""

HANDLERS = {
    "auth.py": """
        def handler(event, context):
            token = event["headers"].get("Authorization", "")
            if token == "Bearer allow":
                effect = "Allow"
            elif token == "Bearer deny":
                effect = "Deny"
            else:
                raise Exception("Unauthorized")
            statement = {"Action": "execute-api:Invoke", "Effect": effect, "Resource": "*"}
            return {
                "principalId": "tester",
                "policyDocument": {"Version": "2012-10-17", "Statement": [statement]},
                "context": {"tier": "gold", "level": 3},
            }
    """,
    "echo.py": """
        def handler(event, context):
            if event["resource"] == "/crash":
                raise RuntimeError("the secret database password is hunter2")
            return {"statusCode": 200, "headers": {"Content-Type": "application/json"},
                    "body": __import__("json").dumps(event)}
    """,
    "marker.py": """
        import json
        import os
        from urllib.parse import unquote_plus

        import boto3

        s3 = boto3.client("s3")  # AWS_ENDPOINT_URL points it at the local stack

        def on_upload(event, context):
            for record in event["Records"]:
                key = unquote_plus(record["s3"]["object"]["key"])
                s3.put_object(Bucket=os.environ["BUCKET"], Key="seen/" + key, Body=json.dumps(event))

        def always_fails(event, context):
            raise ValueError("this function never works")

        def on_batch(event, context):
            failures = []
            for record in event["Records"]:
                body, count = record["body"], record["attributes"]["ApproximateReceiveCount"]
                if body == "poison" or (body == "fail-once" and count == "1"):
                    failures.append({"itemIdentifier": record["messageId"]})
                    continue
                s3.put_object(Bucket=os.environ["BUCKET"], Key=f"sqs/{body}", Body=count)
            return {"batchItemFailures": failures}
    """,
}


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    root = tmp_path_factory.mktemp("fake-project")
    (root / "template.yaml").write_text(TEMPLATE, encoding="utf-8")
    (root / "functions").mkdir()
    for name, code in HANDLERS.items():
        (root / "functions" / name).write_text(textwrap.dedent(code), encoding="utf-8")
    config = StackConfig(
        template_path=root / "template.yaml",
        aws_port=free_port(),
        api_port=free_port(),
        warm_up=False,
        async_retry_delays=(0.1, 0.1),
    )
    local = LocalStack(config, out=io.StringIO())
    local.start()
    try:
        yield local
    finally:
        local.stop()


def _client(stack: LocalStack, service: str) -> Any:
    return boto3.client(
        service,
        endpoint_url=stack.config.aws_endpoint,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


def _eventually(check: Callable[[], Any], what: str, stack: LocalStack) -> Any:
    give_up_at = time.monotonic() + WAIT_SECONDS
    while time.monotonic() < give_up_at:
        found = check()
        if found:
            return found
        time.sleep(0.2)
    output = stack.out.getvalue() if isinstance(stack.out, io.StringIO) else ""
    pytest.fail(f"{what} did not happen\n{output[-5000:]}")


def _object(stack: LocalStack, key: str) -> bytes | None:
    s3 = _client(stack, "s3")
    try:
        return s3.get_object(Bucket=stack.template.buckets["Files"].name, Key=key)["Body"].read()
    except s3.exceptions.NoSuchKey:
        return None


def test_authorizer_allow_passes_context_to_the_function(stack: LocalStack) -> None:
    response = requests.post(
        stack.config.api_url + "/echo/caf%C3%A9?x=1",
        headers={"Authorization": "Bearer allow", "Content-Type": "text/csv"},
        data=b"a,b\n1,2\n",
        timeout=120,
    )
    assert response.status_code == 200, response.text
    event = response.json()
    assert event["pathParameters"] == {"name": "café"}
    assert event["isBase64Encoded"] is True
    assert event["requestContext"]["stage"] == "test"
    authorizer = event["requestContext"]["authorizer"]
    assert (authorizer["principalId"], authorizer["tier"], authorizer["level"]) == ("tester", "gold", "3")


def test_authorizer_deny_and_unauthorized(stack: LocalStack) -> None:
    url = stack.config.api_url + "/echo/x"
    assert requests.post(url, headers={"Authorization": "Bearer deny"}, timeout=120).status_code == 403
    assert requests.post(url, headers={"Authorization": "Bearer nope"}, timeout=120).status_code == 401
    assert requests.post(url, timeout=120).status_code == 401


def test_crashing_handler_answers_500_without_its_trace(stack: LocalStack) -> None:
    response = requests.get(stack.config.api_url + "/crash", headers={"Authorization": "Bearer allow"}, timeout=120)
    assert response.status_code == 500
    assert response.json()["error"]["code"] == "internal_error"
    assert "hunter2" not in response.text
    assert response.headers["X-Request-ID"]


def test_s3_trigger_honours_filters_and_keeps_keys_encoded(stack: LocalStack) -> None:
    s3 = _client(stack, "s3")
    bucket = stack.template.buckets["Files"].name
    s3.put_object(Bucket=bucket, Key="in/ignored.txt", Body=b"not a csv")
    s3.put_object(Bucket=bucket, Key="in/März (1).csv", Body=b"a,b\n")
    marker = _eventually(lambda: _object(stack, "seen/in/März (1).csv"), "the S3 trigger", stack)
    record = json.loads(marker)["Records"][0]
    # URL-encoded as S3 sends keys (form encoding: a space is "+"); the handler decodes it.
    assert record["s3"]["object"]["key"] == quote_plus("in/März (1).csv")
    assert record["eventName"].startswith("ObjectCreated:")
    assert stack.stats()["async_invocations"]["OnUpload"]["events"] == 1
    assert _object(stack, "seen/in/ignored.txt") is None


def test_failing_async_invocation_is_retried_then_dead_lettered(stack: LocalStack) -> None:
    _client(stack, "s3").put_object(Bucket=stack.template.buckets["Files"].name, Key="fail/x.csv", Body=b"x")
    sqs = _client(stack, "sqs")
    dead_queue = stack.resources.queues["Dead"]

    def dead_letter() -> Any:
        return sqs.receive_message(QueueUrl=dead_queue, WaitTimeSeconds=1).get("Messages")

    (message,) = _eventually(dead_letter, "the dead letter", stack)
    assert unquote_plus(json.loads(message["Body"])["Records"][0]["s3"]["object"]["key"]) == "fail/x.csv"
    stats = _eventually(
        lambda: (s := stack.stats()["async_invocations"]["Flaky"])["dead_lettered"] and s, "the count", stack
    )
    assert (stats["attempts"], stats["failed_events"], stats["dead_lettered"]) == (3, 1, 1)


def test_sqs_event_source_with_partial_batch_failures(stack: LocalStack) -> None:
    sqs = _client(stack, "sqs")
    work = stack.resources.queues["Work"]
    for body in ("ok-1", "fail-once", "poison", "ok-2"):
        sqs.send_message(QueueUrl=work, MessageBody=body)
    # A visibility timeout of 1 s is shorter than a cold start, so, as in AWS, a message may be
    # delivered again while its first batch still runs: counts are at least, not exactly.
    assert int(_eventually(lambda: _object(stack, "sqs/ok-1"), "ok-1", stack)) >= 1
    assert int(_eventually(lambda: _object(stack, "sqs/ok-2"), "ok-2", stack)) >= 1
    # Reported as failed on its first delivery: back after the visibility timeout, then done.
    assert int(_eventually(lambda: _object(stack, "sqs/fail-once"), "the redelivery", stack)) >= 2
    # Failed on every delivery: the queue's redrive policy moves it to the dead-letter queue. On a
    # busy machine "fail-once" can join it: a redelivery while its first batch still runs counts
    # as a receive too, as in AWS.
    dead = stack.resources.queues["WorkDead"]
    dead_bodies: set[str] = set()

    def poisoned() -> bool:
        messages = sqs.receive_message(QueueUrl=dead, WaitTimeSeconds=1).get("Messages") or []
        dead_bodies.update(m["Body"] for m in messages)
        return "poison" in dead_bodies

    _eventually(poisoned, "the redrive of the poison message", stack)
    assert dead_bodies <= {"poison", "fail-once"}
    assert _object(stack, "sqs/poison") is None
