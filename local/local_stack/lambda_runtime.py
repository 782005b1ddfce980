"""Local Lambda: each function runs in worker processes of its own that stay warm between
invocations, with Lambda's environment, timeout and error reporting.

A worker is a spawned process (``local_stack.lambda_worker``) that imports the handler once. A
small pool per function, started lazily, lets concurrent requests run side by side. A handler's
exception is an error result and the worker stays; a worker that dies or overruns the function's
Timeout is an error result too, and the next invocation gets a fresh worker, as Lambda gives a
fresh execution environment after a crash.
"""

from __future__ import annotations

import atexit
import contextlib
import json
import multiprocessing
import os
import signal
import sys
import threading
import time
import uuid
import weakref
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any, TextIO

from local_stack.lambda_worker import WorkerSettings, error_payload, run_worker
from local_stack.template import FunctionSpec, LocalAccount

# Lambda's limit on a synchronous invocation's request payload.
MAX_SYNC_PAYLOAD_BYTES = 6 * 1024 * 1024
# Lambda gives a function's init 10 s; a cold Python on a busy laptop may need more, and the
# function's own Timeout starts only when its handler is called.
WORKER_INIT_TIMEOUT_SECONDS = 120.0
# Time for a result to cross the pipe after the handler returned at its deadline.
TIMEOUT_GRACE_SECONDS = 1.0
DEFAULT_MAX_WORKERS = 4
OUTPUT_DRAIN_SECONDS = 5.0
FAKE_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
}
# What a worker keeps of the stack's own environment: enough to run, nothing that configures AWS.
_PASSED_THROUGH = ("PATH", "HOME", "LANG", "LC_ALL", "LC_CTYPE", "TMPDIR", "TERM", "COVERAGE_PROCESS_START")

_spawn = multiprocessing.get_context("spawn")
# Every live worker of this process. multiprocessing joins its children at exit; a worker left
# running (by a crash of the stack itself) would make that wait forever, so they are ended first.
_live_workers: weakref.WeakSet[FunctionWorker] = weakref.WeakSet()


@atexit.register
def _end_live_workers() -> None:
    for worker in list(_live_workers):
        worker.kill()


def live_worker_processes() -> list[tuple[str, multiprocessing.process.BaseProcess]]:
    """Every worker process of this process that has not been reaped: (function, process)."""
    return [(w.settings.function_id, w._process) for w in list(_live_workers) if w._process.exitcode is None]


class PayloadTooLarge(Exception):
    """The event is over Lambda's synchronous payload limit (RequestEntityTooLargeException)."""


@dataclass(frozen=True)
class InvocationResult:
    """The outcome of one invocation: the handler's JSON result, or Lambda's error document."""

    request_id: str
    result_json: str | None = None
    error: dict[str, Any] | None = None

    @property
    def ok(self) -> bool:
        return self.error is None

    def result(self) -> Any:
        return json.loads(self.result_json) if self.result_json is not None else None


class OutputSink:
    """Where worker output goes: whole lines, each prefixed with the function's logical id."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self._stream = stream
        self._lock = threading.Lock()

    def write_line(self, prefix: str, line: str) -> None:
        stream = self._stream or sys.stdout
        with self._lock:
            stream.write(f"{prefix} {line}\n")
            stream.flush()

    def forward(self, prefix: str, reader: Connection) -> threading.Thread:
        """Copies a worker's raw output to this sink until the worker's end closes."""

        def pump() -> None:
            pending = b""
            fd = reader.fileno()
            while True:
                try:
                    chunk = os.read(fd, 65536)
                except OSError:
                    break
                if not chunk:
                    break
                pending += chunk
                *lines, pending = pending.split(b"\n")
                for line in lines:
                    self.write_line(prefix, line.decode("utf-8", "backslashreplace").rstrip("\r"))
            if pending:
                self.write_line(prefix, pending.decode("utf-8", "backslashreplace"))
            reader.close()

        thread = threading.Thread(target=pump, name=f"output {prefix}", daemon=True)
        thread.start()
        return thread


class WorkerLost(Exception):
    """The worker process died or was stopped; ``error`` is what Lambda would report."""

    def __init__(self, error: dict[str, Any]) -> None:
        super().__init__(error["errorMessage"])
        self.error = error


class FunctionWorker:
    """The parent's handle on one worker process."""

    def __init__(self, settings: WorkerSettings, sink: OutputSink) -> None:
        self.settings = settings
        control, child_control = _spawn.Pipe()
        log_reader, log_writer = _spawn.Pipe(duplex=False)
        self._control = control
        self._process = _spawn.Process(
            target=run_worker,
            args=(settings, child_control, log_writer),
            name=f"lambda {settings.function_id}",
        )
        self._process.start()
        # Only the child holds these now, so the parent sees EOF the moment the child is gone.
        child_control.close()
        log_writer.close()
        self._output = sink.forward(f"[{settings.function_id}]", log_reader)
        self._ready = False
        self._init_error: dict[str, Any] | None = None
        # The invoking thread and a stopping stack may both end a worker: one of them does it.
        self._ending = threading.Lock()
        self._ended = False
        # Pings not yet answered: a worker stopped during a health check answers them late, before
        # its next invocation's result.
        self._pings = 0
        _live_workers.add(self)

    @property
    def alive(self) -> bool:
        return self._process.is_alive()

    @property
    def pid(self) -> int | None:
        return self._process.pid

    @property
    def ready(self) -> bool:
        """Its handler was imported (Lambda's init is over)."""
        return self._ready

    def ping(self) -> None:
        """Asks an idle worker to answer (``answered`` waits for it): the health check's question,
        which a stopped or blocked worker cannot answer, whatever its process state says."""
        with contextlib.suppress(OSError, ValueError):
            self._control.send(("ping",))
            self._pings += 1

    def answered(self, timeout: float) -> bool:
        """Whether the worker answered every ping within ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        try:
            while self._pings:
                if not self._control.poll(max(0.0, deadline - time.monotonic())):
                    return False
                kind, _ = self._control.recv()
                if kind == "pong":
                    self._pings -= 1
        except (EOFError, OSError, ValueError):
            return False
        return True

    def wait_ready(self) -> dict[str, Any] | None:
        """Waits for the handler's import; answers Lambda's init error, if any."""
        if self._ready or self._init_error:
            return self._init_error
        if not self._poll(WORKER_INIT_TIMEOUT_SECONDS):
            self.kill()
            raise WorkerLost(
                error_payload(
                    "Runtime.InitTimeout",
                    f"the handler was not imported within {WORKER_INIT_TIMEOUT_SECONDS} s",
                )
            )
        kind, value = self._receive()
        if kind == "init_error":
            self._init_error = value
            self.kill()
        else:
            self._ready = True
        return self._init_error

    def invoke(self, request_id: str, event_json: str, timeout_seconds: float) -> InvocationResult:
        init_error = self.wait_ready()
        if init_error is not None:
            return InvocationResult(request_id, error={**init_error, "requestId": request_id})
        try:
            self._control.send(("invoke", request_id, event_json, timeout_seconds))
        except OSError:
            raise WorkerLost(self._exit_error(request_id)) from None
        deadline = time.monotonic() + timeout_seconds + TIMEOUT_GRACE_SECONDS
        while True:
            if not self._poll(max(0.0, deadline - time.monotonic()), request_id):
                self.kill()
                raise WorkerLost(
                    error_payload("Sandbox.Timedout", f"Task timed out after {timeout_seconds:.2f} seconds")
                    | {"requestId": request_id}
                )
            kind, value = self._receive(request_id)
            if kind != "pong":
                break
            self._pings -= 1  # a late answer to a health check, not this invocation's
        if kind == "result":
            return InvocationResult(request_id, result_json=value)
        return InvocationResult(request_id, error=value)

    def _poll(self, timeout: float, request_id: str = "") -> bool:
        try:
            return self._control.poll(timeout)
        except (OSError, ValueError):  # closed by a stopping stack meanwhile
            raise WorkerLost(self._exit_error(request_id)) from None

    def _receive(self, request_id: str = "") -> tuple[str, Any]:
        try:
            return self._control.recv()
        except (EOFError, OSError, ValueError):
            raise WorkerLost(self._exit_error(request_id)) from None

    def _exit_error(self, request_id: str) -> dict[str, Any]:
        with self._ending:
            self._process.join(5)
            code = self._process.exitcode
        if code is None:
            message = f"RequestId: {request_id} Error: Runtime exited without providing a reason"
        else:
            reason = f"signal: {signal.Signals(-code).name}" if code < 0 else f"exit status {code}"
            message = f"RequestId: {request_id} Error: Runtime exited with error: {reason}"
        return error_payload("Runtime.ExitError", message) | {"requestId": request_id}

    def stop(self, wait_seconds: float = 2.0) -> None:
        """Asks the worker to leave after its current invocation; kills it if it does not."""
        self.ask_to_leave()
        self._process.join(wait_seconds)
        self.kill()

    def ask_to_leave(self) -> None:
        with contextlib.suppress(OSError, ValueError):
            self._control.send(None)

    def join(self, timeout: float) -> None:
        self._process.join(timeout)

    def kill(self) -> None:
        with self._ending:
            if not self._ended:
                self._ended = True
                if self._process.is_alive():
                    self._process.kill()
                self._process.join(5)
                self._control.close()
        # The worker's last words (a trace before a crash) are still in the pipe: let them out.
        self._output.join(OUTPUT_DRAIN_SECONDS)


class CodeFingerprint:
    """The state of a function's code (its directory and layers): the newest modification time
    and the number of files. Walking the tree is cheap but not free, so it is done at most once
    a second; a warm worker from before a change is retired, as ``sam local`` reloads code."""

    def __init__(self, directories: tuple[Path, ...], min_interval_seconds: float = 1.0) -> None:
        self._directories = directories
        self._min_interval = min_interval_seconds
        self._checked_at = float("-inf")
        self._value: tuple[float, int] = (0.0, 0)
        self._lock = threading.Lock()

    def current(self) -> tuple[float, int]:
        with self._lock:
            now = time.monotonic()
            if now - self._checked_at >= self._min_interval:
                self._value = self._scan()
                self._checked_at = now
            return self._value

    def _scan(self) -> tuple[float, int]:
        newest, count = 0.0, 0
        for directory in self._directories:
            for root, dirs, files in os.walk(directory):
                dirs[:] = [d for d in dirs if not d.startswith(".") and d != "__pycache__"]
                for name in files:
                    try:
                        newest = max(newest, os.stat(os.path.join(root, name)).st_mtime)
                    except OSError:
                        continue  # removed while walking: the next scan sees the new state
                    count += 1
        return newest, count


class FunctionRuntime:
    """One function's warm workers: a pool that grows on demand up to ``max_workers``."""

    def __init__(
        self,
        spec: FunctionSpec,
        *,
        account: LocalAccount,
        aws_endpoint: str,
        sink: OutputSink,
        max_workers: int = DEFAULT_MAX_WORKERS,
        environment_overrides: Mapping[str, str] | None = None,
        code_check_seconds: float = 1.0,
        dynamodb_endpoint: str | None = None,
    ) -> None:
        self.spec = spec
        self._settings_environ = worker_environment(
            spec,
            account=account,
            aws_endpoint=aws_endpoint,
            overrides=environment_overrides or {},
            dynamodb_endpoint=dynamodb_endpoint,
        )
        self._sink = sink
        self._max_workers = max(1, min(max_workers, spec.reserved_concurrency or max_workers))
        self._idle: list[FunctionWorker] = []
        self._workers: set[FunctionWorker] = set()
        self._count = 0  # workers alive or starting, idle or busy
        self._changed = threading.Condition()
        self._closed = False
        self._code = CodeFingerprint((spec.code_dir, *spec.layer_dirs), code_check_seconds)
        self._code_versions: dict[FunctionWorker, tuple[float, int]] = {}
        self.invocations = 0
        self.errors = 0

    def _settings(self) -> WorkerSettings:
        spec = self.spec
        stream_id = uuid.uuid4().hex
        return WorkerSettings(
            function_id=spec.logical_id,
            function_name=spec.function_name,
            function_arn=spec.arn,
            handler_module=spec.handler_module,
            handler_function=spec.handler_function,
            code_dir=str(spec.code_dir),
            import_paths=(str(spec.code_dir), *(str(layer) for layer in spec.layer_dirs)),
            environ={**self._settings_environ, "AWS_LAMBDA_LOG_STREAM_NAME": _log_stream_name(stream_id)},
            memory_mb=spec.memory_mb,
            log_group_name=f"/aws/lambda/{spec.function_name}",
            log_stream_name=_log_stream_name(stream_id),
        )

    def _acquire(self) -> FunctionWorker:
        code_version = self._code.current()
        retired: list[FunctionWorker] = []
        try:
            with self._changed:
                while True:
                    if self._closed:
                        raise WorkerLost(error_payload("Runtime.Stopped", "the local stack is stopping"))
                    while self._idle:
                        worker = self._idle.pop()
                        if worker.alive and self._code_versions.get(worker) == code_version:
                            return worker
                        # Died while idle, or its code changed since: Lambda would start afresh.
                        retired.append(worker)
                        self._count -= 1
                        self._workers.discard(worker)
                        self._code_versions.pop(worker, None)
                    if self._count < self._max_workers:
                        self._count += 1
                        break
                    self._changed.wait()
        finally:
            for worker in retired:
                worker.kill()
        try:
            worker = FunctionWorker(self._settings(), self._sink)
        except BaseException:
            self._forget()
            raise
        with self._changed:
            self._workers.add(worker)
            self._code_versions[worker] = code_version
        return worker

    def busy_worker_pids(self) -> list[int]:
        """The process ids of the workers running an invocation's handler now, their init done (an
        operator, or a test, may kill one to see the function's event source recover)."""
        with self._changed:
            idle = set(self._idle)
            return sorted(w.pid for w in self._workers if w not in idle and w.ready and w.alive and w.pid is not None)

    def _release(self, worker: FunctionWorker) -> None:
        with self._changed:
            if not self._closed:
                self._idle.append(worker)
                self._changed.notify()
                return
        worker.stop()
        self._forget(worker)

    def _forget(self, worker: FunctionWorker | None = None) -> None:
        with self._changed:
            self._count -= 1
            self._workers.discard(worker)  # type: ignore[arg-type]
            self._code_versions.pop(worker, None)  # type: ignore[arg-type]
            self._changed.notify()

    def warm_up(self) -> None:
        """Starts one worker and imports the handler, as provisioned concurrency would."""
        try:
            worker = self._acquire()
        except WorkerLost:
            return
        try:
            init_error = worker.wait_ready()
        except WorkerLost:
            self._forget(worker)
            return
        if init_error is not None:
            self._forget(worker)
        else:
            self._release(worker)

    def invoke(self, event: Any, *, request_id: str | None = None) -> InvocationResult:
        """Runs the handler with ``event`` (a JSON-able value, or JSON text) synchronously."""
        event_json = event if isinstance(event, str) else json.dumps(event)
        if len(event_json.encode("utf-8")) > MAX_SYNC_PAYLOAD_BYTES:
            raise PayloadTooLarge(f"the event is over Lambda's {MAX_SYNC_PAYLOAD_BYTES} byte payload limit")
        request_id = request_id or str(uuid.uuid4())
        self.invocations += 1
        try:
            worker = self._acquire()
        except WorkerLost as lost:
            self.errors += 1
            return InvocationResult(request_id, error=lost.error)
        try:
            result = worker.invoke(request_id, event_json, float(self.spec.timeout_seconds))
        except WorkerLost as lost:
            worker.kill()
            self._forget(worker)
            self.errors += 1
            if not self._closed:  # a stopping stack ends busy workers on purpose
                self._sink.write_line(f"[{self.spec.logical_id}]", f"[ERROR] {lost.error['errorMessage']}")
            return InvocationResult(request_id, error=lost.error)
        except BaseException:
            worker.kill()
            self._forget(worker)
            raise
        if worker.alive:
            self._release(worker)
        else:
            self._forget(worker)
        if not result.ok:
            self.errors += 1
        return result

    def check_workers(self, timeout: float) -> list[str]:
        """What is wrong with this function's idle workers: each is asked to answer (all at once)
        and given ``timeout`` seconds. A worker that does not answer would take the next
        invocation and hold it until the function's Timeout. Busy workers are left to their
        invocation's own deadline. Workers asked are out of the pool meanwhile."""
        with self._changed:
            asked, self._idle = self._idle, []
        try:
            for worker in asked:
                worker.ping()
            deadline = time.monotonic() + timeout
            silent = [w for w in asked if not w.answered(max(0.0, deadline - time.monotonic()))]
        finally:
            with self._changed:
                if not self._closed:  # else close() has taken them for busy ones and killed them
                    self._idle.extend(asked)
                    self._changed.notify_all()
        return [
            f"{self.spec.logical_id}: its idle worker (pid {w.pid}) did not answer within {timeout:g} s"
            + ("" if w.alive else " (it has exited)")
            for w in silent
        ]

    def workers(self) -> list[dict[str, Any]]:
        """Each worker's process id and whether it is idle (``/_local/stats``)."""
        with self._changed:
            idle = set(self._idle)
            return [{"pid": w.pid, "idle": w in idle} for w in self._workers]

    def close(self, wait_seconds: float = 1.0) -> None:
        """Stops idle workers and kills busy ones: their callers get an error result. Idle workers
        are asked to leave all at once and waited for together, then killed if still there (a
        stopped or blocked one never leaves by itself)."""
        with self._changed:
            self._closed = True
            idle, self._idle = self._idle, []
            busy = self._workers.difference(idle)
            self._changed.notify_all()
        for worker in busy:
            worker.kill()
        for worker in idle:
            worker.ask_to_leave()
        deadline = time.monotonic() + wait_seconds
        for worker in idle:
            worker.join(max(0.0, deadline - time.monotonic()))
        for worker in idle:
            worker.kill()
            self._forget(worker)


def _log_stream_name(stream_id: str) -> str:
    return f"{datetime.now(UTC):%Y/%m/%d}/[$LATEST]{stream_id}"


def worker_environment(
    spec: FunctionSpec,
    *,
    account: LocalAccount,
    aws_endpoint: str,
    overrides: Mapping[str, str],
    dynamodb_endpoint: str | None = None,
) -> dict[str, str]:
    """A worker's environment: the function's variables from the template, then what Lambda sets
    (which a function cannot override), pointed at the local AWS endpoint with fake credentials.

    With ``dynamodb_endpoint``, DynamoDB is reached there directly (``AWS_ENDPOINT_URL_DYNAMODB``,
    which boto3 prefers to ``AWS_ENDPOINT_URL``), as a Lambda reaches DynamoDB's own regional
    endpoint: the functions' DynamoDB traffic, the bulk of an import, does not queue behind the AWS
    endpoint's one Python process."""
    environ = {name: os.environ[name] for name in _PASSED_THROUGH if name in os.environ}
    environ.update(spec.environment)
    environ.update(overrides)
    environ.update(FAKE_CREDENTIALS)
    environ.update(
        {
            "AWS_REGION": account.region,
            "AWS_DEFAULT_REGION": account.region,
            "AWS_ENDPOINT_URL": aws_endpoint,
            # No profile of the developer's may redirect or re-credential a local function.
            "AWS_CONFIG_FILE": os.devnull,
            "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
            "AWS_LAMBDA_FUNCTION_NAME": spec.function_name,
            "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(spec.memory_mb),
            "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{spec.function_name}",
            "AWS_LAMBDA_INITIALIZATION_TYPE": "on-demand",
            "AWS_EXECUTION_ENV": f"AWS_Lambda_{spec.runtime or 'python3'}",
            "LAMBDA_TASK_ROOT": str(spec.code_dir),
            "_HANDLER": spec.handler,
            "TZ": ":UTC",
            # What `sam local` sets; Powertools reads it and leaves X-Ray alone.
            "AWS_SAM_LOCAL": "true",
        }
    )
    if dynamodb_endpoint:
        environ["AWS_ENDPOINT_URL_DYNAMODB"] = dynamodb_endpoint
    return environ
