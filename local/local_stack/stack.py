"""The local stack as one object: start it, serve until told to stop, stop it cleanly.

Start-up order: the API's HTTP server first (``/health`` answers 503 from the first moment), then
DynamoDB Local (when the template has tables), the AWS endpoint (DynamoDB requests passed on to
DynamoDB Local, the rest served by moto), the template's tables, buckets and queues, the local API
key, the S3 notifications and the pumps; only then does ``/health`` answer 200. Functions start
lazily in warm workers (one per function is warmed up in the background once the stack is up).
Everything lives in memory. A DynamoDB Local that dies stops the stack (``failure`` says why).
``/health`` runs the checks of ``local_stack.health``. Stopping is bounded: the parts in order for
at most ``STOP_IN_ORDER_SECONDS``, then SIGKILL to every process the stack started (the workers of
this process, DynamoDB Local, a stopped resource tracker), and ``stop`` says which did not end.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import sys
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any, TextIO

from local_stack.aws_endpoint import AwsEndpointServer
from local_stack.dynamodb_local import DynamoDbLocal, DynamoDbLocalError, answers, table_names
from local_stack.dynamodb_throttle import WriteLimits
from local_stack.event_sources import (
    LOCAL_ASYNC_RETRY_DELAYS_SECONDS,
    AsyncInvoker,
    S3EventPump,
    ScheduleRunner,
    SqsEventPump,
)
from local_stack.gateway import LocalApiGateway, serve
from local_stack.health import PROBE_SECONDS, Check, aws_service_checks, run_checks, threads_running
from local_stack.lambda_runtime import (
    DEFAULT_MAX_WORKERS,
    FAKE_CREDENTIALS,
    FunctionRuntime,
    InvocationResult,
    OutputSink,
    live_worker_processes,
)
from local_stack.resources import CreatedResources, connect_s3_event_sources, create_stack_resources
from local_stack.stack_description import LocalStackDescription
from local_stack.template import LocalAccount, StackTemplate, env_file_overrides, load_template

# Fixed by the contract for local use.
LOCAL_API_KEY = "local-dev-key"
LOCAL_ACCOUNT_ID = "local"
# The template's table of API keys, where the local key is seeded.
API_KEYS_TABLE_ID = "ApiKeysTable"

DEFAULT_HOST = "127.0.0.1"
DEFAULT_AWS_PORT = 4566
DEFAULT_API_PORT = 3000
# Stopping: the parts in order, for at most this long (an idle stack takes about a second); then
# SIGKILL to the processes left, and this long for them to go. DynamoDB Local has a JVM to end.
STOP_IN_ORDER_SECONDS = 10.0
DYNAMODB_STOP_SECONDS = 5.0
KILL_WAIT_SECONDS = 5.0
RESOURCE_TRACKER = "multiprocessing's resource tracker"


class StartupError(RuntimeError):
    """The stack cannot start; the message says why and what to do."""


@dataclass(frozen=True)
class StackConfig:
    template_path: Path | None = None
    project_root: Path | None = None
    host: str = DEFAULT_HOST
    aws_port: int = DEFAULT_AWS_PORT
    api_port: int = DEFAULT_API_PORT
    max_workers: int = DEFAULT_MAX_WORKERS
    warm_up: bool = True
    throttling: bool = True
    parameter_overrides: Mapping[str, str] = field(default_factory=dict)
    env_vars_file: Path | None = None
    async_retry_delays: tuple[float, ...] = LOCAL_ASYNC_RETRY_DELAYS_SECONDS
    verbose_aws: bool = False
    # A DynamoDB endpoint that is already running (the tests' one DynamoDB Local); None: the stack
    # starts DynamoDB Local of its own when the template has tables.
    dynamodb_endpoint: str | None = None
    # Physical names are <stack name>-<LogicalId>: stacks sharing one DynamoDB need names of their own.
    stack_name: str = LocalAccount.stack_name
    # DynamoDB's write limits, scaled down, in front of the engine (make bench-scale's throttled run).
    throttle_dynamodb: WriteLimits | None = None

    @property
    def aws_endpoint(self) -> str:
        return f"http://{self.host}:{self.aws_port}"

    @property
    def api_url(self) -> str:
        return f"http://{self.host}:{self.api_port}"


def aws_session(region: str) -> Any:
    """A boto3 session with fake credentials that no environment or profile can override."""
    import boto3

    return boto3.session.Session(
        aws_access_key_id=FAKE_CREDENTIALS["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=FAKE_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
        aws_session_token=FAKE_CREDENTIALS["AWS_SESSION_TOKEN"],
        region_name=region,
    )


def seed_local_api_key(template: StackTemplate, session: Any, endpoint_url: str | None) -> bool:
    """Writes the contract's local key (``local-dev-key`` for account ``local``, all scopes) into
    the template's API keys table. False when the template has no such table (a test template)."""
    from contacts_import.auth.keys import record_for_key
    from contacts_import.store.api_keys import ApiKeyStore

    table = template.tables.get(API_KEYS_TABLE_ID)
    if table is None:
        return False
    dynamodb = session.resource("dynamodb", region_name=template.account.region, endpoint_url=endpoint_url)
    ApiKeyStore(dynamodb.Table(table.name)).put(record_for_key(LOCAL_API_KEY, LOCAL_ACCOUNT_ID))
    return True


def _ensure_port_free(host: str, port: int, what: str, flag: str) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            raise StartupError(
                f"cannot listen on {host}:{port} for the {what} ({exc.strerror}); "
                f"is another local stack running? Choose another port with {flag}."
            ) from None


class LocalStack:
    """Everything ``make local`` runs, in one process (plus the functions' workers)."""

    def __init__(self, config: StackConfig, out: TextIO | None = None) -> None:
        self.config = config
        self.out = out or sys.stdout
        self.template = load_template(
            config.template_path,
            project_root=config.project_root,
            parameter_overrides=config.parameter_overrides,
            account=LocalAccount(stack_name=config.stack_name),
        )
        self.sink = OutputSink(self.out)
        self.runtimes: dict[str, FunctionRuntime] = {}
        self.resources = CreatedResources()
        self.startup_seconds: float | None = None
        self._ready = threading.Event()
        self._stopping = threading.Event()
        self._aws_endpoint: AwsEndpointServer | None = None
        self._dynamodb_local: DynamoDbLocal | None = None
        self.dynamodb_endpoint: str | None = config.dynamodb_endpoint
        # Where the functions and the AWS endpoint send DynamoDB requests: the engine, or a throttle.
        self.dynamodb_front: str | None = None
        self._throttle: Any = None
        self.failure: str | None = None  # why the stack stopped serving by itself
        self._failed = threading.Event()
        self._api_server: Any = None
        self._gateway: LocalApiGateway | None = None
        self._pumps: list[Any] = []
        self._async: AsyncInvoker | None = None
        self._schedules: ScheduleRunner | None = None
        self._session: Any = None
        self._aws_checks: dict[str, Check] | None = None
        self._killed_tracker: int | None = None

    # -- running

    @property
    def ready(self) -> bool:
        return self._ready.is_set()

    def log(self, line: str) -> None:
        self.sink.write_line("[local]", line)

    def start(self) -> None:
        started = time.monotonic()
        config, template = self.config, self.template
        for warning in template.warnings:
            self.log(f"[WARN] {warning}")
        _ensure_port_free(config.host, config.api_port, "API", "--api-port or LOCAL_API_PORT")
        _ensure_port_free(config.host, config.aws_port, "AWS endpoint", "--aws-port or LOCAL_AWS_PORT")

        self._gateway = LocalApiGateway(
            template,
            self.invoke,
            server_port=config.api_port,
            throttling=config.throttling,
            log=lambda line: self.sink.write_line("[api]", line),
            ready=self._ready.is_set,
            health=self.health,
            local_stats=self.stats,
        )
        self._api_server, _ = serve(self._gateway, config.host, config.api_port)

        # The JVM takes seconds to start: moto starts meanwhile.
        if self.dynamodb_endpoint is None and template.tables:
            self._dynamodb_local = DynamoDbLocal(host=config.host)
            try:
                self._dynamodb_local.launch()
            except DynamoDbLocalError as exc:
                raise StartupError(str(exc)) from None
            self.dynamodb_endpoint = self._dynamodb_local.endpoint
        self.dynamodb_front = self._start_throttle() if config.throttle_dynamodb else self.dynamodb_endpoint
        for function_id, spec in template.functions.items():
            overrides = env_file_overrides(config.env_vars_file, function_id) if config.env_vars_file else {}
            self.runtimes[function_id] = FunctionRuntime(
                spec,
                account=template.account,
                aws_endpoint=config.aws_endpoint,
                sink=self.sink,
                max_workers=config.max_workers,
                environment_overrides=overrides,
                dynamodb_endpoint=self.dynamodb_front,
            )
        self._start_aws_endpoint()
        if self._dynamodb_local is not None:
            try:
                self._dynamodb_local.wait_until_ready()
            except DynamoDbLocalError as exc:
                raise StartupError(str(exc)) from None
            threading.Thread(target=self._watch_dynamodb_local, name="watch DynamoDB Local", daemon=True).start()
        elif self.dynamodb_endpoint is not None and not answers(self.dynamodb_endpoint):
            raise StartupError(f"nothing answers DynamoDB requests at {self.dynamodb_endpoint} (--dynamodb-endpoint)")

        self._session = aws_session(template.account.region)
        self.resources = create_stack_resources(template, self._session, endpoint_url=config.aws_endpoint)
        if not seed_local_api_key(template, self._session, config.aws_endpoint):
            self.log(f"[WARN] no {API_KEYS_TABLE_ID} in {template.path.name}: the local API key was not seeded")
        self._start_event_sources()

        self.startup_seconds = time.monotonic() - started
        self._ready.set()
        if config.warm_up:
            for runtime in self.runtimes.values():
                threading.Thread(target=runtime.warm_up, name=f"warm {runtime.spec.logical_id}", daemon=True).start()

    def _start_aws_endpoint(self) -> None:
        import logging

        from local_stack.moto_fidelity import serialize_moto_requests

        serialize_moto_requests()
        if not self.config.verbose_aws:
            # One line per AWS call would bury the functions' own output.
            logging.getLogger("werkzeug").setLevel(logging.WARNING)
        self._aws_endpoint = AwsEndpointServer(
            self.config.host, self.config.aws_port, self.dynamodb_front, describe_local_stack(self.template)
        )
        self._aws_endpoint.start()

    def _start_throttle(self) -> str:
        """A front that throttles writes as DynamoDB does, scaled down (``dynamodb_throttle``)."""
        from werkzeug.serving import make_server

        from local_stack.aws_endpoint import DynamoDbForwarder
        from local_stack.dynamodb_throttle import Throttle, ThrottledDynamoDb

        assert self.dynamodb_endpoint is not None and self.config.throttle_dynamodb is not None
        hash_keys = {table.name: table.hash_key for table in self.template.tables.values()}
        front = ThrottledDynamoDb(
            DynamoDbForwarder(self.dynamodb_endpoint), Throttle(self.config.throttle_dynamodb, hash_keys)
        )
        self._throttle = make_server(self.config.host, 0, front, threaded=True)
        threading.Thread(target=self._throttle.serve_forever, name="dynamodb throttle", daemon=True).start()
        limits = self.config.throttle_dynamodb
        self.log(
            f"DynamoDB writes throttled: {limits.partition_writes:g} items/s a partition key, "
            f"{limits.table_writes:g} items/s a table"
        )
        return f"http://{self.config.host}:{self._throttle.server_port}"

    def _watch_dynamodb_local(self) -> None:
        engine = self._dynamodb_local
        while engine is not None and not self._stopping.wait(DYNAMODB_WATCH_SECONDS):
            if not engine.alive():
                self._fail(
                    f"DynamoDB Local (pid {engine.pid}) exited with code {engine.returncode}: {engine.output_tail(500)}"
                )
                return

    def _fail(self, reason: str) -> None:
        if self._stopping.is_set():
            return
        self.failure = reason
        self.log(f"[ERROR] {reason}; the local stack stops")
        self._failed.set()

    def wait(self, stop_requested: threading.Event, poll_seconds: float = 0.5) -> bool:
        """Serves until ``stop_requested`` is set (True) or the stack fails by itself (False)."""
        while not stop_requested.wait(poll_seconds):
            if self._failed.is_set():
                return False
        return True

    def health(self) -> dict[str, list[str]]:
        """What keeps the stack from serving a request now, check by check (``GET /health``
        answers 503 naming each problem; see ``local_stack.health``)."""
        checks: dict[str, Check] = {"stack": lambda: [self.failure] if self.failure else []}
        if self.dynamodb_endpoint is not None:
            checks["dynamodb"] = self._dynamodb_problems
        if self._session is not None:
            if self._aws_checks is None:
                self._aws_checks = aws_service_checks(
                    self.template, self.resources, self._session, self.config.aws_endpoint, HEALTH_PROBE_SECONDS
                )
            checks.update(self._aws_checks)
        for function_id, runtime in self.runtimes.items():
            checks[f"function:{function_id}"] = partial(runtime.check_workers, HEALTH_PROBE_SECONDS)
        pumps: list[threading.Thread] = [*self._pumps, *([self._schedules] if self._schedules else [])]
        if pumps:
            checks["event sources"] = threads_running(pumps)
        return run_checks(checks, HEALTH_PROBE_SECONDS)

    def _dynamodb_problems(self) -> list[str]:
        """The engine as the functions reach it (directly, not through the AWS endpoint)."""
        if self._dynamodb_local is not None and not self._dynamodb_local.alive():
            return [f"DynamoDB Local (pid {self._dynamodb_local.pid}) is not running"]
        assert self.dynamodb_endpoint is not None
        held = table_names(self.dynamodb_endpoint, timeout=HEALTH_PROBE_SECONDS)
        if held is None:
            return [f"DynamoDB at {self.dynamodb_endpoint} does not answer within {HEALTH_PROBE_SECONDS:g} s"]
        missing = sorted(set(self.resources.tables.values()) - held)
        if missing:
            return [f"DynamoDB at {self.dynamodb_endpoint} has lost the stack's tables: {', '.join(missing)}"]
        return []

    def _start_event_sources(self) -> None:
        config, template = self.config, self.template
        sqs = self._session.client("sqs", region_name=template.account.region, endpoint_url=config.aws_endpoint)
        self._async = AsyncInvoker(
            template,
            self.invoke,
            send_to_queue=lambda queue_id, body: sqs.send_message(
                QueueUrl=self.resources.queues[queue_id], MessageBody=body
            ),
            log=self.log,
            concurrency=config.max_workers,
            retry_delays=config.async_retry_delays,
        )
        s3_queues = connect_s3_event_sources(template, self._session, endpoint_url=config.aws_endpoint)
        for function_id, queue_url in s3_queues.items():
            self._pumps.append(S3EventPump(function_id, sqs, queue_url, self._async, self.log, self._stopping))
        for source in template.sqs_event_sources:
            if source.enabled:
                self._pumps.append(
                    SqsEventPump(
                        source,
                        template,
                        sqs,
                        self.resources.queues[source.queue_id],
                        self.invoke,
                        self.log,
                        self._stopping,
                        concurrency=config.max_workers,
                    )
                )
        for pump in self._pumps:
            pump.start()
        if template.schedule_event_sources:
            self._schedules = ScheduleRunner(
                template.schedule_event_sources, template.account, self._async, self._stopping
            )
            self._schedules.start()

    def invoke(self, function_id: str, event_json: str) -> InvocationResult:
        return self.runtimes[function_id].invoke(event_json)

    def _endpoint_services(self) -> str:
        if self._dynamodb_local is not None:
            return "DynamoDB: DynamoDB Local; S3, SQS, EventBridge: moto"
        if self.dynamodb_endpoint is not None:
            return f"DynamoDB: {self.dynamodb_endpoint}; S3, SQS, EventBridge: moto"
        return "moto: S3, SQS, EventBridge"

    def stats(self) -> dict[str, Any]:
        return {
            "dynamodb": {
                "endpoint": self.dynamodb_endpoint,
                "front": self.dynamodb_front,
                "throttled_writes": self._throttle.app.throttle.refused if self._throttle else 0,
                "dynamodb_local_pid": self._dynamodb_local.pid if self._dynamodb_local else None,
                "requests_through_aws_endpoint": self._aws_endpoint.forwarded if self._aws_endpoint else 0,
            },
            "functions": {
                function_id: {
                    "invocations": runtime.invocations,
                    "errors": runtime.errors,
                    "busy_worker_pids": runtime.busy_worker_pids(),
                    "workers": runtime.workers(),
                }
                for function_id, runtime in self.runtimes.items()
            },
            "async_invocations": self._async.as_dict() if self._async else {},
            "sqs_event_sources": {pump.name: pump.as_dict() for pump in self._pumps if isinstance(pump, SqsEventPump)},
            "schedules": self._schedules.as_dict() if self._schedules else {},
        }

    def stop(self, within: float = STOP_IN_ORDER_SECONDS) -> list[str]:
        """Stops serving, then the pumps, the workers, the AWS endpoint and DynamoDB Local, in that
        order, for at most ``within`` seconds; then every process the stack started that is still
        there (a stopped or blocked one) is killed. Returns the processes that did not end even
        so (none, when the stack has stopped); every state is gone afterwards."""
        self._ready.clear()
        self._stopping.set()
        in_order = threading.Thread(target=self._stop_in_order, name="stopping", daemon=True)
        in_order.start()
        in_order.join(within)
        if in_order.is_alive():
            self.log(f"[WARN] stopping in order took more than {within:g} s: the processes left are killed")
        self.kill_processes()
        return self._not_ended(KILL_WAIT_SECONDS)

    def _stop_in_order(self) -> None:
        steps: list[tuple[str, Callable[[], object]]] = []
        if self._api_server is not None:
            steps.append(("the API server", self._api_server.shutdown))
        if self._gateway is not None:
            steps.append(("the gateway", self._gateway.close))
        if self._async is not None:
            steps.append(("asynchronous invocations", self._async.stop))
        steps += [(pump.name, pump.stop) for pump in self._pumps if isinstance(pump, SqsEventPump)]
        steps.append(("the function workers", self._close_runtimes))
        steps += [(pump.name, partial(pump.join, POLL_JOIN_SECONDS)) for pump in self._pumps]
        if self._aws_endpoint is not None:
            steps.append(("the AWS endpoint", self._aws_endpoint.stop))
        if self._throttle is not None:
            steps.append(("the DynamoDB throttle", self._throttle.shutdown))
        if self._dynamodb_local is not None:
            steps.append(("DynamoDB Local", partial(self._dynamodb_local.stop, DYNAMODB_STOP_SECONDS)))
        for what, step in steps:
            try:
                step()
            except Exception as exc:  # one part failing to stop must not keep the others running
                self.log(f"[ERROR] stopping {what} failed: {exc!r}")

    def _close_runtimes(self) -> None:
        """Every function's workers at once: a stopped worker costs one wait, not one a function."""
        closing = [
            threading.Thread(target=runtime.close, name=f"close {fid}", daemon=True)
            for fid, runtime in self.runtimes.items()
        ]
        for thread in closing:
            thread.start()
        for thread in closing:
            thread.join()

    def _processes(self) -> list[tuple[str, int]]:
        """Every process the stack started that has not been reaped: (what, pid)."""
        found = [(f"the worker of {fid}", process.pid) for fid, process in live_worker_processes() if process.pid]
        engine = self._dynamodb_local
        if engine is not None and engine.alive() and engine.pid is not None:
            found.append(("DynamoDB Local", engine.pid))
        tracker = _stopped_resource_tracker_pid()
        if tracker is not None:
            found.append((RESOURCE_TRACKER, tracker))
        return found

    def kill_processes(self) -> None:
        """SIGKILL to every process the stack started, without waiting: it ends whatever the
        process is doing, stopped (SIGSTOP) or blocked included."""
        for what, pid in self._processes():
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGKILL)
            if what == RESOURCE_TRACKER:
                self._killed_tracker = pid

    def _not_ended(self, timeout: float) -> list[str]:
        """The processes still there after ``timeout`` seconds (each is reaped once it ends)."""
        deadline = time.monotonic() + timeout
        for _, process in live_worker_processes():
            process.join(max(0.0, deadline - time.monotonic()))
        if self._dynamodb_local is not None:
            self._dynamodb_local.wait(max(0.0, deadline - time.monotonic()))
        tracker = self._killed_tracker
        while tracker is not None and not _reaped(tracker) and time.monotonic() < deadline:
            time.sleep(0.05)
        return [f"{what} (pid {pid})" for what, pid in self._processes() if _process_state(pid) != "Z"]

    # -- the banner

    def banner(self) -> str:
        config, template = self.config, self.template
        bucket_names = [bucket.name for bucket in template.buckets.values()]
        bucket = bucket_names[0] if bucket_names else "(no bucket in the template)"
        lines = [
            "",
            f"contacts-import local stack is up (start-up took {self.startup_seconds or 0:.1f} s)",
            "",
            f"  API           {config.api_url}",
            f"  AWS endpoint  {config.aws_endpoint}   ({self._endpoint_services()}; any credentials)",
            f"  Bucket        {bucket}",
            f"  API key       {LOCAL_API_KEY}   (account {LOCAL_ACCOUNT_ID!r}, all scopes)",
            "",
            "  Routes (from " + template.path.name + "):",
        ]
        for route in template.routes:
            auth = "" if route.authorizer else "   (no authorizer)"
            lines.append(f"    {route.method:<6} {route.path:<40} -> {route.function_id}{auth}")
        if template.s3_event_sources:
            lines.append("  S3 triggers:")
            for source in template.s3_event_sources:
                rules = " ".join(f"{name}={value}" for name, value in source.filter_rules)
                lines.append(f"    s3://{source.bucket_name} {','.join(source.events)} {rules} -> {source.function_id}")
        if template.sqs_event_sources:
            lines.append("  SQS triggers:")
            for sqs_source in template.sqs_event_sources:
                lines.append(
                    f"    {template.queues[sqs_source.queue_id].name} (batch {sqs_source.batch_size}) "
                    f"-> {sqs_source.function_id}"
                )
        if template.schedule_event_sources:
            lines.append("  Schedules:")
            for schedule in template.schedule_event_sources:
                lines.append(f"    {schedule.expression} -> {schedule.function_id}")
        post_route = next((r.path for r in template.routes if r.method == "POST" and "{" not in r.path), None)
        get_route = next((r.path for r in template.routes if r.method == "GET" and "{" not in r.path), None)
        auth_header = f"-H 'Authorization: Bearer {LOCAL_API_KEY}'"
        lines += ["", "  Try:"]
        if get_route:
            lines.append(f"    curl {auth_header} {config.api_url}{get_route}")
        if post_route:
            lines.append(
                f"    curl {auth_header} -H 'Content-Type: text/csv' --data-binary @contacts.csv "
                f"{config.api_url}{post_route}"
            )
        lines += [
            "    AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing "
            f"aws --endpoint-url {config.aws_endpoint} "
            f"s3 cp contacts.csv s3://{bucket}/drop/{LOCAL_ACCOUNT_ID}/default/",
            f"    CONTACTS_API_URL={config.api_url} .venv/bin/contacts-import upload contacts.csv --wait",
            f"    make invoke FUNCTION={next(iter(template.functions), '<LogicalId>')} EVENT=events/<event>.json",
            "",
            "  State lives in memory: Ctrl-C stops the stack and discards everything.",
            "",
        ]
        missing = [spec for spec in template.functions.values() if not spec.handler_file.is_file()]
        for spec in missing:
            lines.append(f"  note: {spec.logical_id} has no {spec.handler_file} yet; its invocations will fail")
        return "\n".join(lines)


POLL_JOIN_SECONDS = 3.0
DYNAMODB_WATCH_SECONDS = 0.5
HEALTH_PROBE_SECONDS = PROBE_SECONDS


def _stopped_resource_tracker_pid() -> int | None:
    """The process multiprocessing starts with the first worker to track their semaphores, when it
    is stopped (SIGSTOP, or a terminal's Ctrl-Z on the process group). A running one ends by
    itself when this process's end closes its pipe; a stopped one would never read that, and
    outlive the stack. (``_resource_tracker._pid`` is multiprocessing's own record of it.)"""
    from multiprocessing import resource_tracker

    pid = getattr(resource_tracker._resource_tracker, "_pid", None)
    return pid if isinstance(pid, int) and _process_state(pid) in ("T", "t") else None


def _process_state(pid: int) -> str | None:
    """The state letter of ``/proc/<pid>/stat`` (``T``: stopped, ``Z``: ended, not reaped), or None
    when there is no such process (or no /proc)."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
            return stat.read().rpartition(")")[2].split()[0]
    except OSError:
        return None


def _reaped(pid: int) -> bool:
    """Whether ``pid``, a child of this process, has ended; reaps it if it has."""
    try:
        ended, _ = os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        return True
    return ended == pid


def ports_from_environment(environ: Mapping[str, str] = os.environ) -> dict[str, Any]:
    """Defaults for ``--host``, ``--aws-port`` and ``--api-port`` from LOCAL_HOST, LOCAL_AWS_PORT
    and LOCAL_API_PORT."""
    return {
        "host": environ.get("LOCAL_HOST", DEFAULT_HOST),
        "aws_port": int(environ.get("LOCAL_AWS_PORT", DEFAULT_AWS_PORT)),
        "api_port": int(environ.get("LOCAL_API_PORT", DEFAULT_API_PORT)),
    }


def describe_local_stack(template: StackTemplate) -> LocalStackDescription:
    """The local stack as ``DescribeStacks`` tells it: its name, id and resolved outputs."""
    pseudo = template.account.pseudo_parameters()
    outputs = {name: str(value) for name, value in template.outputs.items() if value is not None}
    return LocalStackDescription(template.account.stack_name, pseudo["AWS::StackId"], outputs)
