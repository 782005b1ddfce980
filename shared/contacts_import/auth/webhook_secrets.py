"""Webhook signing secrets: one or more per account, derived where no table can give them away.

A secret is ``whsec_`` and the URL-safe base64 of an HMAC-SHA256 that KMS computes with the
stack's HMAC key (``WebhookSigningKey``, which never leaves KMS) over the account and a random
128-bit id. The accounts table keeps only the ids (``store.accounts``): reading it, or any other
table, signs nothing; deriving a secret takes ``kms:GenerateMac`` on that key, which only the
functions that send webhooks and the operator have. ``contacts-import keys webhook-secret`` makes a
new id and shows its secret once; the ids before it keep verifying for a grace period.
"""

from __future__ import annotations

import base64
import secrets
from typing import Any

SECRET_PREFIX = "whsec_"
MAC_ALGORITHM = "HMAC_SHA_256"


def new_secret_id() -> str:
    return secrets.token_hex(16)


def _message(account_id: str, secret_id: str) -> bytes:
    return f"contacts-import webhook signing secret:{account_id}:{secret_id}".encode()


class WebhookSecretDeriver:
    """Secrets from ids, through KMS; each derived once per process."""

    def __init__(self, kms_client: Any, key_id: str) -> None:
        self._kms = kms_client
        self._key_id = key_id
        self._derived: dict[tuple[str, str], str] = {}

    def secret(self, account_id: str, secret_id: str) -> str:
        key = (account_id, secret_id)
        if key not in self._derived:
            answer = self._kms.generate_mac(
                KeyId=self._key_id, Message=_message(account_id, secret_id), MacAlgorithm=MAC_ALGORITHM
            )
            self._derived[key] = SECRET_PREFIX + base64.urlsafe_b64encode(answer["Mac"]).decode().rstrip("=")
        return self._derived[key]
