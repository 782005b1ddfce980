"""API Gateway's side of a Lambda authorizer: identity sources, the authorizer's answer turned into
a decision, the policy evaluated against the request's method ARN, and the result cache.

As in AWS: a missing identity source is 401 without calling the authorizer; an authorizer that
fails with the message "Unauthorized" is 401; a policy that does not allow the method ARN
(or denies it explicitly) is 403; any other failure, or an answer that is not a valid authorizer
response, is 500. A cached answer is reused for ``ReauthorizeEvery`` seconds per identity, and its
*policy* is evaluated again for each request: a policy that allows only the first method ARN it
was issued for denies the next route, which is a classic deployed-only surprise worth seeing locally.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from local_stack.api_events import IncomingRequest
from local_stack.template import ApiSpec, AuthorizerSpec

Outcome = Literal["allow", "deny", "unauthorized", "failure", "configuration_error"]


@dataclass(frozen=True)
class AuthorizerAnswer:
    """A valid authorizer response, as cached."""

    principal_id: str
    statements: tuple[dict[str, Any], ...]
    context: dict[str, str | None]
    usage_identifier_key: str | None = None  # the caller's usage plan key, when the API takes it from here


@dataclass(frozen=True)
class AuthorizerDecision:
    outcome: Outcome
    answer: AuthorizerAnswer | None = None
    message: str = ""
    cached: bool = False
    latency_ms: int = 0

    def request_context_authorizer(self) -> dict[str, Any]:
        """``requestContext.authorizer`` of the proxy event: the context values as strings (API
        Gateway stringifies numbers and booleans), ``principalId`` and ``integrationLatency``."""
        assert self.answer is not None
        return {
            **self.answer.context,
            "principalId": self.answer.principal_id,
            "integrationLatency": 0 if self.cached else self.latency_ms,
        }


def identity_values(
    authorizer: AuthorizerSpec, request: IncomingRequest, api: ApiSpec, query: Mapping[str, str]
) -> tuple[str, ...] | None:
    """The values of the identity sources, or None when one is missing or empty."""
    values: list[str] = []
    for header in authorizer.identity_headers:
        value = request.header(header)
        if not value:
            return None
        values.append(value)
    for name in authorizer.identity_query_strings:
        if not query.get(name):
            return None
        values.append(query[name])
    for name in authorizer.identity_stage_variables:
        if not api.stage_variables.get(name):
            return None
        values.append(api.stage_variables[name])
    values.extend(authorizer.identity_context)
    return tuple(values)


def parse_answer(result: Any) -> AuthorizerAnswer:
    """Checks an authorizer's result as API Gateway does; ValueError names what is wrong."""
    if not isinstance(result, dict):
        raise ValueError("the authorizer answered something other than an object")
    principal_id = result.get("principalId")
    policy = result.get("policyDocument")
    if principal_id is None or not isinstance(policy, dict):
        raise ValueError("the answer needs principalId and policyDocument")
    statements = policy.get("Statement")
    if isinstance(statements, dict):
        statements = [statements]
    if not isinstance(statements, list) or not all(isinstance(s, dict) for s in statements):
        raise ValueError("policyDocument.Statement must be a list of statements")
    context = result.get("context") or {}
    if not isinstance(context, dict):
        raise ValueError("context must be an object")
    stringified: dict[str, str | None] = {}
    for key, value in context.items():
        if value is None:
            stringified[key] = None
        elif isinstance(value, bool):
            stringified[key] = "true" if value else "false"
        elif isinstance(value, (int, float, str)):
            stringified[key] = str(value)
        else:
            # API Gateway answers 500 (AuthorizerConfigurationException) for objects and arrays.
            raise ValueError(f"context.{key} must be a string, number or boolean")
    usage_key = result.get("usageIdentifierKey")
    if usage_key is not None and not isinstance(usage_key, str):
        raise ValueError("usageIdentifierKey must be a string")
    return AuthorizerAnswer(str(principal_id), tuple(statements), stringified, usage_key)


def _as_list(value: Any) -> list[str]:
    if value is None:
        return []
    return [str(item) for item in value] if isinstance(value, list) else [str(value)]


def _arn_pattern(pattern: str) -> re.Pattern[str]:
    # IAM wildcards: * is any run of characters (slashes included), ? is one character.
    parts = (re.escape(part).replace(r"\?", ".") for part in pattern.split("*"))
    return re.compile("^" + ".*".join(parts) + "$")


def _action_matches(actions: list[str]) -> bool:
    return any(action.lower() in ("*", "execute-api:*", "execute-api:invoke") for action in actions)


def policy_allows(statements: tuple[dict[str, Any], ...], arn: str) -> bool:
    """IAM evaluation of an authorizer policy for one method ARN: an explicit Deny wins, and
    without a matching Allow the answer is no."""
    allowed = False
    for statement in statements:
        if not _action_matches(_as_list(statement.get("Action"))):
            continue
        if not any(_arn_pattern(resource).match(arn) for resource in _as_list(statement.get("Resource"))):
            continue
        effect = str(statement.get("Effect", "")).lower()
        if effect == "deny":
            return False
        if effect == "allow":
            allowed = True
    return allowed


def decide(invoke_error: dict[str, Any] | None, result: Any, arn: str, latency_ms: int = 0) -> AuthorizerDecision:
    """The decision for a fresh authorizer invocation: its error document or its result."""
    if invoke_error is not None:
        if invoke_error.get("errorMessage") == "Unauthorized":
            return AuthorizerDecision("unauthorized", message="Unauthorized")
        return AuthorizerDecision("failure", message=str(invoke_error.get("errorMessage")))
    try:
        answer = parse_answer(result)
    except ValueError as exc:
        return AuthorizerDecision("configuration_error", message=str(exc))
    return evaluate(answer, arn, cached=False, latency_ms=latency_ms)


def evaluate(answer: AuthorizerAnswer, arn: str, *, cached: bool, latency_ms: int = 0) -> AuthorizerDecision:
    outcome: Outcome = "allow" if policy_allows(answer.statements, arn) else "deny"
    return AuthorizerDecision(outcome, answer=answer, cached=cached, latency_ms=latency_ms)


@dataclass
class AuthorizerCache:
    """Valid answers by (authorizer, identity values), for the authorizer's TTL."""

    clock: Callable[[], float] = time.monotonic
    _entries: dict[tuple[str, tuple[str, ...]], tuple[float, AuthorizerAnswer]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def get(self, authorizer: AuthorizerSpec, identity: tuple[str, ...]) -> AuthorizerAnswer | None:
        if authorizer.reauthorize_every_seconds <= 0:
            return None
        key = (authorizer.name, identity)
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                return None
            expires_at, answer = entry
            if self.clock() >= expires_at:
                del self._entries[key]
                return None
            return answer

    def put(self, authorizer: AuthorizerSpec, identity: tuple[str, ...], answer: AuthorizerAnswer) -> None:
        if authorizer.reauthorize_every_seconds <= 0:
            return
        with self._lock:
            self._entries[(authorizer.name, identity)] = (
                self.clock() + authorizer.reauthorize_every_seconds,
                answer,
            )
