"""The local stack's one AWS endpoint (``http://127.0.0.1:4566``, as LocalStack has it): DynamoDB
requests go to DynamoDB Local, every other request to moto (S3, SQS, EventBridge, ...).

CloudFormation's ``DescribeStacks`` is answered here with the local stack's outputs
(``stack_description``), so a client finds the local stack as it finds a deployed one.

DynamoDB speaks one protocol, JSON with an ``X-Amz-Target`` of ``DynamoDB_20120810.<Action>``
(``DynamoDBStreams_20120810.`` for streams), so the target alone tells its requests apart. They
are passed on unchanged, body and signature, over a pool of kept-alive connections, and the answer
comes back unchanged. When DynamoDB Local is not there, the answer is a 503 that the SDKs retry
and that names it.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import urlsplit

import urllib3

from local_stack.stack_description import DescribeLocalStack, LocalStackDescription, is_cloudformation_request

DYNAMODB_TARGET_PREFIXES = ("DynamoDB_20120810.", "DynamoDBStreams_20120810.")
# Headers that belong to one connection, not to the request (RFC 9110, 7.6.1); Host names ours.
_NOT_FORWARDED = {"connection", "keep-alive", "proxy-connection", "te", "trailer", "transfer-encoding", "upgrade"}
# A long batch or a transaction of 100 items on a busy machine; botocore's read timeout is 60 s.
FORWARD_READ_TIMEOUT_SECONDS = 120.0

WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


def is_dynamodb_request(environ: dict[str, Any]) -> bool:
    return str(environ.get("HTTP_X_AMZ_TARGET", "")).startswith(DYNAMODB_TARGET_PREFIXES)


def _request_headers(environ: dict[str, Any]) -> dict[str, str]:
    headers = {
        key[5:].replace("_", "-").title(): str(value)
        for key, value in environ.items()
        if key.startswith("HTTP_") and key[5:].replace("_", "-").lower() not in _NOT_FORWARDED | {"host"}
    }
    if environ.get("CONTENT_TYPE"):
        headers["Content-Type"] = environ["CONTENT_TYPE"]
    return headers


class DynamoDbForwarder:
    """A WSGI app that passes each request on to a DynamoDB endpoint and its answer back."""

    def __init__(self, endpoint: str, *, name: str = "DynamoDB Local") -> None:
        parts = urlsplit(endpoint)
        self.endpoint = endpoint
        self.name = name
        self._pool = urllib3.HTTPConnectionPool(
            parts.hostname or "127.0.0.1",
            parts.port or 80,
            maxsize=32,
            block=False,
            retries=False,  # the caller's SDK retries, as it would against AWS
            timeout=urllib3.Timeout(connect=5.0, read=FORWARD_READ_TIMEOUT_SECONDS),
        )
        self.forwarded = 0
        self._count_lock = threading.Lock()

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length else b""
        path = environ.get("RAW_URI") or environ.get("PATH_INFO") or "/"
        try:
            answer = self._pool.urlopen(
                environ.get("REQUEST_METHOD", "POST"),
                path,
                body=body,
                headers=_request_headers(environ),
                preload_content=True,
                decode_content=False,
                retries=False,
            )
        except urllib3.exceptions.HTTPError as exc:
            return self._unavailable(start_response, f"{self.name} at {self.endpoint} did not answer: {exc}")
        with self._count_lock:
            self.forwarded += 1
        data = answer.data
        headers = [(k, v) for k, v in answer.headers.items() if k.lower() not in _NOT_FORWARDED | {"content-length"}]
        headers.append(("Content-Length", str(len(data))))
        start_response(f"{answer.status} {answer.reason or ''}".strip(), headers)
        return [data]

    def _unavailable(self, start_response: Callable[..., Any], message: str) -> Iterable[bytes]:
        body = json.dumps({"__type": "com.amazonaws.dynamodb.v20120810#ServiceUnavailable", "message": message})
        start_response(
            "503 Service Unavailable",
            [("Content-Type", "application/x-amz-json-1.0"), ("Content-Length", str(len(body)))],
        )
        return [body.encode()]

    def close(self) -> None:
        self._pool.close()


class AwsEndpoint:
    """The WSGI app behind the AWS endpoint: DynamoDB to ``dynamodb``, the rest to ``others``."""

    def __init__(
        self, others: WsgiApp, dynamodb: DynamoDbForwarder | None, stack: LocalStackDescription | None = None
    ) -> None:
        self._others = others
        self.dynamodb = dynamodb
        self._stack = DescribeLocalStack(stack, others) if stack is not None else None

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if self.dynamodb is not None and is_dynamodb_request(environ):
            return self.dynamodb(environ, start_response)
        if self._stack is not None and is_cloudformation_request(environ):
            return self._stack(environ, start_response)
        return self._others(environ, start_response)


class AwsEndpointServer:
    """moto's server (threaded werkzeug, moto's request handler) with DynamoDB passed on."""

    def __init__(
        self, host: str, port: int, dynamodb_endpoint: str | None, stack: LocalStackDescription | None = None
    ) -> None:
        self._host, self._port = host, port
        self._stack = stack
        self._forwarder = DynamoDbForwarder(dynamodb_endpoint) if dynamodb_endpoint else None
        self._server: Any = None
        self._thread: threading.Thread | None = None

    @property
    def forwarded(self) -> int:
        return self._forwarder.forwarded if self._forwarder else 0

    def start(self) -> None:
        from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
        from werkzeug.serving import make_server

        app = AwsEndpoint(DomainDispatcherApplication(create_backend_app), self._forwarder, self._stack)
        self._server = make_server(self._host, self._port, app, threaded=True, request_handler=MotoRequestHandler)
        self._thread = threading.Thread(target=self._server.serve_forever, name="aws endpoint", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(10)
        if self._forwarder is not None:
            self._forwarder.close()
