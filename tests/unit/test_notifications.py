"""Webhook signatures, which answers are retried, which URLs are called and where a call connects
(no network: names are resolved by a stub, connections are recorded, never opened)."""

from __future__ import annotations

import pytest

from contacts_import.service import notifications
from contacts_import.service.notifications import (
    AttemptOutcome,
    WebhookDelivery,
    WebhookRefused,
    attempt,
    backoff_seconds,
    check_webhook_url,
    deliver,
    detail_type,
    signature_header,
    verify_signature,
)

DELIVERY = WebhookDelivery(
    "https://hooks.example.com/x", "import.completed", "imp_1.completed", b'{"a":1}', ("s3cr3t",)
)


def test_a_signature_covers_the_time_and_the_body():
    header = signature_header(["s3cr3t"], 1_800_000_000, b'{"a":1}')
    assert header.startswith("t=1800000000,v1=") and len(header.split("v1=")[1]) == 64
    assert verify_signature("s3cr3t", header, b'{"a":1}', now=1_800_000_100)
    assert not verify_signature("s3cr3t", header, b'{"a":2}', now=1_800_000_100)
    assert not verify_signature("other", header, b'{"a":1}', now=1_800_000_100)
    assert not verify_signature("s3cr3t", header, b'{"a":1}', now=1_800_001_000), "too old: a replay"
    assert not verify_signature("s3cr3t", header.replace("t=1800000000", "t=1800000100"), b'{"a":1}', now=1_800_000_100)
    assert not verify_signature("s3cr3t", "garbage", b'{"a":1}', now=1_800_000_100)


def test_while_a_secret_is_rotated_each_of_the_two_verifies():
    header = signature_header(["new", "old"], 1_800_000_000, b"{}")
    assert header.count("v1=") == 2
    assert verify_signature("new", header, b"{}", now=1_800_000_000)
    assert verify_signature("old", header, b"{}", now=1_800_000_000)
    assert not verify_signature("neither", header, b"{}", now=1_800_000_000)


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
    for attempt_number in range(12):
        assert 0 <= backoff_seconds(attempt_number, base=2.0, cap=900) <= min(900, 2.0 * 2**attempt_number)


# ------------------------------------------------------------------------------ where webhooks go


@pytest.fixture
def names(monkeypatch) -> dict[str, list[list[str]]]:
    """Name resolution answered from this dict: a name's answers in turn (the last one repeats)."""
    answers: dict[str, list[list[str]]] = {}

    def resolve(host: str, port: int) -> list[str]:
        queue = answers[host]
        return queue.pop(0) if len(queue) > 1 else queue[0]

    monkeypatch.setattr(notifications, "resolve", resolve)
    return answers


@pytest.mark.parametrize(
    "url",
    [
        "http://hooks.example.com/x",  # plain http
        "https://hooks.example.com:8443/x",  # another port
        "https://127.0.0.1/x",
        "https://10.0.0.7/x",
        "https://100.64.1.2/x",  # carrier-grade NAT: not private, not global either
        "https://169.254.169.254/latest/meta-data/",  # the instance metadata service
        "https://[::1]/x",
        "https://[fd00::1]/x",
        "https://[::ffff:127.0.0.1]/x",  # IPv4-mapped loopback
        "https://user:pw@hooks.example.com/x",
        "ftp://x/y",
        "/x",
        "https://hooks.example.com:99999/x",
    ],
)
def test_only_https_on_443_to_global_addresses(url, names):
    names["hooks.example.com"] = [["93.184.216.34"]]
    with pytest.raises(WebhookRefused):
        check_webhook_url(url, allow_loopback=False)


def test_a_name_with_any_address_that_is_not_global_is_refused(names):
    names["mixed.example.com"] = [["93.184.216.34", "10.0.0.1"]]
    names["inside.example.com"] = [["192.168.1.1"]]
    for host in ("mixed.example.com", "inside.example.com"):
        with pytest.raises(WebhookRefused, match="not a public address"):
            check_webhook_url(f"https://{host}/hook", allow_loopback=False)


def test_the_local_stack_may_call_loopback_but_never_link_local_or_private(names):
    assert check_webhook_url("http://127.0.0.1:8080/hook", allow_loopback=True).address == "127.0.0.1"
    names["localhost"] = [["127.0.0.1", "::1"]]
    assert check_webhook_url("http://localhost:9/h", allow_loopback=True).port == 9
    for url in ("http://169.254.169.254/", "https://169.254.169.254/", "http://10.0.0.1:80/", "http://[fe80::1]/"):
        with pytest.raises(WebhookRefused):
            check_webhook_url(url, allow_loopback=True)
    assert detail_type("completed") == "import.completed"


class RecordedConnection:
    """Stands for a connection: records where it was opened and what was sent."""

    opened: list[tuple[str, int, str, str]] = []

    def __init__(self, target, timeout) -> None:
        self.target = target

    def request(self, method, path, body, headers) -> None:
        RecordedConnection.opened.append((self.target.address, self.target.port, self.target.host, headers["Host"]))

    def getresponse(self):
        return type("Answer", (), {"status": 302})()  # a redirect: not followed, not retried

    def close(self) -> None:
        return None


def test_an_attempt_connects_to_the_address_it_checked_and_follows_no_redirect(names, monkeypatch):
    # A rebinding name: public when checked, then 127.0.0.1. The attempt checks once and connects
    # there, with the name for SNI and Host; a second resolution is never made for the call.
    names["rebind.example.com"] = [["93.184.216.34"], ["127.0.0.1"]]
    RecordedConnection.opened = []
    monkeypatch.setattr(notifications, "open_connection", RecordedConnection)
    delivery = WebhookDelivery("https://rebind.example.com/hook?x=1", "import.completed", "d", b"{}", ("s",))
    outcome = attempt(delivery)
    assert RecordedConnection.opened == [("93.184.216.34", 443, "rebind.example.com", "rebind.example.com")]
    assert (outcome.delivered, outcome.retry, outcome.status) == (False, False, 302)
    refused = attempt(delivery)  # now it resolves to 127.0.0.1: refused before any connection
    assert (refused.delivered, refused.retry) == (False, False) and len(RecordedConnection.opened) == 1


def test_the_pinned_connection_puts_the_name_in_tls_and_connects_to_the_address(monkeypatch):
    target = notifications.WebhookTarget("https", "hooks.example.com", 443, "/h", "93.184.216.34")
    made: list[tuple] = []
    monkeypatch.setattr(
        notifications.socket, "create_connection", lambda address, timeout: made.append(address) or "raw"
    )

    class Context:
        def wrap_socket(self, sock, server_hostname):
            made.append((sock, server_hostname))
            return "tls"

    connection = notifications.open_connection(target, 5.0)
    monkeypatch.setattr(notifications, "_tls_context", lambda: Context())
    connection.connect()
    assert made == [("93.184.216.34", 443), ("raw", "hooks.example.com")]
    assert connection.sock == "tls"


@pytest.mark.parametrize("host", ["0", "2130706433", "127.1", "0x7f.0.0.1", "localhost", "93.184.216.34"])
def test_no_address_in_any_notation_passes_for_a_name(host, names):
    names[host] = [["93.184.216.34"]]  # even if it would resolve somewhere public
    with pytest.raises(WebhookRefused):
        check_webhook_url(f"https://{host}/hook", allow_loopback=False)


def test_a_name_that_does_not_resolve_yet_is_no_refusal_at_creation_and_is_retried_at_a_call(monkeypatch):
    def unresolvable(host: str, port: int) -> list[str]:
        raise WebhookRefused("the webhook host does not resolve")

    monkeypatch.setattr(notifications, "resolve", unresolvable)
    assert check_webhook_url("https://later.example.com/h", allow_loopback=False, unresolved=True) is None
    with pytest.raises(WebhookRefused):
        check_webhook_url("https://later.example.com/h", allow_loopback=False)
    outcome = attempt(WebhookDelivery("https://later.example.com/h", "import.completed", "d", b"{}", ("s",)))
    assert (outcome.delivered, outcome.retry) == (False, True)
