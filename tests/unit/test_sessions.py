"""Browser session tokens: how they are minted, when they end, and what a session may do."""

from __future__ import annotations

import pytest
from aws_lambda_powertools.utilities.data_classes import APIGatewayProxyEvent

from contacts_import.api.resolver import Caller, caller
from contacts_import.auth.keys import ALL_SCOPES, ApiKeyRecord, hash_api_key
from contacts_import.auth.sessions import (
    DEFAULT_TTL_SECONDS,
    SESSION_CREATE,
    SESSION_READ,
    SESSION_SCOPES,
    mint_session,
)
from contacts_import.errors import Forbidden, InvalidOptions, NotFound, Unauthorized
from contacts_import.models import ImportOptions
from contacts_import.service.sessions import session_request
from tests.sample_events import api_event

NOW = 1_800_000_000.0


def test_a_session_is_random_stored_hashed_and_ends_after_its_ttl():
    one, two = mint_session("acct", "list-1", 900, NOW), mint_session("acct", None, 900, NOW)
    assert one.token != two.token and one.token.startswith("cis_")
    assert one.record.key_hash == hash_api_key(one.token)
    assert one.token not in str(one.record.to_item())
    assert one.record.expires_at == int(NOW) + 900
    assert one.expires_at_iso == "2027-01-15T08:15:00Z"
    assert not one.record.expired(NOW + 899) and one.record.expired(NOW + 900)
    assert ApiKeyRecord.from_item(one.record.to_item()) == one.record
    assert one.record.session_id != two.record.session_id
    assert set(one.record.scopes) == set(SESSION_SCOPES) and not set(ALL_SCOPES) & set(SESSION_SCOPES)


def test_an_api_key_never_ends():
    key = ApiKeyRecord(key_hash="h", account_id="acct")
    assert not key.expired(NOW * 10)
    assert "expires_at" not in key.to_item()


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({}, (None, DEFAULT_TTL_SECONDS)),
        ({"list_id": "l", "ttl_seconds": 3600}, ("l", 3600)),
        ({"ttl_seconds": None}, (None, 900)),
    ],
)
def test_a_session_request_is_read(body, expected):
    assert session_request(body, 60) == expected


@pytest.mark.parametrize(
    "body",
    [
        [],
        {"ttl_seconds": 59},
        {"ttl_seconds": 3601},
        {"ttl_seconds": True},
        {"ttl_seconds": "60"},
        {"list_id": ""},
        {"scopes": "x"},
    ],
)
def test_a_session_request_out_of_bounds_is_refused(body):
    with pytest.raises(InvalidOptions):
        session_request(body, 60)


def _session(list_id: str | None = None) -> Caller:
    return Caller("acct", frozenset(SESSION_SCOPES), session_id="ses_1", session_list_id=list_id)


def test_a_session_passes_only_where_a_route_takes_sessions():
    session = _session()
    session.require_key_or_session("imports:write")
    session.require_key_or_session("imports:read")
    for scope in ("imports:write", "imports:read", "contacts:read"):
        with pytest.raises(Forbidden):
            session.require(scope)  # every route written for keys refuses a session
    with pytest.raises(Forbidden):
        session.require_key_or_session("contacts:read")
    # A key with a session's scope names is no session.
    with pytest.raises(Forbidden):
        Caller("acct", frozenset({SESSION_CREATE, SESSION_READ})).require_key_or_session("imports:write")


def test_a_session_sees_only_its_own_jobs():
    session = _session()
    session.check_job({"job_id": "imp_1", "session_id": "ses_1"})
    for other in ({"job_id": "imp_2"}, {"job_id": "imp_3", "session_id": "ses_2"}):
        with pytest.raises(NotFound):
            session.check_job(other)
    Caller("acct", frozenset(ALL_SCOPES)).check_job({"job_id": "imp_3", "session_id": "ses_2"})  # a key sees all


def test_a_pinned_session_imports_into_its_list_only():
    pinned = _session("crm")
    assert pinned.session_options(ImportOptions()).list_id == "crm"
    assert pinned.session_options(ImportOptions(list_id="crm")).list_id == "crm"
    with pytest.raises(Forbidden):
        pinned.session_options(ImportOptions.parse({"list_id": "default"}))
    assert _session().session_options(ImportOptions(list_id="any")).list_id == "any"


def _event(context: dict) -> APIGatewayProxyEvent:
    event = api_event("api_get_imports.json")
    event["requestContext"]["authorizer"] = context
    return APIGatewayProxyEvent(event)


def test_the_routes_refuse_a_session_past_its_end_whatever_the_gateway_cached():
    context = {
        "account_id": "acct",
        "scopes": " ".join(SESSION_SCOPES),
        "session_id": "ses_1",
        "session_expires_at": str(int(NOW)),
    }
    assert caller(_event(context), now=NOW - 1).session_id == "ses_1"
    with pytest.raises(Unauthorized):
        caller(_event(context), now=NOW)
    assert caller(_event({"account_id": "acct", "scopes": "imports:read"}), now=NOW * 2).session_id is None
