"""The API Gateway shapes the local gateway builds: proxy events, authorizer events, the mapping of
a proxy answer back to HTTP, and gateway responses from the template."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime

from local_stack.api_events import (
    IncomingRequest,
    MalformedProxyResponse,
    gateway_response,
    header_maps,
    media_type_matches,
    method_arn,
    proxy_event,
    proxy_response,
    query_maps,
    request_authorizer_event,
    token_authorizer_event,
)
from local_stack.api_routing import RouteMatch
from local_stack.template import ApiRoute, ApiSpec, GatewayResponseSpec, LocalAccount

ACCOUNT = LocalAccount()
API = ApiSpec(
    logical_id="Api",
    api_id="abcdefghij",
    stage_name="v1",
    binary_media_types=("*/*",),
    stage_variables={"color": "blue"},
    gateway_responses={
        "UNAUTHORIZED": GatewayResponseSpec(
            "UNAUTHORIZED",
            401,
            headers={"X-Request-ID": "context.requestId", "X-Literal": "'fixed'"},
            templates={"application/json": '{"id": "$context.requestId", "ts": "$context.requestTime"}'},
        ),
        "DEFAULT_5XX": GatewayResponseSpec("DEFAULT_5XX", None, templates={"application/json": '{"five": true}'}),
    },
)
TEXT_API = ApiSpec(logical_id="Text", api_id="textapi123", stage_name="dev", binary_media_types=("image/*",))
ROUTE = ApiRoute("Api", "/lists/{list_id}/contacts/{phone}", "GET", "Fn", "GetContact", "Keys")
MATCH = RouteMatch(ROUTE, {"list_id": "default", "phone": "+14155552671"})
MOMENT = datetime(2026, 11, 21, 23, 16, 5, 123000, tzinfo=UTC)


def _request(**overrides: object) -> IncomingRequest:
    values: dict[str, object] = {
        "method": "GET",
        "raw_path": "/lists/default/contacts/%2B14155552671",
        "raw_query": "",
        "headers": [("Host", "127.0.0.1:3000"), ("User-Agent", "pytest"), ("Authorization", "Bearer k")],
        "body": b"",
        "source_ip": "127.0.0.7",
        "request_id": "0f3c1c6e-8a43-4f57-9d5f-2f3a3f9b1c11",
        "received_at": MOMENT,
    }
    values.update(overrides)
    return IncomingRequest(**values)  # type: ignore[arg-type]


def test_query_strings_single_and_multi_value() -> None:
    single, multi = query_maps("tag=a&tag=b&limit=10&email=x%2By%40z.com&q=two+words&empty=")
    assert single == {"tag": "b", "limit": "10", "email": "x+y@z.com", "q": "two words", "empty": ""}
    assert multi == {"tag": ["a", "b"], "limit": ["10"], "email": ["x+y@z.com"], "q": ["two words"], "empty": [""]}
    assert query_maps("") == (None, None)


def test_headers_keep_their_case_and_repeats() -> None:
    single, multi = header_maps([("X-Tag", "a"), ("x-tag", "b"), ("X-Tag", "c")])
    assert single == {"X-Tag": "c", "x-tag": "b"}
    assert multi == {"X-Tag": ["a", "c"], "x-tag": ["b"]}
    assert header_maps([]) == (None, None)


def test_proxy_event_has_the_rest_api_shape() -> None:
    request = _request(raw_query="limit=5&limit=6")
    event = proxy_event(request, MATCH, API, ACCOUNT, server_port=3000, authorizer={"principalId": "p", "a": "1"})

    assert event["resource"] == "/lists/{list_id}/contacts/{phone}"
    assert event["path"] == "/lists/default/contacts/%2B14155552671"  # still encoded, as REST APIs send it
    assert event["pathParameters"] == {"list_id": "default", "phone": "+14155552671"}
    assert event["httpMethod"] == "GET"
    assert event["queryStringParameters"] == {"limit": "6"}
    assert event["multiValueQueryStringParameters"] == {"limit": ["5", "6"]}
    assert event["stageVariables"] == {"color": "blue"}
    assert event["headers"]["Authorization"] == "Bearer k"
    assert event["headers"]["X-Forwarded-For"] == "127.0.0.7"
    assert event["multiValueHeaders"]["User-Agent"] == ["pytest"]
    assert (event["body"], event["isBase64Encoded"]) == (None, False)
    context = event["requestContext"]
    assert context["resourcePath"] == "/lists/{list_id}/contacts/{phone}"
    assert context["path"] == "/v1/lists/default/contacts/%2B14155552671"
    assert (context["stage"], context["apiId"], context["accountId"]) == ("v1", "abcdefghij", "123456789012")
    assert context["requestId"] == request.request_id
    assert context["requestTime"] == "21/Nov/2026:23:16:05 +0000"
    assert context["requestTimeEpoch"] == 1795302965123
    assert context["identity"]["sourceIp"] == "127.0.0.7"
    assert context["identity"]["userAgent"] == "pytest"
    assert context["authorizer"] == {"principalId": "p", "a": "1"}
    json.dumps(event)  # what reaches the function is JSON


def test_empty_parts_are_none_as_in_aws() -> None:
    api = ApiSpec(logical_id="Api", api_id="x", stage_name="v1")
    event = proxy_event(_request(), RouteMatch(ROUTE, {}), api, ACCOUNT, server_port=3000)
    assert event["queryStringParameters"] is None
    assert event["multiValueQueryStringParameters"] is None
    assert event["pathParameters"] is None
    assert event["stageVariables"] is None
    assert "authorizer" not in event["requestContext"]


def test_every_body_is_base64_under_a_binary_media_type_of_everything() -> None:
    csv = "phone\n+1415555\u00e4\n".encode("latin-1")
    for content_type in ("text/csv", "application/json", None):
        headers = [("Content-Type", content_type)] if content_type else []
        event = proxy_event(_request(method="POST", headers=headers, body=csv), MATCH, API, ACCOUNT, server_port=1)
        assert event["isBase64Encoded"] is True
        assert base64.b64decode(event["body"]) == csv  # byte-exact, whatever the encoding


def test_text_body_when_the_type_is_not_binary() -> None:
    request = _request(method="POST", headers=[("Content-Type", "application/json")], body=b'{"a": 1}')
    event = proxy_event(request, MATCH, TEXT_API, ACCOUNT, server_port=1)
    assert (event["body"], event["isBase64Encoded"]) == ('{"a": 1}', False)
    image = _request(method="POST", headers=[("Content-Type", "image/png")], body=b"\x89PNG")
    assert proxy_event(image, MATCH, TEXT_API, ACCOUNT, server_port=1)["isBase64Encoded"] is True


def test_media_type_matching() -> None:
    assert media_type_matches("text/csv; charset=utf-8", ("*/*",))
    assert media_type_matches("image/png", ("image/*",))
    assert not media_type_matches("text/csv", ("image/*", "application/pdf"))


def test_authorizer_events() -> None:
    event = request_authorizer_event(_request(), MATCH, API, ACCOUNT, server_port=3000)
    assert event["type"] == "REQUEST"
    assert event["methodArn"] == (
        "arn:aws:execute-api:us-east-1:123456789012:abcdefghij/v1/GET/lists/default/contacts/%2B14155552671"
    )
    assert event["headers"]["Authorization"] == "Bearer k"
    assert event["queryStringParameters"] == {}
    assert event["pathParameters"] == {"list_id": "default", "phone": "+14155552671"}
    assert event["requestContext"]["resourcePath"] == ROUTE.path
    assert token_authorizer_event("t", "arn:x") == {"type": "TOKEN", "authorizationToken": "t", "methodArn": "arn:x"}
    assert method_arn(ACCOUNT, API, "post", "/") == "arn:aws:execute-api:us-east-1:123456789012:abcdefghij/v1/POST/"


def test_proxy_response_merges_headers_and_decodes_base64() -> None:
    answer = {
        "statusCode": 201,
        "headers": {"X-One": "1", "Set-Cookie": "ignored"},
        "multiValueHeaders": {"Set-Cookie": ["a=1", "b=2"]},
        "body": base64.b64encode(b"\x00\x01binary").decode(),
        "isBase64Encoded": True,
    }
    response = proxy_response(answer, _request(), API)
    assert response.status == 201
    assert [v for k, v in response.headers if k == "Set-Cookie"] == ["a=1", "b=2"]
    assert response.header("X-One") == "1"
    assert response.header("Content-Type") == "application/json"
    assert response.body == b"\x00\x01binary"


def test_proxy_response_text_body_and_string_status() -> None:
    response = proxy_response({"statusCode": "200", "body": "héllo"}, _request(), API)
    assert (response.status, response.body) == (200, "héllo".encode())


def test_malformed_proxy_responses() -> None:
    for answer in ("text", None, {"body": "x"}, {"statusCode": "abc"}, {"statusCode": 200, "body": {"a": 1}}):
        try:
            proxy_response(answer, _request(), API)
        except MalformedProxyResponse:
            continue
        raise AssertionError(f"{answer!r} was accepted")


def test_gateway_response_from_the_template() -> None:
    response = gateway_response(_request(), API, "UNAUTHORIZED")
    assert response.status == 401
    assert json.loads(response.body) == {"id": "0f3c1c6e-8a43-4f57-9d5f-2f3a3f9b1c11", "ts": "2026-11-21T23:16:05.123Z"}
    assert response.header("X-Request-ID") == "0f3c1c6e-8a43-4f57-9d5f-2f3a3f9b1c11"
    assert response.header("X-Literal") == "fixed"
    assert response.header("Content-Type") == "application/json"


def test_default_5xx_of_the_template_covers_undeclared_5xx_types() -> None:
    response = gateway_response(_request(), API, "INTEGRATION_FAILURE")
    assert (response.status, json.loads(response.body)) == (500, {"five": True})


def test_built_in_responses_use_the_contract_envelope() -> None:
    for response_type, status, code in (
        ("MISSING_AUTHENTICATION_TOKEN", 404, "not_found"),
        ("METHOD_NOT_ALLOWED", 405, "method_not_allowed"),
        ("INTEGRATION_FAILURE", 500, "internal_error"),
    ):
        response = gateway_response(_request(), TEXT_API, response_type)
        body = json.loads(response.body)
        assert response.status == status
        assert body["error"] == {"code": code, "message": body["error"]["message"], "details": None}
        assert body["meta"] == {"request_id": "0f3c1c6e-8a43-4f57-9d5f-2f3a3f9b1c11", "ts": "2026-11-21T23:16:05.123Z"}
        assert response.header("X-Request-ID") == "0f3c1c6e-8a43-4f57-9d5f-2f3a3f9b1c11"
