"""Where moto, which serves S3, SQS and EventBridge locally, is made to behave as AWS does in what
the project relies on.

S3 replaces an object atomically: a reader gets the old object or the new one, whole. moto closes
the old object's buffer when it is replaced, under a reader in another thread (a planner rewriting
a job's plan while a chunk worker reads it; a result document written twice), and that reader fails
with ``ValueError: I/O operation on closed file``. The local stack, and the integration tests that
run workers in threads, therefore serve S3 object requests one at a time. moto holds the GIL for
nearly all of such a request anyway, so this costs next to nothing in throughput.

DynamoDB needs nothing here: it is served by DynamoDB Local, Amazon's own engine, whose conditions,
transactions and limits are DynamoDB's.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable
from typing import Any

_installed = False


def _one_at_a_time(method: Callable[..., Any]) -> Callable[..., Any]:
    lock = threading.RLock()

    @functools.wraps(method)
    def serialized(*args: Any, **kwargs: Any) -> Any:
        with lock:
            return method(*args, **kwargs)

    return serialized


def serialize_s3_object_requests() -> None:
    """Make moto serve S3 object requests one at a time (process-wide; calling it again changes
    nothing)."""
    global _installed
    if _installed:
        return
    from moto.s3.responses import S3Response

    S3Response.key_response = _one_at_a_time(S3Response.key_response)  # type: ignore[method-assign]
    _installed = True
