"""Helpers of the e2e tests: what a client does to follow a job and read a contact, over HTTP."""

from __future__ import annotations

import http.server
import threading
import time
import uuid
from typing import Any
from urllib.parse import quote

from tests.e2e.stack import LocalStackHandle

PIPELINE_TIMEOUT_SECONDS = 180  # waiting on a slow machine; nothing asserts how long it took


def new_list(tag: str) -> str:
    return f"e2e-{tag}-{uuid.uuid4().hex[:8]}"


def wait_for_end(stack: LocalStackHandle, job_id: str, api_key: str | None = None) -> dict[str, Any]:
    """Poll the status document until the job ends, as a client would (with the local key, or
    ``api_key``)."""
    session = stack.session(api_key)
    give_up_at = time.monotonic() + PIPELINE_TIMEOUT_SECONDS
    seen_states = []
    while time.monotonic() < give_up_at:
        response = session.get(stack.url(f"/imports/{job_id}"), timeout=30)
        assert response.status_code == 200, response.text
        job = response.json()["data"]
        seen_states.append(job["status"])
        if job["status"] in ("completed", "failed", "cancelled"):
            return job
        time.sleep(0.3)
    raise AssertionError(f"job {job_id} did not end; states seen {seen_states[-5:]}\n{stack.log_tail()}")


def contact(stack: LocalStackHandle, list_id: str, phone: str, api_key: str | None = None) -> dict[str, Any] | None:
    """The stored contact (GET /lists/{list_id}/contacts/{phone}), or None when there is none."""
    response = stack.session(api_key).get(
        stack.url(f"/lists/{quote(list_id, safe='')}/contacts/{quote(phone, safe='')}"), timeout=30
    )
    return response.json()["data"] if response.status_code == 200 else None


class WebhookReceiver:
    """An HTTP server on 127.0.0.1 that takes webhook POSTs (``url``) and keeps each one's headers
    (names in lower case) and body; ``wait_for(count)`` waits until that many have come."""

    def __init__(self) -> None:
        self.received: list[tuple[dict[str, str], bytes]] = []
        received = self.received

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                received.append(({k.lower(): v for k, v in self.headers.items()}, body))
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                return None

        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/hook"

    def __enter__(self) -> WebhookReceiver:
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def wait_for(self, count: int, seconds: float = 60) -> list[tuple[dict[str, str], bytes]]:
        give_up_at = time.monotonic() + seconds
        while len(self.received) < count and time.monotonic() < give_up_at:
            time.sleep(0.2)
        return list(self.received)


def webhook_secret(stack: LocalStackHandle, account_id: str) -> str:
    """A signing secret for the account, as `contacts-import keys webhook-secret` makes one against
    the stack's endpoint (the client finds the stack's tables by the template's default stack name)."""
    from datetime import timedelta

    from contacts_import_cli.keys import locate_accounts, new_webhook_secret

    target = locate_accounts(stack=None, environ={"AWS_ENDPOINT_URL": stack.aws_endpoint})
    secret, _ = new_webhook_secret(target, account_id, timedelta(hours=1))
    return secret
