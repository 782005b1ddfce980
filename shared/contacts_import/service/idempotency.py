"""``Idempotency-Key`` on ``POST /imports``: Powertools idempotency on DynamoDB, for 24 hours.

The key is scoped by account; the request's fingerprint (body and options) is checked so that the
same key with a different request is refused rather than answered with the wrong job.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from typing import Any

from aws_lambda_powertools.utilities.idempotency import (
    DynamoDBPersistenceLayer,
    IdempotencyConfig,
    idempotent_function,
)
from aws_lambda_powertools.utilities.idempotency.exceptions import (
    IdempotencyAlreadyInProgressError,
    IdempotencyValidationError,
)

from contacts_import.errors import Conflict, IdempotencyKeyReused
from contacts_import.service.create_import import CreateDeps, DirectImport, create_direct_import

DAY_SECONDS = 24 * 60 * 60


def fingerprint(request: DirectImport) -> dict[str, str]:
    digest = hashlib.sha256(request.body)
    digest.update(json.dumps(request.options.model_dump(mode="json"), sort_keys=True).encode())
    # Another session's request with the same key is another request: it never answers that job.
    digest.update((request.session_id or "").encode())
    return {
        "account_id": request.account_id,
        "idempotency_key": request.idempotency_key or "",
        "request_hash": digest.hexdigest(),
    }


def idempotent_creator(
    table_name: str, boto3_client: Any = None
) -> Callable[[DirectImport, CreateDeps], dict[str, Any]]:
    """``create_direct_import`` made idempotent on (account, Idempotency-Key). One persistence
    layer per function, as Powertools advises."""
    persistence = DynamoDBPersistenceLayer(table_name=table_name, boto3_client=boto3_client)
    config = IdempotencyConfig(
        event_key_jmespath="[account_id, idempotency_key]",
        payload_validation_jmespath="request_hash",
        expires_after_seconds=DAY_SECONDS,
    )

    @idempotent_function(data_keyword_argument="request_fingerprint", config=config, persistence_store=persistence)
    def _create(request_fingerprint: dict[str, str], request: DirectImport, deps: CreateDeps) -> dict[str, Any]:
        return create_direct_import(request, deps)

    def create(request: DirectImport, deps: CreateDeps, lambda_context: Any) -> dict[str, Any]:
        # The remaining time bounds how long an in-progress record blocks a retry of the same key.
        config.register_lambda_context(lambda_context)
        try:
            return _create(request_fingerprint=fingerprint(request), request=request, deps=deps)
        except IdempotencyValidationError:
            raise IdempotencyKeyReused(
                "This Idempotency-Key was used within 24 h for a different request.",
                details={"idempotency_key": request.idempotency_key},
            ) from None
        except IdempotencyAlreadyInProgressError:
            raise Conflict("A request with this Idempotency-Key is still being handled; retry shortly.") from None

    return create
