"""The local API Gateway: a threaded HTTP server that serves the template's routes as a REST API
with Lambda proxy integrations would, authorizer, limits and gateway responses included.

For each request: route matching (404/405), the stage's throttling (429), the Lambda authorizer
(401/403), the API key and its usage plan's throttle (403/429), API Gateway's 10 MB body limit
and Lambda's 6 MB event limit (413), the proxy event to the function, and its answer back as HTTP.
``GET /health`` is the local gateway's own.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any
from urllib.parse import quote, urlsplit

from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

from contacts_import.redaction import redact_text
from local_stack.api_events import (
    MAX_REQUEST_BODY_BYTES,
    HttpResponse,
    IncomingRequest,
    MalformedProxyResponse,
    gateway_response,
    method_arn,
    proxy_event,
    proxy_response,
    query_maps,
    request_authorizer_event,
    token_authorizer_event,
)
from local_stack.api_routing import MethodNotAllowed, RouteMatch, RouteTable
from local_stack.authorizer import AuthorizerCache, AuthorizerDecision, decide, evaluate, identity_values
from local_stack.lambda_runtime import MAX_SYNC_PAYLOAD_BYTES, InvocationResult, PayloadTooLarge
from local_stack.template import ApiSpec, StackTemplate, ThrottleSpec, UsagePlanSpec

# API Gateway REST APIs stop waiting for an integration after 29 s (504).
INTEGRATION_TIMEOUT_SECONDS = 29.0
HEALTH_PATH = "/health"
STATS_PATH = "/_local/stats"
_RAW_HEADERS = "local_stack.raw_headers"

Invoke = Callable[[str, str], InvocationResult]  # (function logical id, event JSON) -> result


class TokenBucket:
    """API Gateway's throttle: ``rate`` requests per second, bursts up to ``burst``."""

    def __init__(self, rate: float, burst: int, clock: Callable[[], float] = time.monotonic) -> None:
        self._rate = rate
        self._burst = float(burst)
        self._tokens = float(burst)
        self._clock = clock
        self._last = clock()
        self._lock = threading.Lock()

    def take(self) -> bool:
        with self._lock:
            now = self._clock()
            self._tokens = min(self._burst, self._tokens + (now - self._last) * self._rate)
            self._last = now
            if self._tokens >= 1:
                self._tokens -= 1
                return True
            return False


class Throttles:
    """The MethodSettings throttles of one API; the most specific setting applies."""

    def __init__(self, specs: Iterable[ThrottleSpec], clock: Callable[[], float] = time.monotonic) -> None:
        self._buckets = {
            (spec.resource_path, spec.http_method): TokenBucket(spec.rate_limit, spec.burst_limit, clock)
            for spec in specs
        }

    def admit(self, resource_path: str, method: str) -> bool:
        for key in ((resource_path, method), (resource_path, "*"), ("/*", method), ("/*", "*")):
            if key in self._buckets:
                return self._buckets[key].take()
        return True


class UsagePlanThrottles:
    """The usage plans' throttles of one API, one bucket per API key (usage identifier).

    Locally every identifier counts as a key of the API's usage plan (the first, if it has
    several): deployed, one that is not registered in it is refused with INVALID_API_KEY.
    """

    def __init__(self, plans: Iterable[UsagePlanSpec], clock: Callable[[], float] = time.monotonic) -> None:
        self._plan = next(iter(plans), None)
        self._clock = clock
        self._buckets: dict[str, TokenBucket] = {}
        self._lock = threading.Lock()

    def admit(self, usage_key: str) -> bool:
        plan = self._plan
        if plan is None or (plan.rate_limit is None and plan.burst_limit is None):
            return True
        with self._lock:
            bucket = self._buckets.get(usage_key)
            if bucket is None:
                rate = plan.rate_limit if plan.rate_limit is not None else 10000.0
                burst = plan.burst_limit if plan.burst_limit is not None else 5000
                bucket = self._buckets[usage_key] = TokenBucket(rate, burst, self._clock)
        return bucket.take()


@dataclass
class GatewayStats:
    requests: int = 0
    by_status: dict[int, int] = field(default_factory=dict)
    authorizer_invocations: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def count(self, status: int) -> None:
        with self._lock:
            self.requests += 1
            self.by_status[status] = self.by_status.get(status, 0) + 1

    def count_authorizer_invocation(self) -> None:
        with self._lock:
            self.authorizer_invocations += 1

    def as_dict(self) -> dict[str, Any]:
        return {
            "requests": self.requests,
            "by_status": {str(k): v for k, v in sorted(self.by_status.items())},
            "authorizer_invocations": self.authorizer_invocations,
        }


class LocalApiGateway:
    """A WSGI application serving the template's APIs; ``handle`` is the same without WSGI."""

    def __init__(
        self,
        template: StackTemplate,
        invoke: Invoke,
        *,
        server_port: int,
        integration_timeout: float = INTEGRATION_TIMEOUT_SECONDS,
        throttling: bool = True,
        log: Callable[[str], None] = lambda line: None,
        ready: Callable[[], bool] = lambda: True,
        health: Callable[[], Mapping[str, list[str]]] = dict,
        local_stats: Callable[[], dict[str, Any]] = dict,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.template = template
        self.routes = RouteTable(template.routes)
        self.server_port = server_port
        self.integration_timeout = integration_timeout
        self.authorizer_cache = AuthorizerCache()
        self.stats = GatewayStats()
        self._invoke = invoke
        # Log lines are built from our own parts (method, status, milliseconds, function ids,
        # request ids) and parts the client or a function sent (the path, an error's message),
        # and only the latter are masked: a pattern run over the whole line cannot
        # tell "200 (1033 ms)" from a phone number.
        self._log = log
        self._clock = clock
        self._ready = ready
        self._health_checks = health
        self._local_stats = local_stats
        self._throttles = {
            api_id: Throttles(api.throttles if throttling else ()) for api_id, api in template.apis.items()
        }
        self._usage_throttles = {
            api_id: UsagePlanThrottles(api.usage_plans if throttling else ()) for api_id, api in template.apis.items()
        }
        # API Gateway keeps waiting for nobody: a request thread gives up after the integration
        # timeout while the invocation runs on here, as the Lambda function would in AWS.
        self._integrations = ThreadPoolExecutor(max_workers=64, thread_name_prefix="integration")

    def close(self) -> None:
        self._integrations.shutdown(wait=False, cancel_futures=True)

    # -- WSGI

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
        started = self._clock()
        request = self._incoming(environ)
        if request.raw_path == HEALTH_PATH and request.method in ("GET", "HEAD"):
            response = self._health(request)
        elif request.raw_path == STATS_PATH and request.method == "GET":
            response = _json_response(200, {**self._local_stats(), "gateway": self.stats.as_dict()}, request)
        else:
            body_too_large = environ[_BODY_TOO_LARGE]
            try:
                response = self.handle(request, body_too_large=body_too_large)
            except Exception as exc:  # the gateway itself failed: still one answer, never a trace
                self._log(f"[ERROR] the local gateway failed on {_request_line(request)}: {redact_text(repr(exc))}")
                response = gateway_response(request, self._default_api(), "INTEGRATION_FAILURE")
            self.stats.count(response.status)
            elapsed_ms = (self._clock() - started) * 1000
            self._log(f"{_request_line(request)} -> {response.status} ({elapsed_ms:.0f} ms)")
        headers = [(k, v) for k, v in response.headers if k.lower() not in ("content-length", "connection")]
        headers.append(("Content-Length", str(len(response.body))))
        if environ[_BODY_TOO_LARGE]:
            headers.append(("Connection", "close"))
        start_response(f"{response.status} {_reason(response.status)}", headers)
        return [b"" if request.method == "HEAD" else response.body]

    def _incoming(self, environ: dict[str, Any]) -> IncomingRequest:
        raw_uri = environ.get("RAW_URI") or environ.get("REQUEST_URI") or ""
        # WSGI hands over the request line as latin-1; undo that to get the bytes the client sent.
        raw_uri = raw_uri.encode("latin-1").decode("utf-8", "replace")
        if not raw_uri:
            raw_uri = quote(environ.get("PATH_INFO", "/").encode("latin-1")) + (
                "?" + environ["QUERY_STRING"] if environ.get("QUERY_STRING") else ""
            )
        if not raw_uri.startswith("/"):
            parts = urlsplit(raw_uri)  # absolute-form request target
            raw_uri = parts.path + ("?" + parts.query if parts.query else "")
        raw_path, _, raw_query = raw_uri.partition("?")
        headers = environ.get(_RAW_HEADERS)
        if headers is None:
            headers = _headers_from_environ(environ)
        body, too_large = _read_body(environ)
        environ[_BODY_TOO_LARGE] = too_large
        return IncomingRequest(
            method=environ["REQUEST_METHOD"].upper(),
            raw_path=raw_path or "/",
            raw_query=raw_query,
            headers=[(name, value) for name, value in headers],
            body=body,
            source_ip=environ.get("REMOTE_ADDR") or "127.0.0.1",
        )

    def _health(self, request: IncomingRequest) -> HttpResponse:
        if not self._ready():
            return _json_response(503, {"status": "starting"}, request)
        found = self._health_checks()
        checks = {name: problems or "ok" for name, problems in found.items()}
        problems = [problem for name_problems in found.values() for problem in name_problems]
        if problems:
            document = {"status": "unavailable", "problem": "; ".join(problems), "checks": checks}
            return _json_response(503, document, request)
        return _json_response(200, {"status": "ok", "checks": checks}, request)

    # -- API Gateway's request pipeline

    def handle(self, request: IncomingRequest, *, body_too_large: bool = False) -> HttpResponse:
        if not self._ready():
            return gateway_response(request, self._default_api(), "SERVICE_UNAVAILABLE")
        match = self.routes.match(request.method, request.raw_path)
        if match is None:
            return gateway_response(request, self._default_api(), "MISSING_AUTHENTICATION_TOKEN")
        if isinstance(match, MethodNotAllowed):
            api = self.template.apis[match.api_id]
            if request.method == "OPTIONS" and api.cors is not None:
                return _preflight(api, match, request)
            allow = [("Allow", ", ".join(match.allowed_methods))]
            return gateway_response(request, api, "METHOD_NOT_ALLOWED", extra_headers=allow)
        api = self.template.apis[match.route.api_id]
        if not self._throttles[api.logical_id].admit(match.route.path, request.method):
            return gateway_response(request, api, "THROTTLED")
        if body_too_large:
            return gateway_response(request, api, "REQUEST_TOO_LARGE")

        authorizer_context = None
        decision = None
        if match.route.authorizer is not None:
            decision = self._authorize(request, match, api)
            if decision.outcome != "allow":
                return gateway_response(request, api, _DECISION_RESPONSE[decision.outcome])
            authorizer_context = decision.request_context_authorizer()
        if match.route.api_key_required:
            # After the authorizer, as in AWS: the key may be its answer (API key source AUTHORIZER).
            if api.api_key_source == "AUTHORIZER":
                usage_key = decision.answer.usage_identifier_key if decision and decision.answer else None
            else:
                usage_key = request.header("x-api-key")
            if not usage_key:
                return gateway_response(request, api, "INVALID_API_KEY")
            if not self._usage_throttles[api.logical_id].admit(usage_key):
                return gateway_response(request, api, "THROTTLED")

        event = proxy_event(
            request,
            match,
            api,
            self.template.account,
            server_port=self.server_port,
            authorizer=authorizer_context,
        )
        event_json = json.dumps(event)
        # Lambda refuses a synchronous event over 6 MB; API Gateway then answers with an error.
        # Locally that is the same 413 as a body over API Gateway's own 10 MB limit: with the
        # base64 encoding of every body, a body over about 4.5 MB already ends here.
        if len(event_json) > MAX_SYNC_PAYLOAD_BYTES:
            return gateway_response(request, api, "REQUEST_TOO_LARGE")
        result = self._call_integration(match.route.function_id, event_json, request, api)
        if isinstance(result, HttpResponse):
            return result
        if not result.ok:
            assert result.error is not None
            failure = f"{result.error.get('errorType')}: {result.error.get('errorMessage')}"
            self._log(
                f"[ERROR] {match.route.function_id} failed on {_request_line(request)}: {redact_text(failure)} "
                f"(RequestId {result.request_id})"
            )
            return gateway_response(request, api, "INTEGRATION_FAILURE")
        try:
            return proxy_response(result.result(), request, api)
        except MalformedProxyResponse as exc:
            malformed = redact_text(str(exc))
            self._log(f"[ERROR] Malformed Lambda proxy response from {match.route.function_id}: {malformed}")
            return gateway_response(request, api, "INTEGRATION_FAILURE")

    def _call_integration(
        self, function_id: str, event_json: str, request: IncomingRequest, api: ApiSpec
    ) -> InvocationResult | HttpResponse:
        future = self._integrations.submit(self._invoke, function_id, event_json)
        try:
            return future.result(timeout=self.integration_timeout)
        except FutureTimeout:
            self._log(f"[ERROR] {function_id} did not answer within {self.integration_timeout:.0f} s")
            return gateway_response(request, api, "INTEGRATION_TIMEOUT")
        except PayloadTooLarge:
            return gateway_response(request, api, "REQUEST_TOO_LARGE")

    def _authorize(self, request: IncomingRequest, match: RouteMatch, api: ApiSpec) -> AuthorizerDecision:
        assert match.route.authorizer is not None
        authorizer = api.authorizers.get(match.route.authorizer)
        if authorizer is None:  # not a Lambda authorizer: nothing here can let the request in
            return AuthorizerDecision("unauthorized")
        query, _ = query_maps(request.raw_query)
        identity = identity_values(authorizer, request, api, query or {})
        if identity is None:
            return AuthorizerDecision("unauthorized")
        arn = method_arn(self.template.account, api, request.method, request.raw_path)
        cached = self.authorizer_cache.get(authorizer, identity)
        if cached is not None:
            return evaluate(cached, arn, cached=True)

        if authorizer.payload_type == "TOKEN":
            token = identity[0]
            if authorizer.validation_expression and not _full_match(authorizer.validation_expression, token):
                return AuthorizerDecision("unauthorized")
            event: dict[str, Any] = token_authorizer_event(token, arn)
        else:
            event = request_authorizer_event(request, match, api, self.template.account, server_port=self.server_port)
        started = time.monotonic()
        self.stats.count_authorizer_invocation()
        result = self._invoke(authorizer.function_id, json.dumps(event))
        latency_ms = int((time.monotonic() - started) * 1000)
        decision = decide(result.error, None if result.error else result.result(), arn, latency_ms)
        if decision.outcome in ("failure", "configuration_error"):
            problem = redact_text(decision.message)
            self._log(f"[ERROR] authorizer {authorizer.name} ({authorizer.function_id}): {problem}")
        if decision.answer is not None:
            self.authorizer_cache.put(authorizer, identity, decision.answer)
        return decision

    def _default_api(self) -> ApiSpec | None:
        # An unmatched path belongs to no API; with a single API its gateway responses apply.
        apis = list(self.template.apis.values())
        return apis[0] if len(apis) == 1 else None


_DECISION_RESPONSE = {
    "unauthorized": "UNAUTHORIZED",
    "deny": "ACCESS_DENIED",
    "failure": "AUTHORIZER_FAILURE",
    "configuration_error": "AUTHORIZER_CONFIGURATION_ERROR",
}
_BODY_TOO_LARGE = "local_stack.body_too_large"


def _request_line(request: IncomingRequest) -> str:
    """``GET /lists/default/contacts/***71``: the path is the client's (a phone may be in it), so
    it is masked as the functions' own logs mask values (``contacts_import.redaction``)."""
    return f"{request.method} {redact_text(request.raw_path)}"


def _full_match(pattern: str, value: str) -> bool:
    try:
        return re.fullmatch(pattern, value) is not None
    except re.error:
        return False


def _preflight(api: ApiSpec, match: MethodNotAllowed, request: IncomingRequest) -> HttpResponse:
    assert api.cors is not None
    headers = [
        ("Access-Control-Allow-Origin", api.cors.allow_origin),
        (
            "Access-Control-Allow-Methods",
            api.cors.allow_methods or ",".join((*match.allowed_methods, "OPTIONS")),
        ),
        ("X-Request-ID", request.request_id),
    ]
    if api.cors.allow_headers:
        headers.append(("Access-Control-Allow-Headers", api.cors.allow_headers))
    if api.cors.max_age:
        headers.append(("Access-Control-Max-Age", api.cors.max_age))
    if api.cors.allow_credentials:
        headers.append(("Access-Control-Allow-Credentials", "true"))
    return HttpResponse(200, headers, b"")


def _json_response(status: int, document: Any, request: IncomingRequest) -> HttpResponse:
    return HttpResponse(
        status,
        [("Content-Type", "application/json"), ("X-Request-ID", request.request_id)],
        json.dumps(document).encode("utf-8"),
    )


def _reason(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Unknown"


def _headers_from_environ(environ: dict[str, Any]) -> list[tuple[str, str]]:
    headers = []
    for key, value in environ.items():
        if key.startswith("HTTP_"):
            headers.append((key[5:].replace("_", "-").title(), value))
        elif key in ("CONTENT_TYPE", "CONTENT_LENGTH") and value:
            headers.append((key.replace("_", "-").title(), value))
    return headers


def _read_body(environ: dict[str, Any]) -> tuple[bytes, bool]:
    """The body, and whether it was over API Gateway's limit. An oversized body is still read to
    its end (and dropped), so that the client gets the 413 rather than a reset connection."""
    stream = environ.get("wsgi.input")
    if stream is None:
        return b"", False
    length_header = environ.get("CONTENT_LENGTH")
    remaining = int(length_header) if length_header and length_header.isdigit() else None
    if remaining is None and not environ.get("wsgi.input_terminated"):
        return b"", False
    chunks: list[bytes] = []
    size = 0
    too_large = False
    while remaining is None or remaining > 0:
        chunk = stream.read(min(1 << 20, remaining) if remaining is not None else 1 << 20)
        if not chunk:
            break
        if remaining is not None:
            remaining -= len(chunk)
        size += len(chunk)
        if size > MAX_REQUEST_BODY_BYTES:
            too_large = True
            chunks.clear()
        elif not too_large:
            chunks.append(chunk)
    return (b"" if too_large else b"".join(chunks)), too_large


class _GatewayRequestHandler(WSGIRequestHandler):
    """Keeps the headers as the client wrote them (name case, order, repeats, underscores), which
    WSGI's environ loses and API Gateway's events keep."""

    def make_environ(self) -> dict[str, Any]:
        environ = super().make_environ()
        environ[_RAW_HEADERS] = list(self.headers.items())
        return environ

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        pass  # the gateway logs each request itself, with what it did


def serve(app: LocalApiGateway, host: str, port: int) -> tuple[BaseWSGIServer, threading.Thread]:
    """Binds the gateway's threaded HTTP server and serves it from a background thread."""
    server = make_server(host, port, app, threaded=True, request_handler=_GatewayRequestHandler)
    thread = threading.Thread(target=server.serve_forever, name="local api gateway", daemon=True)
    thread.start()
    return server, thread
