"""The per-job webhook: called once the job ends, signed with HMAC-SHA256 keyed by the account's
webhook signing secrets (derived by the stack's KMS key from ids in the accounts table), retried
with backoff while its receiver (here on 127.0.0.1) fails, then handed to the chunk queue to try
again later. Receivers listen on 127.0.0.1 only; nothing here connects anywhere else."""

from __future__ import annotations

import http.server
import json
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest

from contacts_import.auth.webhook_secrets import WebhookSecretDeriver, new_secret_id
from contacts_import.service import notifications
from contacts_import.service.job_end import WEBHOOK
from contacts_import.service.notifications import SIGNATURE_HEADER, verify_signature
from contacts_import.service.process_chunk import process_task
from contacts_import.store.task_queue import TaskQueue
from tests.integration.pipeline import Pipeline
from tests.sample_events import api_event, body_of

KEY = "local-dev-key"
CSV = b"phone,name\n+12127365000,Jane\n+16502530000,John\n+12127365000,Again\n"


class Receiver:
    """A webhook receiver on 127.0.0.1 that answers the statuses it is given, in turn."""

    def __init__(self, statuses: list[int]) -> None:
        self.statuses = statuses
        self.location: str | None = None  # sent with every answer (a redirect's target)
        self.received: list[tuple[dict[str, str], bytes]] = []
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.received.append(({k.lower(): v for k, v in self.headers.items()}, body))
                status = receiver.statuses[min(len(receiver.received), len(receiver.statuses)) - 1]
                self.send_response(status)
                if receiver.location:
                    self.send_header("Location", receiver.location)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                return None

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks/imports"


@pytest.fixture
def receivers() -> Iterator[Callable[..., Receiver]]:
    """Makes receivers answering the given statuses in turn; shuts them down after the test."""
    made: list[Receiver] = []

    def make(*statuses: int) -> Receiver:
        made.append(Receiver(list(statuses) or [200]))
        return made[-1]

    yield make
    for receiver in made:
        receiver.server.shutdown()


@pytest.fixture
def pipeline(stack, monkeypatch) -> Pipeline:
    monkeypatch.setattr(notifications, "backoff_seconds", lambda *args, **kwargs: 0.0)  # no real waiting
    # As in the local stack (AWS_SAM_LOCAL): a receiver may be plain http on 127.0.0.1, at creation too.
    monkeypatch.setenv("AWS_SAM_LOCAL", "true")
    return Pipeline(stack, aws_sam_local=True)


def rotate_secret(pipeline: Pipeline, account_id: str = "local", grace: timedelta = timedelta(hours=1)) -> str:
    """What `contacts-import keys webhook-secret` does: a new id stored, its secret answered."""
    secret_id = new_secret_id()
    pipeline.deps.accounts.add_webhook_secret(account_id, secret_id, datetime.now(UTC), grace)
    deriver = WebhookSecretDeriver(
        boto3.client("kms", region_name="us-east-1"), pipeline.deps.settings.webhook_signing_key_id
    )
    return deriver.secret(account_id, secret_id)


def create(pipeline: Pipeline, url: str) -> dict[str, Any]:
    event = api_event("api_post_imports_csv.json", body=CSV, content_type="text/csv", query={"webhook_url": url})
    return pipeline.stack.invoke("CreateImportFunction", event)


def start(pipeline: Pipeline, url: str) -> str:
    accepted = create(pipeline, url)
    assert accepted["statusCode"] == 202, accepted["body"]
    job_id = body_of(accepted)["data"]["job_id"]
    pipeline.s3_event(pipeline.job(job_id)["object_key"])
    pipeline.drain()
    return job_id


def test_the_webhook_gets_the_status_document_signed_with_the_accounts_secret(pipeline, receivers):
    secret = rotate_secret(pipeline)
    receiver = receivers(200)
    job_id = start(pipeline, receiver.url)
    ((headers, body),) = receiver.received
    assert verify_signature(secret, headers[SIGNATURE_HEADER.lower()], body, now=time.time())
    assert not verify_signature(KEY, headers[SIGNATURE_HEADER.lower()], body, now=time.time())
    assert not verify_signature(secret, headers[SIGNATURE_HEADER.lower()], body + b" ", now=time.time())
    document = json.loads(body)
    assert document["event"] == headers["x-contacts-import-event"] == "import.completed"
    assert headers["x-contacts-import-delivery"] == f"{job_id}.completed"
    assert document["data"]["job_id"] == job_id
    assert (document["data"]["counts"]["created"], document["data"]["counts"]["skipped_duplicates"]) == (2, 1)
    stored = json.dumps([pipeline.job(job_id), pipeline.deps.accounts._item("local")], default=str)
    assert secret not in stored and secret.removeprefix("whsec_") not in stored  # only ids are stored


def test_a_rotated_secret_verifies_until_its_grace_period_ends(pipeline, receivers):
    old = rotate_secret(pipeline)
    new = rotate_secret(pipeline, grace=timedelta(hours=1))
    receiver = receivers(200, 200)
    start(pipeline, receiver.url)
    header, body = receiver.received[0][0][SIGNATURE_HEADER.lower()], receiver.received[0][1]
    assert verify_signature(new, header, body, now=time.time()) and verify_signature(old, header, body, now=time.time())
    newest = rotate_secret(pipeline, grace=timedelta(0))  # the ones before stop verifying at once
    start(pipeline, receiver.url)
    header, body = receiver.received[1][0][SIGNATURE_HEADER.lower()], receiver.received[1][1]
    assert verify_signature(newest, header, body, now=time.time())
    assert not verify_signature(new, header, body, now=time.time())
    assert not verify_signature(old, header, body, now=time.time())


def test_an_account_without_a_signing_secret_gets_409_for_a_webhook(pipeline, receivers):
    answer = create(pipeline, receivers(200).url)
    assert answer["statusCode"] == 409
    assert body_of(answer)["error"]["code"] == "no_webhook_secret"


def test_a_redirect_is_not_followed(pipeline, receivers):
    rotate_secret(pipeline)
    elsewhere = receivers(200)
    redirecting = receivers(302)
    redirecting.location = elsewhere.url
    start(pipeline, redirecting.url)
    assert len(redirecting.received) == 1 and elsewhere.received == []


def test_a_failing_receiver_is_retried_until_it_answers(pipeline, receivers):
    rotate_secret(pipeline)
    receiver = receivers(503, 500, 200)
    start(pipeline, receiver.url)
    assert len(receiver.received) == 3
    assert len({headers["x-contacts-import-delivery"] for headers, _ in receiver.received}) == 1


def test_a_receiver_still_down_is_tried_again_later_from_the_chunk_queue(pipeline, receivers, monkeypatch):
    rotate_secret(pipeline)
    receiver = receivers(503, 503, 503, 503, 200)
    later: list[tuple[Any, int]] = []
    original = TaskQueue.send

    def send(self, tasks, *, delay_seconds=0):
        if tasks and tasks[0].kind == WEBHOOK:
            later.extend((task, delay_seconds) for task in tasks)
            return None
        return original(self, tasks, delay_seconds=delay_seconds)

    monkeypatch.setattr(TaskQueue, "send", send)
    start(pipeline, receiver.url)
    assert len(receiver.received) == 3  # the attempts made at once
    ((task, delay),) = later
    assert (task.number, 1 <= delay <= 900) == (3, True)
    process_task(task, pipeline.deps)  # the message, once its delay is over
    assert len(receiver.received) == 5 and receiver.received[-1][0]["x-contacts-import-event"] == "import.completed"
    assert pipeline.job(task.job_id).get("notified_at"), "the end was announced without waiting for the receiver"


def test_a_receiver_that_refuses_is_not_retried(pipeline, receivers):
    rotate_secret(pipeline)
    receiver = receivers(410)
    start(pipeline, receiver.url)
    assert len(receiver.received) == 1


def test_outside_the_local_stack_a_webhook_url_on_this_machine_is_400_at_creation(stack, receivers, monkeypatch):
    monkeypatch.delenv("AWS_SAM_LOCAL", raising=False)  # as in AWS
    pipeline = Pipeline(stack)
    rotate_secret(pipeline)
    receiver = receivers(200)
    for url in (
        receiver.url,
        "https://127.0.0.1/hook",
        "https://169.254.169.254/latest/meta-data/",
        "https://10.1.2.3/",
    ):
        answer = create(pipeline, url)
        assert answer["statusCode"] == 400, url
        assert body_of(answer)["error"]["code"] == "validation_error"
    assert receiver.received == []
