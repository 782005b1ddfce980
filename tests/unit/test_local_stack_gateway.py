"""The local gateway's request pipeline, with the functions replaced by plain Python callables:
routing, the authorizer and its cache, limits, errors, and the answer back as HTTP."""

from __future__ import annotations

import base64
import json
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from werkzeug.test import Client

from local_stack.api_events import IncomingRequest
from local_stack.gateway import LocalApiGateway, Throttles, TokenBucket
from local_stack.lambda_runtime import InvocationResult
from local_stack.template import StackTemplate, ThrottleSpec, load_template

TEMPLATE = """
Resources:
  Api:
    Type: AWS::Serverless::Api
    Properties:
      StageName: v1
      BinaryMediaTypes: ["*~1*"]
      Auth:
        DefaultAuthorizer: Keys
        Authorizers:
          Keys:
            FunctionArn: !GetAtt Auth.Arn
            FunctionPayloadType: REQUEST
            Identity: {Headers: [Authorization], ReauthorizeEvery: 300}
      GatewayResponses:
        UNAUTHORIZED:
          StatusCode: "401"
          ResponseParameters: {Headers: {X-Request-ID: context.requestId}}
          ResponseTemplates:
            application/json: '{"error": {"code": "unauthorized"}, "meta": {"request_id": "$context.requestId"}}'
        ACCESS_DENIED:
          StatusCode: "403"
          ResponseParameters: {Headers: {X-Request-ID: context.requestId}}
          ResponseTemplates: {application/json: '{"error": {"code": "forbidden"}}'}
        REQUEST_TOO_LARGE:
          StatusCode: "413"
          ResponseParameters: {Headers: {X-Request-ID: context.requestId}}
          ResponseTemplates: {application/json: '{"error": {"code": "payload_too_large"}}'}
  Auth:
    Type: AWS::Serverless::Function
    Properties: {CodeUri: auth/, Handler: app.handler}
  Web:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: web/
      Handler: app.handler
      Events:
        List: {Type: Api, Properties: {RestApiId: !Ref Api, Path: /things, Method: GET}}
        Create: {Type: Api, Properties: {RestApiId: !Ref Api, Path: /things, Method: POST}}
        Get: {Type: Api, Properties: {RestApiId: !Ref Api, Path: "/things/{thing_id}", Method: GET}}
        Open: {Type: Api, Properties: {RestApiId: !Ref Api, Path: /open, Method: GET, Auth: {Authorizer: NONE}}}
"""

ALLOW_ALL = {
    "principalId": "acct-1",
    "policyDocument": {
        "Version": "2012-10-17",
        "Statement": [{"Action": "execute-api:Invoke", "Effect": "Allow", "Resource": "*"}],
    },
    "context": {"account_id": "acct-1", "admin": False},
}


@pytest.fixture
def template(tmp_path: Path) -> StackTemplate:
    path = tmp_path / "template.yaml"
    path.write_text(TEMPLATE, encoding="utf-8")
    return load_template(path)


class FakeFunctions:
    """Stands in for the workers: each function is a Python callable of the event."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.authorizer: Callable[[dict[str, Any]], Any] = lambda event: ALLOW_ALL
        self.web: Callable[[dict[str, Any]], Any] = lambda event: {"statusCode": 200, "body": json.dumps(event)}

    def __call__(self, function_id: str, event_json: str) -> InvocationResult:
        event = json.loads(event_json)
        self.calls.append((function_id, event))
        handler = self.authorizer if function_id == "Auth" else self.web
        try:
            result = handler(event)
        except Exception as exc:
            return InvocationResult("req", error={"errorType": type(exc).__name__, "errorMessage": str(exc)})
        return InvocationResult("req", result_json=json.dumps(result))

    def count(self, function_id: str) -> int:
        return sum(1 for called, _ in self.calls if called == function_id)


@pytest.fixture
def functions() -> FakeFunctions:
    return FakeFunctions()


@pytest.fixture
def gateway(template: StackTemplate, functions: FakeFunctions) -> LocalApiGateway:
    return LocalApiGateway(template, functions, server_port=3000, throttling=False)


def _get(gateway: LocalApiGateway, path: str, key: str | None = "Bearer good", **kwargs: Any) -> Any:
    headers = {"Authorization": key} if key else {}
    headers.update(kwargs.pop("headers", {}))
    return Client(gateway).open(path, headers=headers, **kwargs)


def test_authorized_request_reaches_the_function(gateway: LocalApiGateway, functions: FakeFunctions) -> None:
    response = _get(gateway, "/things/t%201?x=1&x=2")
    assert response.status_code == 200
    event = json.loads(response.data)
    assert event["resource"] == "/things/{thing_id}"
    assert event["pathParameters"] == {"thing_id": "t 1"}
    assert event["multiValueQueryStringParameters"] == {"x": ["1", "2"]}
    assert event["requestContext"]["authorizer"]["principalId"] == "acct-1"
    assert event["requestContext"]["authorizer"]["admin"] == "false"
    auth_event = next(e for f, e in functions.calls if f == "Auth")
    assert auth_event["type"] == "REQUEST"
    assert auth_event["methodArn"].endswith("/v1/GET/things/t%201")


def test_missing_key_is_401_without_calling_the_authorizer(gateway: LocalApiGateway, functions: FakeFunctions) -> None:
    response = _get(gateway, "/things", key=None)
    assert response.status_code == 401
    assert json.loads(response.data)["error"]["code"] == "unauthorized"
    assert response.headers["X-Request-ID"] == json.loads(response.data)["meta"]["request_id"]
    assert functions.count("Auth") == 0


def test_authorizer_unauthorized_deny_and_failure(gateway: LocalApiGateway, functions: FakeFunctions) -> None:
    def unauthorized(event: dict[str, Any]) -> Any:
        raise Exception("Unauthorized")

    functions.authorizer = unauthorized
    assert _get(gateway, "/things", key="Bearer a").status_code == 401

    functions.authorizer = lambda event: {
        **ALLOW_ALL,
        "policyDocument": {"Statement": [{**ALLOW_ALL["policyDocument"]["Statement"][0], "Effect": "Deny"}]},
    }
    denied = _get(gateway, "/things", key="Bearer b")
    assert denied.status_code == 403
    assert json.loads(denied.data) == {"error": {"code": "forbidden"}}

    def broken(event: dict[str, Any]) -> Any:
        raise ValueError("table missing")

    functions.authorizer = broken
    failed = _get(gateway, "/things", key="Bearer c")
    assert failed.status_code == 500
    assert json.loads(failed.data)["error"]["code"] == "internal_error"
    assert functions.count("Web") == 0


def test_authorizer_answer_is_cached_per_key(gateway: LocalApiGateway, functions: FakeFunctions) -> None:
    for _ in range(3):
        assert _get(gateway, "/things").status_code == 200
    assert functions.count("Auth") == 1
    assert _get(gateway, "/things", key="Bearer other").status_code == 200
    assert functions.count("Auth") == 2


def test_cached_policy_is_evaluated_for_each_method_arn(gateway: LocalApiGateway, functions: FakeFunctions) -> None:
    def allow_only_this(event: dict[str, Any]) -> Any:
        statement = {"Action": "execute-api:Invoke", "Effect": "Allow", "Resource": event["methodArn"]}
        return {**ALLOW_ALL, "policyDocument": {"Statement": [statement]}}

    functions.authorizer = allow_only_this
    assert _get(gateway, "/things").status_code == 200
    assert _get(gateway, "/things/1").status_code == 403  # as in AWS with a cached narrow policy


def test_route_without_authorizer(gateway: LocalApiGateway, functions: FakeFunctions) -> None:
    response = _get(gateway, "/open", key=None)
    assert response.status_code == 200
    assert "authorizer" not in json.loads(response.data)["requestContext"]
    assert functions.count("Auth") == 0


def test_unknown_route_and_wrong_method(gateway: LocalApiGateway) -> None:
    missing = _get(gateway, "/nothing")
    assert missing.status_code == 404
    body = json.loads(missing.data)
    assert body["error"]["code"] == "not_found" and body["error"]["details"] is None
    assert missing.headers["X-Request-ID"] == body["meta"]["request_id"]
    wrong = _get(gateway, "/things", method="DELETE")
    assert wrong.status_code == 405
    assert json.loads(wrong.data)["error"]["code"] == "method_not_allowed"
    assert wrong.headers["Allow"] == "GET, POST"
    assert wrong.headers["X-Request-ID"]


def test_binary_body_round_trip(gateway: LocalApiGateway, functions: FakeFunctions) -> None:
    payload = "phone\n+49 30 123456 Müller\n".encode("cp1252")

    def echo(event: dict[str, Any]) -> Any:
        return {
            "statusCode": 201,
            "body": event["body"],
            "isBase64Encoded": event["isBase64Encoded"],
            "headers": {"Content-Type": "text/csv"},
        }

    functions.web = echo
    response = _get(gateway, "/things", method="POST", data=payload, headers={"Content-Type": "text/csv"})
    assert response.status_code == 201
    assert response.data == payload
    assert response.headers["Content-Type"] == "text/csv"


def test_body_over_10_mb_is_413(gateway: LocalApiGateway, functions: FakeFunctions) -> None:
    response = _get(gateway, "/things", method="POST", data=b"x" * (10 * 1024 * 1024 + 1))
    assert response.status_code == 413
    assert json.loads(response.data) == {"error": {"code": "payload_too_large"}}
    assert functions.count("Web") == 0


def test_event_over_lambdas_6_mb_is_413(gateway: LocalApiGateway, functions: FakeFunctions) -> None:
    # 5 MB is under API Gateway's limit, but base64 makes the event larger than Lambda accepts.
    response = _get(gateway, "/things", method="POST", data=b"x" * (5 * 1024 * 1024))
    assert response.status_code == 413
    assert functions.count("Web") == 0


def test_function_crash_is_a_500_envelope_without_trace(gateway: LocalApiGateway, functions: FakeFunctions) -> None:
    def crash(event: dict[str, Any]) -> Any:
        raise RuntimeError("secret detail")

    functions.web = crash
    response = _get(gateway, "/things")
    body = json.loads(response.data)
    assert response.status_code == 500
    assert body["error"]["code"] == "internal_error"
    assert "secret" not in response.get_data(as_text=True)
    assert response.headers["X-Request-ID"] == body["meta"]["request_id"]


def test_malformed_proxy_answer_is_a_500(gateway: LocalApiGateway, functions: FakeFunctions) -> None:
    functions.web = lambda event: {"body": "no status"}
    assert _get(gateway, "/things").status_code == 500


def test_integration_timeout_is_504(template: StackTemplate, functions: FakeFunctions) -> None:
    release = threading.Event()

    def stuck(event: dict[str, Any]) -> Any:
        release.wait()
        return {"statusCode": 200}

    functions.web = stuck
    gateway = LocalApiGateway(template, functions, server_port=3000, integration_timeout=0.01)
    try:
        assert _get(gateway, "/things").status_code == 504
    finally:
        release.set()
        gateway.close()


def test_health_answers_503_until_ready(template: StackTemplate, functions: FakeFunctions) -> None:
    ready = threading.Event()
    gateway = LocalApiGateway(template, functions, server_port=3000, ready=ready.is_set)
    starting = Client(gateway).get("/health")
    assert (starting.status_code, starting.json) == (503, {"status": "starting"})
    assert _get(gateway, "/things").status_code == 503
    ready.set()
    healthy = Client(gateway).get("/health")
    assert (healthy.status_code, healthy.json) == (200, {"status": "ok", "checks": {}})
    assert healthy.headers["X-Request-ID"]


def test_health_names_every_problem_its_checks_found(template: StackTemplate, functions: FakeFunctions) -> None:
    found = {"aws:s3": [], "function:Web": ["Web: its idle worker (pid 7) did not answer within 2 s"]}
    gateway = LocalApiGateway(template, functions, server_port=3000, health=lambda: found)
    unhealthy = Client(gateway).get("/health")
    assert unhealthy.status_code == 503
    assert unhealthy.json == {
        "status": "unavailable",
        "problem": "Web: its idle worker (pid 7) did not answer within 2 s",
        "checks": {"aws:s3": "ok", "function:Web": ["Web: its idle worker (pid 7) did not answer within 2 s"]},
    }


def test_headers_reach_the_event_as_sent(gateway: LocalApiGateway) -> None:
    request = IncomingRequest(
        "GET", "/open", "", [("x-lower", "1"), ("X-Twice", "a"), ("X-Twice", "b"), ("With_Underscore", "u")], b""
    )
    response = gateway.handle(request)
    event = json.loads(response.body)
    assert event["headers"]["x-lower"] == "1"
    assert event["multiValueHeaders"]["X-Twice"] == ["a", "b"]
    assert event["headers"]["With_Underscore"] == "u"


def test_base64_answer_is_decoded(gateway: LocalApiGateway, functions: FakeFunctions) -> None:
    functions.web = lambda event: {
        "statusCode": 200,
        "body": base64.b64encode(b"\xff\x00").decode(),
        "isBase64Encoded": True,
    }
    assert _get(gateway, "/things").data == b"\xff\x00"


def test_throttling_token_bucket() -> None:
    now = [0.0]
    bucket = TokenBucket(rate=2, burst=3, clock=lambda: now[0])
    assert [bucket.take() for _ in range(4)] == [True, True, True, False]
    now[0] += 0.5
    assert bucket.take() and not bucket.take()
    throttles = Throttles(
        [ThrottleSpec("/*", "*", 1, 1), ThrottleSpec("/things", "GET", 100, 100)], clock=lambda: now[0]
    )
    assert throttles.admit("/other", "GET") and not throttles.admit("/other", "GET")
    assert throttles.admit("/things", "GET") and throttles.admit("/things", "GET")


def test_throttled_requests_get_429(template: StackTemplate, functions: FakeFunctions, tmp_path: Path) -> None:
    throttled_template = tmp_path / "throttled.yaml"
    throttled_template.write_text(
        TEMPLATE.replace(
            "      StageName: v1\n",
            "      StageName: v1\n      MethodSettings:\n"
            "        - {ResourcePath: '/*', HttpMethod: '*', ThrottlingRateLimit: 0.001, ThrottlingBurstLimit: 1}\n",
        ),
        encoding="utf-8",
    )
    gateway = LocalApiGateway(load_template(throttled_template), functions, server_port=3000)
    assert _get(gateway, "/open").status_code == 200
    throttled = _get(gateway, "/open")
    assert throttled.status_code == 429
    assert json.loads(throttled.data)["error"]["code"] == "rate_limited"


USAGE_PLAN = """
  Plan:
    Type: AWS::ApiGateway::UsagePlan
    Properties:
      ApiStages: [{ApiId: !Ref Api, Stage: !Ref Api.Stage}]
      Throttle: {RateLimit: 0.001, BurstLimit: 2}
"""


def _with_usage_plan(tmp_path: Path, key_source: str = "AUTHORIZER") -> StackTemplate:
    path = tmp_path / "usage.yaml"
    path.write_text(
        TEMPLATE.replace(
            "      StageName: v1\n",
            f"      StageName: v1\n      ApiKeySourceType: {key_source}\n",
        ).replace(
            "      Auth:\n        DefaultAuthorizer: Keys\n",
            "      Auth:\n        ApiKeyRequired: true\n        DefaultAuthorizer: Keys\n",
        )
        + USAGE_PLAN,
        encoding="utf-8",
    )
    return load_template(path)


def test_usage_plan_throttles_each_usage_identifier_the_authorizer_names(
    tmp_path: Path, functions: FakeFunctions
) -> None:
    template = _with_usage_plan(tmp_path)
    assert template.apis["Api"].usage_plans[0].burst_limit == 2
    assert all(route.api_key_required for route in template.routes)
    functions.authorizer = lambda event: {**ALLOW_ALL, "usageIdentifierKey": event["headers"]["Authorization"][-1]}
    gateway = LocalApiGateway(template, functions, server_port=3000)

    assert [_get(gateway, "/things", key="Bearer a").status_code for _ in range(3)] == [200, 200, 429]
    assert _get(gateway, "/things", key="Bearer b").status_code == 200  # another identifier, its own bucket
    throttled = _get(gateway, "/things", key="Bearer a")
    assert json.loads(throttled.data)["error"]["code"] == "rate_limited"
    assert functions.count("Web") == 3


def test_a_required_key_the_authorizer_does_not_name_is_403(tmp_path: Path, functions: FakeFunctions) -> None:
    gateway = LocalApiGateway(_with_usage_plan(tmp_path), functions, server_port=3000)
    refused = _get(gateway, "/things")  # ALLOW_ALL answers no usageIdentifierKey
    assert refused.status_code == 403
    assert json.loads(refused.data)["error"]["code"] == "forbidden"
    assert functions.count("Web") == 0


def test_with_the_header_as_key_source_the_x_api_key_counts(tmp_path: Path, functions: FakeFunctions) -> None:
    gateway = LocalApiGateway(_with_usage_plan(tmp_path, "HEADER"), functions, server_port=3000)
    assert _get(gateway, "/things").status_code == 403
    assert _get(gateway, "/things", headers={"x-api-key": "k" * 20}).status_code == 200


class SteppedClock:
    """A monotonic clock that a fake function moves on: a slow request without waiting for one."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_the_request_log_keeps_our_status_and_timing_and_masks_what_the_request_sent(
    template: StackTemplate, functions: FakeFunctions
) -> None:
    clock, lines = SteppedClock(), []
    gateway = LocalApiGateway(template, functions, server_port=3000, throttling=False, log=lines.append, clock=clock)

    def slow(event: dict[str, Any]) -> Any:
        clock.now += 1.033
        return {"statusCode": 200, "body": "{}"}

    def hung_then_failed(event: dict[str, Any]) -> Any:
        clock.now += 20.5
        raise RuntimeError("no contact +14155552671 <ann@lee.org>")

    functions.web = slow
    _get(gateway, "/things")
    _get(gateway, "/things/2125550123")  # a phone-like id in the path: the client's value
    functions.web = hung_then_failed
    _get(gateway, "/things/4155552671")

    assert lines[0] == "GET /things -> 200 (1033 ms)"
    assert lines[1] == "GET /things/***23 -> 200 (1033 ms)"
    assert lines[2] == (
        "[ERROR] Web failed on GET /things/***71: RuntimeError: no contact ***71 <<email>> (RequestId req)"
    )
    assert lines[3] == "GET /things/***71 -> 500 (20500 ms)"
