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
and full jitter; a 2xx ends them, and another 4xx or a 3xx too (the receiver refuses, retrying will
not help; a redirect is never followed).

Only ``https://`` URLs on port 443 whose host resolves to globally routable addresses only
(``ipaddress.is_global``) are called, and each attempt connects to the very address it checked
(the name still goes in TLS's SNI, the certificate check and ``Host``): a name that resolves again
to 127.0.0.1 or 169.254.169.254 between the check and the call (DNS rebinding) gets nothing. The
local stack also calls ``http://`` and ``https://`` receivers on loopback addresses, any port;
never a link-local or other private one.
"""

from __future__ import annotations

import hashlib
import hmac
import http.client
import ipaddress
import json
import random
import re
import socket
import ssl
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any
from urllib.parse import urlsplit

from aws_lambda_powertools import Logger

from contacts_import.models import HOST_NAME_PATTERN, WEBHOOK_URL_PATTERN

logger = Logger(child=True)

EVENT_SOURCE = "contacts-import"
_NAME = re.compile(HOST_NAME_PATTERN)
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
    """The hex HMAC-SHA256 of ``"<t>.<body>"`` keyed by ``secret``."""
    return hmac.new(secret.encode("utf-8"), str(timestamp).encode() + b"." + body, hashlib.sha256).hexdigest()


def signature_header(secrets: Sequence[str], timestamp: int, body: bytes) -> str:
    """``t=<unix time>,v1=<signature>`` with one ``v1`` for each secret: while a rotated secret is
    in its grace period, a receiver holding either one finds its signature."""
    return ",".join([f"t={timestamp}", *(f"v1={signature(secret, timestamp, body)}" for secret in secrets)])


def verify_signature(secret: str, header: str, body: bytes, *, now: float, tolerance_seconds: int = 300) -> bool:
    """What a receiver does (and the tests): one of the signatures matches, and it is recent."""
    pairs = [part.split("=", 1) for part in header.split(",") if "=" in part]
    stamps = [value for name, value in pairs if name == "t"]
    try:
        timestamp = int(stamps[0])
    except (IndexError, ValueError):
        return False
    if len(stamps) != 1 or abs(now - timestamp) > tolerance_seconds:
        return False
    expected = signature(secret, timestamp, body)
    return any(hmac.compare_digest(expected, value) for name, value in pairs if name == "v1")


class WebhookRefused(ValueError):
    """A webhook URL we will not call: not https on 443, or a host that is not a public address."""


@dataclass(frozen=True)
class WebhookTarget:
    """Where a webhook goes: the URL's parts, and the address checked for it (connected to as is)."""

    scheme: str
    host: str  # the name, for SNI, the certificate and Host
    port: int
    path: str  # with the query
    address: str


def resolve(host: str, port: int) -> list[str]:
    """Every address ``host`` resolves to (a seam: tests answer it without DNS)."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError) as error:
        raise WebhookRefused(f"the webhook host does not resolve: {error}") from None
    return [str(info[4][0]) for info in infos]


def check_webhook_url(url: str, *, allow_loopback: bool, unresolved: bool = False) -> WebhookTarget | None:
    """The target of ``url``, or WebhookRefused. ``allow_loopback`` is the local stack's: receivers
    on this machine (127.0.0.0/8, ::1, by address or name), over http too and on any port. With
    ``unresolved``, a name that does not resolve (yet) is no refusal, and answers None: an import's
    URL is checked when it is created, and each call checks it again."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as error:
        raise WebhookRefused(f"the webhook URL is not a URL: {error}") from None
    if parts.scheme not in ("https", "http") or not parts.hostname or parts.username or parts.password:
        raise WebhookRefused("a webhook URL is an absolute https URL without credentials")
    host = parts.hostname
    port = port or (443 if parts.scheme == "https" else 80)
    # The shape the OpenAPI document gives it; only a receiver on loopback, locally, may differ.
    fits = re.fullmatch(WEBHOOK_URL_PATTERN, url) is not None
    if not fits and not allow_loopback:
        raise WebhookRefused("a webhook URL is https://<host name>[:443][/<path>], in printable ASCII")
    try:
        addresses = _addresses(host, port, allow_literal=allow_loopback)
    except _Unresolved as error:
        if unresolved and fits:
            return None
        raise WebhookRefused(str(error)) from None
    loopback = allow_loopback and all(address.is_loopback for address in addresses)
    if not loopback:
        if not fits:
            raise WebhookRefused("a webhook URL is https://<host name>[:443][/<path>], in printable ASCII")
        if parts.scheme != "https":
            raise WebhookRefused("webhooks are sent over HTTPS only")
        if port != 443:
            raise WebhookRefused("webhooks are sent to port 443 only")
        for address in addresses:
            if not address.is_global:
                raise WebhookRefused(f"the webhook host resolves to {address}, which is not a public address")
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return WebhookTarget(parts.scheme, host, port, path, str(addresses[0]))


class _Unresolved(Exception):
    """The name resolves to no address (now)."""


def _addresses(host: str, port: int, *, allow_literal: bool) -> Sequence[ipaddress.IPv4Address | ipaddress.IPv6Address]:
    literal = _literal(host)
    if literal is not None:
        if not (allow_literal and literal.is_loopback):
            raise WebhookRefused("the webhook host is a name, not an address: its certificate is checked against it")
        return [literal]
    if not allow_literal and not _NAME.fullmatch(host):
        # Not a name with a top-level domain ("0", "2130706433", "localhost"): libc reads some of
        # these as addresses (0.0.0.0, 127.0.0.1), and no certificate names them.
        raise WebhookRefused("the webhook host is not a name with a top-level domain")
    try:
        resolved = resolve(host, port)
    except WebhookRefused as refused:
        raise _Unresolved(str(refused)) from None
    if not resolved:
        raise _Unresolved("the webhook host resolves to no address")
    return [_unmapped(ipaddress.ip_address(address.split("%", 1)[0])) for address in resolved]


def _literal(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return _unmapped(ipaddress.ip_address(host.strip("[]")))
    except ValueError:
        return None


def _unmapped(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> ipaddress.IPv4Address | ipaddress.IPv6Address:
    """::ffff:127.0.0.1 is 127.0.0.1: judged as the IPv4 address it carries."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


@dataclass(frozen=True)
class WebhookDelivery:
    url: str
    event: str
    delivery_id: str
    body: bytes
    secrets: tuple[str, ...]  # every secret of the account that verifies now: the newest first
    allow_loopback: bool = False


@dataclass(frozen=True)
class AttemptOutcome:
    delivered: bool
    retry: bool  # False: give up (delivered, or refused for good)
    status: int | None
    reason: str


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
    """HTTPS to one address already checked, with the name for SNI and the certificate."""

    def __init__(self, target: WebhookTarget, timeout: float) -> None:
        super().__init__(target.address, target.port, timeout=timeout, context=_tls_context())
        self._server_name = target.host

    def connect(self) -> None:
        sock = socket.create_connection((self.host, self.port), self.timeout)
        self.sock = _tls_context().wrap_socket(sock, server_hostname=self._server_name)


@cache
def _tls_context() -> ssl.SSLContext:
    return ssl.create_default_context()


def open_connection(target: WebhookTarget, timeout: float) -> http.client.HTTPConnection:
    """A connection to the target's checked address (a seam: tests record it instead)."""
    if target.scheme == "https":
        return _PinnedHTTPSConnection(target, timeout)
    return http.client.HTTPConnection(target.address, target.port, timeout=timeout)


def attempt(delivery: WebhookDelivery, *, now: Callable[[], float] = time.time) -> AttemptOutcome:
    """One POST of the webhook, to the address checked for it now; redirects are not followed."""
    try:
        target = check_webhook_url(delivery.url, allow_loopback=delivery.allow_loopback, unresolved=True)
    except WebhookRefused as refused:
        return AttemptOutcome(False, False, None, f"refused: {refused}")
    if target is None:
        return AttemptOutcome(False, True, None, "no answer: the host does not resolve")
    timestamp = int(now())
    headers = {
        "Host": target.host if target.port in (80, 443) else f"{target.host}:{target.port}",
        "Content-Type": "application/json",
        "User-Agent": "contacts-import-webhook/1",
        "X-Contacts-Import-Event": delivery.event,
        "X-Contacts-Import-Delivery": delivery.delivery_id,
        SIGNATURE_HEADER: signature_header(delivery.secrets, timestamp, delivery.body),
    }
    connection = open_connection(target, WEBHOOK_TIMEOUT_SECONDS)
    try:
        connection.request("POST", target.path, body=delivery.body, headers=headers)
        status = connection.getresponse().status
    except (OSError, http.client.HTTPException) as error:
        return AttemptOutcome(False, True, None, f"no answer: {type(error).__name__}")
    finally:
        connection.close()
    if 200 <= status < 300:
        return AttemptOutcome(True, False, status, "delivered")
    return AttemptOutcome(False, status in RETRY_STATUS, status, f"answered {status}")


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
