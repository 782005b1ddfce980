"""The Lambda REQUEST authorizer: a Bearer API key (or session token) in, its account and scopes out.

API Gateway answers 401 when the authorizer raises an error whose message is exactly
"Unauthorized"; an allowed caller's ``account_id`` and ``scopes`` reach every function in
``requestContext.authorizer`` (for a session token also its id, end and pinned list: auth.sessions).
The policy allows every route because API Gateway caches it per
key for all routes; scopes are checked by each route. ``usageIdentifierKey`` names the account's
key in the usage plan, which throttles each account (the API's key source is AUTHORIZER).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from aws_lambda_powertools.utilities.data_classes.api_gateway_authorizer_event import (
    APIGatewayAuthorizerRequestEvent,
    APIGatewayAuthorizerResponse,
)

from contacts_import.auth.keys import bearer_token, hash_api_key, usage_identifier_key
from contacts_import.store.api_keys import ApiKeyStore


class UnauthorizedCaller(Exception):
    """API Gateway's protocol: this exact message makes it answer 401."""

    def __init__(self) -> None:
        super().__init__("Unauthorized")


def authorize(
    event: APIGatewayAuthorizerRequestEvent, keys: ApiKeyStore, now: Callable[[], float] = time.time
) -> dict[str, Any]:
    headers = {name.lower(): value for name, value in (event.headers or {}).items()}
    token = bearer_token(headers.get("authorization"))
    if token is None:
        raise UnauthorizedCaller()
    record = keys.get(hash_api_key(token))
    if record is None or record.expired(now()):
        raise UnauthorizedCaller()
    context = {"account_id": record.account_id, "scopes": " ".join(record.scopes)}
    if record.session_id is not None:
        # The routes check the end again: API Gateway reuses this answer for ReauthorizeEvery seconds.
        context |= {"session_id": record.session_id, "session_expires_at": str(record.expires_at)}
        if record.list_id is not None:
            context["session_list_id"] = record.list_id
    arn = event.parsed_arn
    policy = APIGatewayAuthorizerResponse(
        principal_id=f"{record.account_id}:{record.key_hint}",
        region=arn.region,
        aws_account_id=arn.aws_account_id,
        api_id=arn.api_id,
        stage=arn.stage,
        context=context,
        usage_identifier_key=usage_identifier_key(record.account_id),
    )
    policy.allow_all_routes()
    return policy.asdict()
