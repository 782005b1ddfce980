"""Where moto, which serves S3, SQS and EventBridge locally, is made to behave as AWS does in what
the project relies on.

SQS takes sends, receives, deletes and visibility changes from any number of clients at once. moto
iterates a queue's messages while another thread changes them, and a receive then fails with
``RuntimeError: Set changed size during iteration`` (seen with chunk workers in parallel): its SQS
backend is entered by one thread at a time (S3's notifications reach it too, not only requests),
and a long poll waits outside, as SQS's does.

S3 replaces an object atomically: a reader gets the old object or the new one, whole. moto closes
the old object's buffer when it is replaced, under a reader in another thread (a planner rewriting
a job's plan while a chunk worker reads it; a result document written twice), and that reader fails
with ``ValueError: I/O operation on closed file``. The local stack, and the integration tests that
run workers in threads, therefore serve S3 object requests one at a time. moto holds the GIL for
nearly all of such a request anyway, so this costs next to nothing in throughput (nor does it for
SQS's small requests).

DynamoDB needs nothing here: it is served by DynamoDB Local, Amazon's own engine, whose conditions,
transactions and limits are DynamoDB's.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable
from typing import Any

_installed = False


def _one_at_a_time(method: Callable[..., Any], lock: Any = None) -> Callable[..., Any]:
    lock = lock or threading.RLock()

    @functools.wraps(method)
    def serialized(*args: Any, **kwargs: Any) -> Any:
        with lock:
            return method(*args, **kwargs)

    return serialized


def serialize_moto_requests() -> None:
    """Make moto serve SQS requests, and S3 object requests, one at a time (process-wide; calling
    it again changes nothing)."""
    global _installed
    if _installed:
        return
    from moto.s3.responses import S3Response
    from moto.sqs.models import Queue, SQSBackend

    S3Response.key_response = _one_at_a_time(S3Response.key_response)  # type: ignore[method-assign]
    sqs = threading.Condition(threading.RLock())
    for name, member in list(vars(SQSBackend).items()):
        if callable(member) and not name.startswith("_"):
            setattr(SQSBackend, name, _one_at_a_time(member, sqs))

    def wait_for_messages(queue: Any, timeout: int) -> None:
        # Called by a long poll inside the backend: the others go on meanwhile; the poll looks again.
        sqs.wait(min(timeout, LONG_POLL_STEP_SECONDS))

    Queue.wait_for_messages = wait_for_messages  # type: ignore[method-assign]
    _installed = True


LONG_POLL_STEP_SECONDS = 0.05
