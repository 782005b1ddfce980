"""POST /sessions, served by the create function: a browser upload session for the key's account."""

from __future__ import annotations

import json
import time
from functools import cache

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.router import Router
from pydantic import BaseModel

from contacts_import.api.docs import answers, json_answer, json_request, requires
from contacts_import.api.envelope import DataEnvelope, data_response
from contacts_import.api.requests import raw_body
from contacts_import.api.resolver import caller, rest_event
from contacts_import.auth.sessions import DEFAULT_TTL_SECONDS, MAX_TTL_SECONDS
from contacts_import.errors import Forbidden, InvalidOptions
from contacts_import.models import LIST_ID_PATTERN
from contacts_import.service.sessions import create_session
from contacts_import.settings import CreateImportSettings
from contacts_import.store.api_keys import ApiKeyStore
from contacts_import.store.dynamo import dynamodb_resource

router = Router()


class SessionOut(BaseModel):
    token: str
    expires_at: str
    list_id: str | None


@cache
def settings() -> CreateImportSettings:
    return CreateImportSettings.from_environment()


@cache
def key_store() -> ApiKeyStore:
    return ApiKeyStore(dynamodb_resource().Table(settings().api_keys_table))


# The document states the template's default SessionMinTtlSeconds; the settings' value is enforced.
DOCUMENTED_MIN_TTL_SECONDS = 60


def _session_request() -> dict:
    minimum = DOCUMENTED_MIN_TTL_SECONDS
    schema = {
        "type": "object",
        "properties": {
            "list_id": {
                "anyOf": [{"type": "string", "pattern": f"^{LIST_ID_PATTERN.pattern}$"}, {"type": "null"}],
                "description": "Pin the session to this list: it imports into it only.",
            },
            "ttl_seconds": {
                "anyOf": [{"type": "integer", "minimum": minimum, "maximum": MAX_TTL_SECONDS}, {"type": "null"}],
                "description": f"How long the token lasts (default {DEFAULT_TTL_SECONDS}, at most {MAX_TTL_SECONDS}).",
            },
        },
        "additionalProperties": False,
    }
    document = json_request(schema, {"list_id": "default", "ttl_seconds": DEFAULT_TTL_SECONDS})
    document["requestBody"]["required"] = False
    return document


@router.post(
    "/sessions",
    summary="Mint a short-lived browser upload session token",
    description="For a page that embeds the importer: the token creates imports (into list_id, when pinned) "
    "and reads only the jobs it created, until expires_at (at most an hour). It cannot mint another "
    "session (403), read lists or contacts, or see the account's other jobs (404). Needs an API key with "
    "imports:write.",
    responses=answers({201: json_answer("The session: its token is shown only now.", DataEnvelope[SessionOut])}, 400),
    security=requires("imports:write"),
    openapi_extensions=_session_request(),
    tags=["sessions"],
)
def post_session() -> Response[DataEnvelope[SessionOut]]:
    event = rest_event(router)
    requester = caller(event)
    if requester.session_id is not None:
        raise Forbidden("A session token cannot mint another session: that takes an API key.")
    requester.require("imports:write")
    body = raw_body(event)
    try:
        document = json.loads(body) if body.strip() else {}
    except (ValueError, UnicodeDecodeError):
        raise InvalidOptions("The body must be a JSON object: {'list_id'?, 'ttl_seconds'?}.") from None
    session = create_session(
        requester.account_id, document, settings().session_min_ttl_seconds, key_store(), time.time()
    )
    answer = SessionOut(token=session.token, expires_at=session.expires_at_iso, list_id=session.record.list_id)
    return data_response(event, answer.model_dump(), 201)
