"""Telling the world a job ended: an EventBridge event, and the job's webhook.

The event goes to the bus named in the settings (the account's ``default`` bus by default) with
source ``contacts-import``, detail type ``import.completed``, ``import.failed`` or
``import.cancelled``, and the job's status document as its detail.

The webhook is an HTTPS POST of ``{"event": <detail type>, "data": <status document>}`` with:

- ``X-Contacts-Import-Event``: the detail type;
- ``X-Contacts-Import-Delivery``: ``<job id>.<status>``, the same for every attempt (receivers use
  it to drop repeats: a webhook is delivered at least once);
- ``X-Contacts-Import-Signature``: ``t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">``,
  keyed by the job's signing secret, so a receiver can check that the body is ours and recent.

Attempts that fail (no answer, a timeout, 408, 429 or 5xx) are retried with exponential backoff
and full jitter; a 2xx ends them, and another 4xx too (the receiver refuses, retrying will not
help). Plain http and private addresses are refused outside the local stack.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import json
import random
import socket
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from aws_lambda_powertools import Logger

logger = Logger(child=True)

EVENT_SOURCE = "contacts-import"
SIGNATURE_HEADER = "X-Contacts-Import-Signature"
WEBHOOK_TIMEOUT_SECONDS = 5.0
RETRY_STATUS = frozenset({408, 425, 429, 500, 502, 503, 504})


def detail_type(status: str) -> str:
    return f"import.{status}"


def publish_event(events_client: Any, bus_name: str, status: str, document: dict[str, Any]) -> None:
    """One event on the bus; raises when EventBridge does not take it (the caller retries later)."""
    answer = events_client.put_events(
        Entries=[
            {
                "Source": EVENT_SOURCE,
                "DetailType": detail_type(status),
                "Detail": json.dumps(document, ensure_ascii=False),
                "EventBusName": bus_name,
                "Resources": [],
            }
        ]
    )
    if answer.get("FailedEntryCount"):
        entry = (answer.get("Entries") or [{}])[0]
        raise RuntimeError(f"EventBridge refused the event: {entry.get('ErrorCode')} {entry.get('ErrorMessage')}")


# ------------------------------------------------------------------------------ webhooks


def signature(secret: str, timestamp: int, body: bytes) -> str:
    digest = hmac.new(secret.encode("utf-8"), str(timestamp).encode() + b"." + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def verify_signature(secret: str, header: str, body: bytes, *, now: float, tolerance_seconds: int = 300) -> bool:
    """What a receiver does (and the tests): the signature matches and is recent."""
    parts = dict(part.split("=", 1) for part in header.split(",") if "=" in part)
    try:
        timestamp = int(parts["t"])
    except (KeyError, ValueError):
        return False
    if abs(now - timestamp) > tolerance_seconds:
        return False
    return hmac.compare_digest(signature(secret, timestamp, body), header)


class WebhookRefused(ValueError):
    """A webhook URL we will not call (plain http or a private address outside the local stack)."""


def check_webhook_url(url: str, *, allow_private: bool) -> None:
    parts = urlsplit(url)
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise WebhookRefused("a webhook URL is an absolute http(s) URL")
    if allow_private:
        return
    if parts.scheme != "https":
        raise WebhookRefused("webhooks are sent over HTTPS only")
    try:
        addresses = {info[4][0] for info in socket.getaddrinfo(parts.hostname, parts.port or 443)}
    except OSError as error:
        raise WebhookRefused(f"the webhook host does not resolve: {error}") from None
    for address in addresses:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
        if ip.is_private or ip.is_loopback or ip.is_link_local or ip.is_reserved or ip.is_multicast:
            raise WebhookRefused("the webhook host is a private or local address")


@dataclass(frozen=True)
class WebhookDelivery:
    url: str
    event: str
    delivery_id: str
    body: bytes
    secret: str


@dataclass(frozen=True)
class AttemptOutcome:
    delivered: bool
    retry: bool  # False: give up (delivered, or refused for good)
    status: int | None
    reason: str


def attempt(delivery: WebhookDelivery, *, now: Callable[[], float] = time.time) -> AttemptOutcome:
    """One POST of the webhook."""
    timestamp = int(now())
    request = urllib.request.Request(
        delivery.url,
        data=delivery.body,
        method="POST",
        headers={
            "Content-Type": "application/json",
            "User-Agent": "contacts-import-webhook/1",
            "X-Contacts-Import-Event": delivery.event,
            "X-Contacts-Import-Delivery": delivery.delivery_id,
            SIGNATURE_HEADER: signature(delivery.secret, timestamp, delivery.body),
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=WEBHOOK_TIMEOUT_SECONDS) as answer:
            return AttemptOutcome(True, False, answer.status, "delivered")
    except urllib.error.HTTPError as error:
        retry = error.code in RETRY_STATUS
        return AttemptOutcome(False, retry, error.code, f"answered {error.code}")
    except (urllib.error.URLError, TimeoutError, OSError) as error:
        reason = getattr(error, "reason", error)
        return AttemptOutcome(False, True, None, f"no answer: {type(reason).__name__}")


def backoff_seconds(attempt_number: int, *, base: float = 1.0, cap: float = 900.0) -> float:
    """Full jitter: a random wait up to base * 2^attempt, at most ``cap``."""
    return random.uniform(0, min(cap, base * (2**attempt_number)))


def deliver(
    delivery: WebhookDelivery,
    *,
    attempts: int,
    first_attempt: int = 0,
    sleep: Callable[[float], None] = time.sleep,
    send: Callable[[WebhookDelivery], AttemptOutcome] = attempt,
) -> tuple[AttemptOutcome, int]:
    """Try up to ``attempts`` times in a row; the last outcome and the number of the next attempt."""
    outcome = AttemptOutcome(False, True, None, "not tried")
    number = first_attempt
    for number in range(first_attempt, first_attempt + attempts):
        outcome = send(delivery)
        logger.info(
            "Webhook attempt",
            extra={"attempt": number + 1, "status": outcome.status, "reason": outcome.reason},
        )
        if not outcome.retry:
            return outcome, number + 1
        if number + 1 < first_attempt + attempts:
            sleep(backoff_seconds(number))
    return outcome, number + 1
