"""API Gateway's handling of a Lambda authorizer's answer, as the local gateway reproduces it."""

from __future__ import annotations

from typing import Any

from local_stack.api_events import IncomingRequest
from local_stack.authorizer import (
    AuthorizerCache,
    decide,
    identity_values,
    parse_answer,
    policy_allows,
)
from local_stack.template import ApiSpec, AuthorizerSpec

ARN = "arn:aws:execute-api:us-east-1:123456789012:abcdefghij/v1/GET/imports/imp_1"
AUTHORIZER = AuthorizerSpec(
    "Keys", "Auth", "REQUEST", identity_headers=("Authorization",), reauthorize_every_seconds=300
)
API = ApiSpec(logical_id="Api", api_id="abcdefghij", stage_name="v1")


def _answer(effect: str = "Allow", resource: Any = "*", context: Any = None) -> dict[str, Any]:
    answer: dict[str, Any] = {
        "principalId": "acct",
        "policyDocument": {
            "Version": "2012-10-17",
            "Statement": [{"Action": "execute-api:Invoke", "Effect": effect, "Resource": resource}],
        },
    }
    if context is not None:
        answer["context"] = context
    return answer


def test_allow_passes_principal_and_stringified_context() -> None:
    decision = decide(None, _answer(context={"account_id": "local", "admin": True, "n": 3, "none": None}), ARN, 12)
    assert decision.outcome == "allow"
    assert decision.request_context_authorizer() == {
        "account_id": "local",
        "admin": "true",
        "n": "3",
        "none": None,
        "principalId": "acct",
        "integrationLatency": 12,
    }


def test_unauthorized_error_is_401_and_other_errors_500() -> None:
    assert decide({"errorMessage": "Unauthorized", "errorType": "Exception"}, None, ARN).outcome == "unauthorized"
    assert decide({"errorMessage": "boom", "errorType": "ValueError"}, None, ARN).outcome == "failure"


def test_explicit_deny_and_missing_allow_are_403() -> None:
    assert decide(None, _answer("Deny"), ARN).outcome == "deny"
    assert decide(None, _answer(resource="arn:aws:execute-api:*:*:*/v1/POST/*"), ARN).outcome == "deny"


def test_invalid_answers_are_configuration_errors() -> None:
    for answer in (
        "Allow",
        {"principalId": "p"},
        _answer(context={"nested": {"a": 1}}),
        _answer(context=[1]),
        {**_answer(), "usageIdentifierKey": 42},
    ):
        assert decide(None, answer, ARN).outcome == "configuration_error", answer


def test_the_usage_identifier_key_is_kept_with_the_answer() -> None:
    decision = decide(None, {**_answer(), "usageIdentifierKey": "ciu_0123456789abcdef0123"}, ARN)
    assert decision.answer is not None and decision.answer.usage_identifier_key == "ciu_0123456789abcdef0123"
    assert "usageIdentifierKey" not in decision.request_context_authorizer()


def test_policy_wildcards_and_deny_precedence() -> None:
    statements = parse_answer(
        {
            "principalId": "p",
            "policyDocument": {
                "Statement": [
                    {"Action": "execute-api:Invoke", "Effect": "Allow", "Resource": ["arn:aws:execute-api:*/v1/*"]},
                    {
                        "Action": ["execute-api:*"],
                        "Effect": "Deny",
                        "Resource": "arn:aws:execute-api:*/v1/GET/imports/imp_?",
                    },
                ]
            },
        }
    ).statements
    assert not policy_allows(statements, ARN)
    assert policy_allows(statements, ARN.replace("imp_1", "imp_12"))
    assert not policy_allows(statements, ARN.replace("/v1/", "/v2/"))


def test_identity_sources() -> None:
    request = IncomingRequest("GET", "/imports", "", [("authorization", "Bearer k")], b"")
    assert identity_values(AUTHORIZER, request, API, {}) == ("Bearer k",)
    empty = IncomingRequest("GET", "/imports", "", [("Authorization", "")], b"")
    assert identity_values(AUTHORIZER, empty, API, {}) is None
    by_query = AuthorizerSpec("Q", "Auth", "REQUEST", identity_query_strings=("key",))
    assert identity_values(by_query, request, API, {"key": "v"}) == ("v",)
    assert identity_values(by_query, request, API, {}) is None


def test_cache_keeps_answers_for_the_ttl() -> None:
    now = [1000.0]
    cache = AuthorizerCache(clock=lambda: now[0])
    answer = parse_answer(_answer())
    cache.put(AUTHORIZER, ("Bearer k",), answer)
    assert cache.get(AUTHORIZER, ("Bearer k",)) is answer
    assert cache.get(AUTHORIZER, ("Bearer other",)) is None
    now[0] += 300
    assert cache.get(AUTHORIZER, ("Bearer k",)) is None


def test_no_cache_when_ttl_is_zero() -> None:
    uncached = AuthorizerSpec(
        "Keys", "Auth", "REQUEST", identity_headers=("Authorization",), reauthorize_every_seconds=0
    )
    cache = AuthorizerCache()
    cache.put(uncached, ("Bearer k",), parse_answer(_answer()))
    assert cache.get(uncached, ("Bearer k",)) is None
