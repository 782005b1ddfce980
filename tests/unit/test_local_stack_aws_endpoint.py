"""The local stack's one AWS endpoint: which requests are DynamoDB's, how they are passed on to
DynamoDB Local (body, signature and answer unchanged; the connection's own headers not), and the
answer when DynamoDB Local is not there; and how the Java version is read."""

from __future__ import annotations

import http.server
import io
import json
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from local_stack.aws_endpoint import AwsEndpoint, DynamoDbForwarder, is_dynamodb_request
from local_stack.dynamodb_local import java_major_version


@pytest.mark.parametrize(
    ("shown", "major"),
    [
        ('openjdk version "17.0.15" 2025-04-15\nOpenJDK Runtime Environment', 17),
        ('openjdk version "21" 2023-09-19', 21),
        ('java version "1.8.0_402"', 8),
        ("no java here", None),
    ],
)
def test_the_java_version_is_read_as_java_prints_it(shown: str, major: int | None) -> None:
    assert java_major_version(shown) == major


@pytest.mark.parametrize(
    ("target", "dynamodb"),
    [
        ("DynamoDB_20120810.BatchWriteItem", True),
        ("DynamoDBStreams_20120810.GetRecords", True),
        ("AmazonSQS.ReceiveMessage", False),
        ("AWSEvents.PutEvents", False),
        (None, False),  # S3 speaks REST, without a target
    ],
)
def test_dynamodb_requests_are_told_apart_by_their_target(target: str | None, dynamodb: bool) -> None:
    environ = {"HTTP_X_AMZ_TARGET": target} if target else {}
    assert is_dynamodb_request(environ) is dynamodb


class RecordingDynamoDb(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    received: list[dict[str, Any]] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.received.append({"headers": dict(self.headers), "body": body, "path": self.path})
        payload = b'{"TableNames": ["t1"]}'
        self.send_response(200)
        self.send_header("Content-Type", "application/x-amz-json-1.0")
        self.send_header("x-amz-crc32", "12345")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, *args: Any) -> None:
        return None


@pytest.fixture
def engine(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    monkeypatch.setattr(RecordingDynamoDb, "received", [])
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), RecordingDynamoDb)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()


def call(app: Any, body: bytes, headers: dict[str, str]) -> tuple[str, dict[str, str], bytes]:
    environ: dict[str, Any] = {
        "REQUEST_METHOD": "POST",
        "PATH_INFO": "/",
        "CONTENT_LENGTH": str(len(body)),
        "CONTENT_TYPE": "application/x-amz-json-1.0",
        "wsgi.input": io.BytesIO(body),
        **{"HTTP_" + name.upper().replace("-", "_"): value for name, value in headers.items()},
    }
    answered: dict[str, Any] = {}

    def start_response(status: str, response_headers: list[tuple[str, str]]) -> None:
        answered.update(status=status, headers=dict(response_headers))

    data = b"".join(app(environ, start_response))
    return answered["status"], answered["headers"], data


SIGNED = {
    "X-Amz-Target": "DynamoDB_20120810.ListTables",
    "Authorization": "AWS4-HMAC-SHA256 Credential=testing/20261202/us-east-1/dynamodb/aws4_request, Signature=ab",
    "X-Amz-Date": "20261202T000000Z",
    "Host": "127.0.0.1:4566",
    "Connection": "keep-alive",
}


def test_a_dynamodb_request_and_its_answer_pass_through_unchanged(engine: str) -> None:
    forwarder = DynamoDbForwarder(engine)
    status, headers, data = call(forwarder, b'{"Limit": 5}', SIGNED)
    assert (status, json.loads(data)) == ("200 OK", {"TableNames": ["t1"]})
    assert headers["x-amz-crc32"] == "12345" and headers["Content-Length"] == str(len(data))
    (received,) = RecordingDynamoDb.received
    assert received["body"] == b'{"Limit": 5}'
    sent = {name.lower(): value for name, value in received["headers"].items()}
    assert sent["authorization"] == SIGNED["Authorization"] and sent["x-amz-target"] == SIGNED["X-Amz-Target"]
    assert sent["x-amz-date"] == SIGNED["X-Amz-Date"] and sent["content-type"] == "application/x-amz-json-1.0"
    assert "connection" not in sent, "the caller's connection is its own"
    assert sent["host"] != SIGNED["Host"], "Host names the engine, not the endpoint it was sent to"
    assert forwarder.forwarded == 1


def test_without_dynamodb_local_the_answer_is_a_503_that_names_it() -> None:
    with http.server.ThreadingHTTPServer(("127.0.0.1", 0), RecordingDynamoDb) as unused:
        closed = f"http://127.0.0.1:{unused.server_address[1]}"
    status, headers, data = call(DynamoDbForwarder(closed), b"{}", SIGNED)
    assert headers["Content-Type"] == "application/x-amz-json-1.0"
    assert status.startswith("503")
    answer = json.loads(data)
    assert answer["__type"].endswith("#ServiceUnavailable")
    assert "DynamoDB Local" in answer["message"] and closed in answer["message"]


def test_the_endpoint_sends_dynamodb_to_the_engine_and_the_rest_to_moto(engine: str) -> None:
    others: list[str] = []

    def moto(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        others.append(environ.get("HTTP_X_AMZ_TARGET", "s3"))
        start_response("200 OK", [("Content-Length", "2")])
        return [b"ok"]

    endpoint = AwsEndpoint(moto, DynamoDbForwarder(engine))
    assert call(endpoint, b"{}", SIGNED)[2] == b'{"TableNames": ["t1"]}'
    assert call(endpoint, b"{}", {"X-Amz-Target": "AmazonSQS.ListQueues"})[2] == b"ok"
    assert call(endpoint, b"", {})[2] == b"ok"
    assert len(RecordingDynamoDb.received) == 1 and others == ["AmazonSQS.ListQueues", "s3"]


def test_describe_stacks_answers_the_local_stack_and_passes_other_cloudformation_calls_on() -> None:
    import boto3
    from botocore.exceptions import ClientError

    from local_stack.stack_description import LocalStackDescription
    from tests.wsgi_server import serving

    passed_on: list[bytes] = []

    def others(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        passed_on.append(environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0)))
        start_response("400 Bad Request", [("Content-Type", "text/xml")])
        return [b"<ErrorResponse><Error><Code>NotHere</Code><Message>moto</Message></Error></ErrorResponse>"]

    stack_id = "arn:aws:cloudformation:eu-west-2:123456789012:stack/local/0"
    description = LocalStackDescription("local", stack_id, {"TableName": "t<&>1", "Other": "x"})
    with serving(AwsEndpoint(others, None, description)) as url:
        client = boto3.client(
            "cloudformation",
            endpoint_url=url,
            region_name="us-east-1",
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )
        (stack,) = client.describe_stacks(StackName="local")["Stacks"]
        with pytest.raises(ClientError) as unknown:
            client.describe_stacks(StackName="someone-else")
        with pytest.raises(ClientError) as other_call:
            client.list_stacks()

    assert (stack["StackName"], stack["StackId"], stack["StackStatus"]) == ("local", stack_id, "CREATE_COMPLETE")
    assert {o["OutputKey"]: o["OutputValue"] for o in stack["Outputs"]} == {"TableName": "t<&>1", "Other": "x"}
    assert unknown.value.response["Error"]["Code"] == "ValidationError"
    assert "someone-else" in unknown.value.response["Error"]["Message"]
    assert other_call.value.response["Error"]["Code"] == "NotHere"
    assert passed_on and b"Action=ListStacks" in passed_on[0]  # the body moto reads is the one sent
