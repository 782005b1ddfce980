"""The shapes API Gateway (REST API, Lambda proxy integration) exchanges with Lambda, built from a
local HTTP request: the proxy event (payload format 1.0), the REQUEST and TOKEN authorizer
events, the mapping of a proxy response back to HTTP, and the gateway responses of the template.

All pure functions of their inputs, so every rule here is unit-tested without a server.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl

from local_stack.api_routing import RouteMatch
from local_stack.template import ApiSpec, GatewayResponseSpec, LocalAccount

# API Gateway's limit on a request payload.
MAX_REQUEST_BODY_BYTES = 10 * 1024 * 1024


@dataclass(frozen=True)
class IncomingRequest:
    """A request as the local gateway received it: the path still percent-encoded, the headers
    with their names as the client wrote them, the body as bytes."""

    method: str
    raw_path: str
    raw_query: str
    headers: list[tuple[str, str]]
    body: bytes
    source_ip: str = "127.0.0.1"
    request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    received_at: datetime = field(default_factory=lambda: datetime.now(UTC))

    def header(self, name: str) -> str | None:
        """The last value of a header, its name matched without regard to case."""
        wanted = name.lower()
        value = None
        for header_name, header_value in self.headers:
            if header_name.lower() == wanted:
                value = header_value
        return value


@dataclass
class HttpResponse:
    status: int
    headers: list[tuple[str, str]]
    body: bytes

    def header(self, name: str) -> str | None:
        return next((v for k, v in reversed(self.headers) if k.lower() == name.lower()), None)


class MalformedProxyResponse(ValueError):
    """The function's answer is not a Lambda proxy response (API Gateway answers 502)."""


# ------------------------------------------------------------------------------ request parts


def header_maps(headers: list[tuple[str, str]]) -> tuple[dict[str, str] | None, dict[str, list[str]] | None]:
    """``headers`` (the last value of each) and ``multiValueHeaders``; None when there are none."""
    if not headers:
        return None, None
    single: dict[str, str] = {}
    multi: dict[str, list[str]] = {}
    for name, value in headers:
        single[name] = value
        multi.setdefault(name, []).append(value)
    return single, multi


def query_maps(raw_query: str) -> tuple[dict[str, str] | None, dict[str, list[str]] | None]:
    """``queryStringParameters`` and ``multiValueQueryStringParameters``, decoded as API Gateway
    decodes them (``+`` is a space); None when the query string is empty."""
    pairs = parse_qsl(raw_query, keep_blank_values=True)
    if not pairs:
        return None, None
    single: dict[str, str] = {}
    multi: dict[str, list[str]] = {}
    for name, value in pairs:
        single[name] = value
        multi.setdefault(name, []).append(value)
    return single, multi


def media_type_matches(content_type: str, patterns: tuple[str, ...]) -> bool:
    """Whether a Content-Type falls under one of the API's binary media types (``*/*``, ``image/*``)."""
    media_type = content_type.split(";", 1)[0].strip().lower()
    kind, _, subtype = media_type.partition("/")
    for pattern in patterns:
        wanted_kind, _, wanted_subtype = pattern.lower().partition("/")
        if wanted_kind in ("*", kind) and wanted_subtype in ("*", subtype):
            return True
    return False


def encode_body(request: IncomingRequest, api: ApiSpec) -> tuple[str | None, bool]:
    """``body`` and ``isBase64Encoded``. A body whose Content-Type is a binary media type of the
    API arrives base64-encoded and byte-exact; API Gateway takes a missing Content-Type as JSON."""
    if not request.body:
        return None, False
    content_type = request.header("Content-Type") or "application/json"
    if media_type_matches(content_type, api.binary_media_types):
        return base64.b64encode(request.body).decode("ascii"), True
    return request.body.decode("utf-8", "replace"), False


def method_arn(account: LocalAccount, api: ApiSpec, method: str, raw_path: str) -> str:
    path = raw_path if raw_path.startswith("/") else "/" + raw_path
    return (
        f"arn:{account.partition}:execute-api:{account.region}:{account.account_id}:"
        f"{api.api_id}/{api.stage_name}/{method.upper()}{path}"
    )


def clf_time(moment: datetime) -> str:
    """The ``requestTime`` format of API Gateway events: 21/Nov/2025:23:16:00 +0000."""
    return moment.astimezone(UTC).strftime("%d/%b/%Y:%H:%M:%S +0000")


def iso_time(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _resource_id(resource_path: str) -> str:
    return hashlib.sha256(resource_path.encode()).hexdigest()[:6]


def forwarded_headers(request: IncomingRequest, server_port: int) -> list[tuple[str, str]]:
    """The request's headers plus those API Gateway adds on its way to the integration."""
    headers = list(request.headers)
    present = {name.lower() for name, _ in headers}
    trace_id = f"Root=1-{int(request.received_at.timestamp()):08x}-{uuid.uuid4().hex[:24]}"
    for name, value in (
        ("X-Forwarded-For", request.source_ip),
        ("X-Forwarded-Port", str(server_port)),
        ("X-Forwarded-Proto", "http"),
        ("X-Amzn-Trace-Id", trace_id),
    ):
        if name.lower() not in present:
            headers.append((name, value))
    return headers


def request_context(
    request: IncomingRequest,
    match: RouteMatch,
    api: ApiSpec,
    account: LocalAccount,
    authorizer: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    host = request.header("Host") or f"{api.api_id}.execute-api.{account.region}.{account.url_suffix}"
    context: dict[str, Any] = {
        "resourceId": _resource_id(match.route.path),
        "resourcePath": match.route.path,
        "httpMethod": request.method,
        "extendedRequestId": base64.b32encode(uuid.UUID(request.request_id).bytes[:10]).decode().rstrip("="),
        "requestTime": clf_time(request.received_at),
        "path": f"/{api.stage_name}{request.raw_path}",
        "accountId": account.account_id,
        "protocol": "HTTP/1.1",
        "stage": api.stage_name,
        "domainPrefix": host.split(".", 1)[0],
        "requestTimeEpoch": int(request.received_at.timestamp() * 1000),
        "requestId": request.request_id,
        "identity": {
            "cognitoIdentityPoolId": None,
            "accountId": None,
            "cognitoIdentityId": None,
            "caller": None,
            "sourceIp": request.source_ip,
            "principalOrgId": None,
            "accessKey": None,
            "cognitoAuthenticationType": None,
            "cognitoAuthenticationProvider": None,
            "userArn": None,
            "userAgent": request.header("User-Agent"),
            "user": None,
            "apiKey": None,
            "apiKeyId": None,
            "clientCert": None,
        },
        "domainName": host,
        "apiId": api.api_id,
    }
    if authorizer is not None:
        context["authorizer"] = dict(authorizer)
    return context


def proxy_event(
    request: IncomingRequest,
    match: RouteMatch,
    api: ApiSpec,
    account: LocalAccount,
    *,
    server_port: int,
    authorizer: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The Lambda proxy integration event (payload format 1.0) API Gateway would send."""
    headers, multi_headers = header_maps(forwarded_headers(request, server_port))
    query, multi_query = query_maps(request.raw_query)
    body, is_base64 = encode_body(request, api)
    return {
        "resource": match.route.path,
        # REST APIs hand the path over still percent-encoded, the path parameters decoded.
        "path": request.raw_path,
        "httpMethod": request.method,
        "headers": headers,
        "multiValueHeaders": multi_headers,
        "queryStringParameters": query,
        "multiValueQueryStringParameters": multi_query,
        "pathParameters": match.path_parameters or None,
        "stageVariables": api.stage_variables or None,
        "requestContext": request_context(request, match, api, account, authorizer),
        "body": body,
        "isBase64Encoded": is_base64,
    }


def request_authorizer_event(
    request: IncomingRequest, match: RouteMatch, api: ApiSpec, account: LocalAccount, *, server_port: int
) -> dict[str, Any]:
    """The event of a REQUEST Lambda authorizer."""
    headers, multi_headers = header_maps(forwarded_headers(request, server_port))
    query, multi_query = query_maps(request.raw_query)
    return {
        "type": "REQUEST",
        "methodArn": method_arn(account, api, request.method, request.raw_path),
        "resource": match.route.path,
        "path": request.raw_path,
        "httpMethod": request.method,
        "headers": headers or {},
        "multiValueHeaders": multi_headers or {},
        "queryStringParameters": query or {},
        "multiValueQueryStringParameters": multi_query or {},
        "pathParameters": match.path_parameters,
        "stageVariables": api.stage_variables,
        "requestContext": request_context(request, match, api, account),
    }


def token_authorizer_event(token: str, arn: str) -> dict[str, Any]:
    """The event of a TOKEN Lambda authorizer."""
    return {"type": "TOKEN", "authorizationToken": token, "methodArn": arn}


# ------------------------------------------------------------------------------ responses


def proxy_response(result: Any, request: IncomingRequest, api: ApiSpec) -> HttpResponse:
    """The HTTP response for a function's proxy answer, merged as API Gateway merges
    ``headers`` and ``multiValueHeaders``."""
    if not isinstance(result, dict):
        raise MalformedProxyResponse(f"the function answered {type(result).__name__}, not an object")
    try:
        status = int(result.get("statusCode"))  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise MalformedProxyResponse(f"statusCode is {result.get('statusCode')!r}") from None
    single = result.get("headers") or {}
    multi = result.get("multiValueHeaders") or {}
    if not isinstance(single, dict) or not isinstance(multi, dict):
        raise MalformedProxyResponse("headers and multiValueHeaders must be objects")
    headers: list[tuple[str, str]] = []
    for name, values in multi.items():
        headers.extend((name, _header_value(value)) for value in (values if isinstance(values, list) else [values]))
    for name, value in single.items():
        if name not in multi:
            headers.append((name, _header_value(value)))
    if not any(name.lower() == "content-type" for name, _ in headers):
        headers.append(("Content-Type", "application/json"))  # API Gateway's default
    body = result.get("body")
    if body is None:
        payload = b""
    elif not isinstance(body, str):
        raise MalformedProxyResponse(f"body must be a string, got {type(body).__name__}")
    elif result.get("isBase64Encoded") and _answers_binary(request, headers, api):
        try:
            payload = base64.b64decode(body, validate=True)
        except ValueError:
            raise MalformedProxyResponse("isBase64Encoded is true but the body is not base64") from None
    else:
        payload = body.encode("utf-8")
    headers.append(("x-amzn-RequestId", request.request_id))
    return HttpResponse(status, headers, payload)


def _answers_binary(request: IncomingRequest, headers: list[tuple[str, str]], api: ApiSpec) -> bool:
    # API Gateway decodes a base64 answer when the client's Accept or the answer's Content-Type
    # is a binary media type; otherwise the client gets the base64 text.
    accept = request.header("Accept") or ""
    content_type = next((value for name, value in headers if name.lower() == "content-type"), "")
    return any(media_type_matches(part, api.binary_media_types) for part in accept.split(",") if part.strip()) or (
        media_type_matches(content_type, api.binary_media_types)
    )


def _header_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


# ------------------------------------------------------------------------- gateway responses

# The local gateway's own answers where the template declares none. They use the contract's error
# envelope. (In AWS an unknown route or method answers 403 MISSING_AUTHENTICATION_TOKEN, and a
# crashed integration 502, unless the template declares gateway responses for them.)
_BUILT_IN: dict[str, tuple[int, str, str]] = {
    "MISSING_AUTHENTICATION_TOKEN": (404, "not_found", "No route matches this path."),
    "METHOD_NOT_ALLOWED": (405, "method_not_allowed", "This path does not accept this method."),
    "UNAUTHORIZED": (401, "unauthorized", "Unauthorized"),
    "ACCESS_DENIED": (403, "forbidden", "User is not authorized to access this resource"),
    "INVALID_API_KEY": (403, "forbidden", "Forbidden"),
    "REQUEST_TOO_LARGE": (413, "payload_too_large", "Request Too Long"),
    "THROTTLED": (429, "rate_limited", "Too Many Requests"),
    "AUTHORIZER_FAILURE": (500, "internal_error", "Internal server error"),
    "AUTHORIZER_CONFIGURATION_ERROR": (500, "internal_error", "Internal server error"),
    "INTEGRATION_FAILURE": (500, "internal_error", "Internal server error"),
    "INTEGRATION_TIMEOUT": (504, "gateway_timeout", "Endpoint request timed out"),
    "SERVICE_UNAVAILABLE": (503, "service_unavailable", "The local stack is still starting."),
}
# Answers only the local gateway gives; DEFAULT_4XX/5XX of the template do not cover them.
_LOCAL_ONLY = {"METHOD_NOT_ALLOWED", "SERVICE_UNAVAILABLE"}
_CONTEXT_VARIABLE = re.compile(r"\$(?:\{context\.([A-Za-z0-9_.]+)\}|context\.([A-Za-z0-9_.]+))")


def error_envelope(code: str, message: str, request_id: str, ts: str, details: Any = None) -> bytes:
    """The contract's error body."""
    return json.dumps(
        {
            "error": {"code": code, "message": message, "details": details},
            "meta": {"request_id": request_id, "ts": ts},
        }
    ).encode("utf-8")


def gateway_context(request: IncomingRequest, api: ApiSpec | None, response_type: str, message: str) -> dict[str, Any]:
    """What ``$context`` holds in a gateway response. ``requestTime`` is ISO 8601 here (AWS
    writes 21/Nov/2025:23:16:00 +0000), so the envelope's ``ts`` is ISO 8601 like the functions'."""
    return {
        "requestId": request.request_id,
        "extendedRequestId": request.request_id,
        "requestTime": iso_time(request.received_at),
        "requestTimeEpoch": str(int(request.received_at.timestamp() * 1000)),
        "httpMethod": request.method,
        "path": f"/{api.stage_name}{request.raw_path}" if api else request.raw_path,
        "stage": api.stage_name if api else "",
        "apiId": api.api_id if api else "",
        "identity.sourceIp": request.source_ip,
        "identity.userAgent": request.header("User-Agent") or "",
        "error.message": message,
        "error.messageString": json.dumps(message),
        "error.responseType": response_type,
    }


def gateway_response(
    request: IncomingRequest,
    api: ApiSpec | None,
    response_type: str,
    *,
    message: str | None = None,
    extra_headers: list[tuple[str, str]] | None = None,
) -> HttpResponse:
    """API Gateway's own answer of ``response_type``: the template's gateway response when it
    declares one (or a DEFAULT_4XX/DEFAULT_5XX that covers it), else the local built-in one."""
    status, code, default_message = _BUILT_IN[response_type]
    message = message or default_message
    spec = _declared_response(api, response_type, status)
    headers = [("x-amzn-RequestId", request.request_id), ("x-amzn-ErrorType", _error_type(response_type))]
    headers.extend(extra_headers or [])
    if spec is None:
        headers += [("Content-Type", "application/json"), ("X-Request-ID", request.request_id)]
        body = error_envelope(code, message, request.request_id, iso_time(request.received_at))
        return HttpResponse(status, headers, body)
    context = gateway_context(request, api, response_type, message)
    for name, expression in spec.headers.items():
        headers.append((name, _header_mapping(expression, context, request)))
    content_type, template = _pick_template(spec, request)
    body_text = _render(template, context) if template is not None else json.dumps({"message": message})
    headers.append(("Content-Type", content_type))
    return HttpResponse(spec.status_code or status, headers, body_text.encode("utf-8"))


def _declared_response(api: ApiSpec | None, response_type: str, status: int) -> GatewayResponseSpec | None:
    if api is None:
        return None
    if response_type in api.gateway_responses:
        return api.gateway_responses[response_type]
    if response_type in _LOCAL_ONLY:
        return None
    return api.gateway_responses.get("DEFAULT_5XX" if status >= 500 else "DEFAULT_4XX")


def _error_type(response_type: str) -> str:
    return {
        "UNAUTHORIZED": "UnauthorizedException",
        "ACCESS_DENIED": "AccessDeniedException",
        "INVALID_API_KEY": "ForbiddenException",
        "MISSING_AUTHENTICATION_TOKEN": "MissingAuthenticationTokenException",
        "REQUEST_TOO_LARGE": "RequestTooLargeException",
        "THROTTLED": "TooManyRequestsException",
        "AUTHORIZER_CONFIGURATION_ERROR": "AuthorizerConfigurationException",
        "AUTHORIZER_FAILURE": "AuthorizerFailureException",
        "INTEGRATION_TIMEOUT": "IntegrationTimeoutException",
    }.get(
        response_type,
        "InternalServerErrorException" if _BUILT_IN[response_type][0] >= 500 else "BadRequestException",
    )


def _pick_template(spec: GatewayResponseSpec, request: IncomingRequest) -> tuple[str, str | None]:
    if not spec.templates:
        return "application/json", None
    accept = request.header("Accept") or ""
    for content_type, template in spec.templates.items():
        if content_type in accept:
            return content_type, template
    if "application/json" in spec.templates:
        return "application/json", spec.templates["application/json"]
    return next(iter(spec.templates.items()))


def _render(template: str, context: Mapping[str, Any]) -> str:
    # The part of VTL gateway responses use: $context variables. Unknown ones render empty.
    return _CONTEXT_VARIABLE.sub(lambda m: str(context.get(m.group(1) or m.group(2), "")), template)


def _header_mapping(expression: str, context: Mapping[str, Any], request: IncomingRequest) -> str:
    if len(expression) >= 2 and expression[0] == expression[-1] == "'":
        return expression[1:-1]
    if expression.startswith("context."):
        return str(context.get(expression[len("context.") :], ""))
    if expression.startswith("method.request.header."):
        return request.header(expression[len("method.request.header.") :]) or ""
    if expression.startswith("method.request.querystring."):
        query, _ = query_maps(request.raw_query)
        return (query or {}).get(expression[len("method.request.querystring.") :], "")
    return ""
