"""Where moto, the local AWS endpoint, is made to behave as AWS does in what the project relies on.

- DynamoDB applies a write's condition and the write itself atomically, and runs a transaction in
  isolation. moto checks a condition and then writes, in plain Python: two requests served by two
  threads at once may both pass the same condition (two workers would both be the one that ends a
  job, and move its list's size twice).
- S3 replaces an object atomically: a reader gets the old object or the new one, whole. moto closes
  the old object's buffer when it is replaced, under a reader in another thread.

The local stack, and the integration tests that run workers in threads, therefore serve DynamoDB
requests one at a time, and S3 object requests one at a time. moto holds the GIL for nearly all of
a request anyway, so this costs next to nothing in throughput.
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


def serialize_requests() -> None:
    """Make moto serve DynamoDB requests, and S3 object requests, one at a time (process-wide;
    calling it again changes nothing)."""
    global _installed
    if _installed:
        return
    from moto.dynamodb.responses import DynamoHandler
    from moto.s3.responses import S3Response

    DynamoHandler.call_action = _one_at_a_time(DynamoHandler.call_action)  # type: ignore[method-assign]
    S3Response.key_response = _one_at_a_time(S3Response.key_response)  # type: ignore[method-assign]
    _installed = True
