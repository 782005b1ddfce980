"""What ``GET /health`` checks: that a request would be served now, not only that the gateway runs.

A request needs the AWS endpoint to answer for every service the functions' Policies reach
(``template.policy_services``), the functions' workers to take an invocation, and the event pumps
to carry S3 notifications and queue messages. Each check gets ``PROBE_SECONDS``; all run at once,
so a stopped endpoint or worker makes ``/health`` answer 503 naming it within about that bound,
never hang. The checks only ask: a hung worker stays as it is (its next invocation will time out),
so what ``/health`` says is what a request would meet.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from local_stack.resources import CreatedResources
from local_stack.template import StackTemplate

# Short enough that a health poller sees a hang within seconds, long enough for a busy two-core
# machine to answer a ListTables or a ping (they take milliseconds when idle).
PROBE_SECONDS = 2.0

Check = Callable[[], list[str]]  # what is wrong; [] when all is well


def run_checks(checks: Mapping[str, Check], bound: float = PROBE_SECONDS) -> dict[str, list[str]]:
    """Runs every check at once, each in a daemon thread; what each found wrong. A check still
    running after ``bound`` (plus a little for the threads themselves) is reported as not having
    answered; its thread ends on its own, by the timeouts each check sets itself."""
    found: dict[str, list[str]] = {}
    lock = threading.Lock()

    def run(name: str, check: Check) -> None:
        try:
            problems = check()
        except Exception as exc:  # a check that breaks is a problem found, never a 500 of /health
            problems = [f"{name}: the check failed: {exc!r}"]
        with lock:
            found[name] = problems

    threads = [
        threading.Thread(target=run, args=item, name=f"health {item[0]}", daemon=True) for item in checks.items()
    ]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + bound + 0.5
    for thread in threads:
        thread.join(max(0.0, deadline - time.monotonic()))
    with lock:
        return {name: found.get(name, [f"{name}: did not answer within {bound:g} s"]) for name in checks}


def aws_service_checks(
    template: StackTemplate, created: CreatedResources, session: Any, endpoint: str, bound: float = PROBE_SECONDS
) -> dict[str, Check]:
    """One check per service the functions use, each a cheap call on the stack's own resources
    through the AWS endpoint, as a function (or a client outside the stack) makes it."""
    from botocore.config import Config

    config = Config(connect_timeout=bound, read_timeout=bound, retries={"max_attempts": 1, "mode": "standard"})
    region = template.account.region

    def client(service: str) -> Any:
        return session.client(service, region_name=region, endpoint_url=endpoint, config=config)

    calls: dict[str, Callable[[Any], Iterable[str]]] = {
        "dynamodb": lambda c: _each(c.describe_table, "TableName", list(created.tables.values())[:1]),
        "s3": lambda c: _each(c.head_bucket, "Bucket", created.buckets.values()),
        "sqs": lambda c: _each(
            lambda **kw: c.get_queue_attributes(AttributeNames=["QueueArn"], **kw), "QueueUrl", created.queues.values()
        ),
        "events": lambda c: _each(c.describe_event_bus, "Name", ["default"]),
        "kms": lambda c: _each(
            c.describe_key, "KeyId", [spec.aliases[0] for spec in template.kms_keys.values() if spec.aliases]
        ),
    }
    checks: dict[str, Check] = {}
    for service in sorted(template.services & calls.keys()):
        checks[f"aws:{service}"] = _service_check(service, client(service), calls[service], endpoint, bound)
    return checks


def _each(call: Callable[..., Any], parameter: str, values: Iterable[str]) -> list[str]:
    """Calls ``call`` for each value; the values it refused (not found, lost by the endpoint)."""
    from botocore.exceptions import ClientError

    refused = []
    for value in values:
        try:
            call(**{parameter: value})
        except ClientError as error:
            refused.append(f"{value}: {error.response.get('Error', {}).get('Code', 'error')}")
    return refused


def _service_check(
    service: str, client: Any, call: Callable[[Any], Iterable[str]], endpoint: str, bound: float
) -> Check:
    from botocore.exceptions import BotoCoreError, ConnectTimeoutError, ReadTimeoutError

    def check() -> list[str]:
        try:
            refused = list(call(client))
        except (ReadTimeoutError, ConnectTimeoutError):
            return [f"the AWS endpoint at {endpoint} did not answer {service} within {bound:g} s"]
        except BotoCoreError as error:
            return [f"the AWS endpoint at {endpoint} did not answer {service}: {error}"]
        return (
            [f"the AWS endpoint at {endpoint} has lost the stack's {service} resources: {', '.join(refused)}"]
            if refused
            else []
        )

    return check


def threads_running(threads: Iterable[threading.Thread]) -> Check:
    """The event pumps (and the schedules): a thread that has ended delivers nothing any more."""
    watched = list(threads)

    def check() -> list[str]:
        return [
            f"{thread.name} has stopped: its events are not delivered" for thread in watched if not thread.is_alive()
        ]

    return check
