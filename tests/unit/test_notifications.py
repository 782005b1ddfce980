"""Webhook signatures, which answers are retried, and which URLs are called (no network)."""

from __future__ import annotations

import pytest

from contacts_import.service.notifications import (
    AttemptOutcome,
    WebhookDelivery,
    WebhookRefused,
    backoff_seconds,
    check_webhook_url,
    deliver,
    detail_type,
    signature,
    verify_signature,
)

DELIVERY = WebhookDelivery("https://hooks.example.com/x", "import.completed", "imp_1.completed", b'{"a":1}', "s3cr3t")


def test_a_signature_covers_the_time_and_the_body():
    header = signature("s3cr3t", 1_800_000_000, b'{"a":1}')
    assert header.startswith("t=1800000000,v1=") and len(header.split("v1=")[1]) == 64
    assert verify_signature("s3cr3t", header, b'{"a":1}', now=1_800_000_100)
    assert not verify_signature("s3cr3t", header, b'{"a":2}', now=1_800_000_100)
    assert not verify_signature("other", header, b'{"a":1}', now=1_800_000_100)
    assert not verify_signature("s3cr3t", header, b'{"a":1}', now=1_800_001_000), "too old: a replay"
    assert not verify_signature("s3cr3t", header.replace("t=1800000000", "t=1800000100"), b'{"a":1}', now=1_800_000_100)
    assert not verify_signature("s3cr3t", "garbage", b'{"a":1}', now=1_800_000_100)


def outcomes(*answers: int | None):
    """A fake send answering these statuses in turn (None: no answer)."""
    sent = []

    def send(delivery: WebhookDelivery) -> AttemptOutcome:
        status = answers[len(sent)]
        sent.append(delivery)
        if status is None:
            return AttemptOutcome(False, True, None, "no answer")
        ok = 200 <= status < 300
        return AttemptOutcome(ok, not ok and (status in (408, 425, 429) or status >= 500), status, str(status))

    return send, sent


@pytest.mark.parametrize(
    ("answers", "attempts", "delivered", "next_attempt"),
    [
        ((204,), 3, True, 1),
        ((503, None, 200), 3, True, 3),
        ((500, 502, 503), 3, False, 3),
        ((404,), 3, False, 1),  # refused: not retried
        ((429, 410), 3, False, 2),
    ],
)
def test_what_is_retried(answers, attempts, delivered, next_attempt):
    send, sent = outcomes(*answers)
    waits: list[float] = []
    outcome, following = deliver(DELIVERY, attempts=attempts, sleep=waits.append, send=send)
    assert (outcome.delivered, following, len(sent)) == (delivered, next_attempt, next_attempt)
    assert len(waits) == len(sent) - 1, "a wait between two attempts, none after the last"


def test_later_attempts_carry_on_counting():
    send, _ = outcomes(503, 503)
    _, following = deliver(DELIVERY, attempts=2, first_attempt=3, sleep=lambda s: None, send=send)
    assert following == 5


def test_backoff_is_full_jitter_under_a_cap():
    for attempt in range(12):
        assert 0 <= backoff_seconds(attempt, base=2.0, cap=900) <= min(900, 2.0 * 2**attempt)


@pytest.mark.parametrize(
    "url",
    ["http://hooks.example.com/x", "https://127.0.0.1/x", "https://10.0.0.7/x", "https://[::1]/x", "ftp://x/y", "/x"],
)
def test_outside_the_local_stack_only_https_to_public_addresses(url):
    with pytest.raises(WebhookRefused):
        check_webhook_url(url, allow_private=False)


def test_the_local_stack_may_call_plain_http_on_this_machine():
    check_webhook_url("http://127.0.0.1:8080/hook", allow_private=True)
    check_webhook_url("https://93.184.216.34/hook", allow_private=False)  # a public address: no lookup needed
    assert detail_type("completed") == "import.completed"
