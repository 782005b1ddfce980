"""The inside of one local Lambda execution environment: a spawned process that imports a handler
once, then runs invocations sent over a pipe until told to stop, like Lambda's Python runtime.

Only the standard library is imported here, before the handler: the process starts as fast as a
Python process can, and the handler's module is imported into an environment that holds nothing
of the local stack. The parent side is ``local_stack.lambda_runtime``.
"""

from __future__ import annotations

import decimal
import importlib
import json
import os
import resource
import signal
import sys
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing.connection import Connection
from types import TracebackType
from typing import Any

# Lambda's limit on a synchronous response (the figure its error message quotes).
MAX_RESPONSE_BYTES = 6_291_556


@dataclass(frozen=True)
class WorkerSettings:
    """Everything a worker needs, pickled across the spawn."""

    function_id: str
    function_name: str
    function_arn: str
    handler_module: str
    handler_function: str
    code_dir: str
    import_paths: tuple[str, ...]  # the code dir, then the layers
    environ: dict[str, str]
    memory_mb: int
    log_group_name: str
    log_stream_name: str


class LambdaContext:
    """The ``context`` argument of a handler, with the attributes Lambda's Python runtime gives it."""

    def __init__(self, settings: WorkerSettings, request_id: str, deadline: float) -> None:
        self.function_name = settings.function_name
        self.function_version = "$LATEST"
        self.invoked_function_arn = settings.function_arn
        # Lambda hands this over as a string, read from AWS_LAMBDA_FUNCTION_MEMORY_SIZE.
        self.memory_limit_in_mb = str(settings.memory_mb)
        self.aws_request_id = request_id
        self.log_group_name = settings.log_group_name
        self.log_stream_name = settings.log_stream_name
        self.identity = None
        self.client_context = None
        self.tenant_id = None
        self._deadline = deadline

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))

    def __repr__(self) -> str:
        return f"LambdaContext(function_name={self.function_name!r}, aws_request_id={self.aws_request_id!r})"


def error_payload(error_type: str, message: str, trace: list[str] | None = None) -> dict[str, Any]:
    """An error as Lambda reports it to the caller."""
    return {"errorMessage": message, "errorType": error_type, "requestId": "", "stackTrace": trace or []}


def _stack_trace(tb: TracebackType | None) -> list[str]:
    return traceback.format_list(traceback.extract_tb(tb))


def _log_error(payload: dict[str, Any]) -> None:
    # Lambda's Python runtime writes "[ERROR] Type: message" and the trace as one log entry.
    print(
        f"[ERROR] {payload['errorType']}: {payload['errorMessage']}\n"
        + "Traceback (most recent call last):\n"
        + "".join(payload["stackTrace"]).rstrip("\n"),
        file=sys.stderr,
        flush=True,
    )


def _json_default(value: Any) -> Any:
    # As Lambda's runtime does: DynamoDB numbers come back as Decimal and still serialize.
    if isinstance(value, decimal.Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


def _load_handler(settings: WorkerSettings) -> Callable[[Any, Any], Any]:
    module_name = settings.handler_module
    try:
        module = importlib.import_module(module_name)
    except SyntaxError as exc:
        raise _InitError("Runtime.UserCodeSyntaxError", f"Syntax error in module '{module_name}': {exc}") from exc
    except ImportError as exc:
        raise _InitError("Runtime.ImportModuleError", f"Unable to import module '{module_name}': {exc}") from exc
    handler = getattr(module, settings.handler_function, None)
    if not callable(handler):
        raise _InitError(
            "Runtime.HandlerNotFound",
            f"Handler '{settings.handler_function}' missing on module '{module_name}'",
        )
    return handler


class _InitError(Exception):
    def __init__(self, error_type: str, message: str) -> None:
        super().__init__(message)
        self.error_type = error_type


def _redirect_output(log_pipe: Connection) -> None:
    """Sends fd 1 and 2 (Python's prints and C libraries' alike) into the parent's log pipe: output
    written just before a crash still reaches the parent, which prefixes it with the function."""
    os.dup2(log_pipe.fileno(), 1)
    os.dup2(log_pipe.fileno(), 2)
    # New stream objects: the inherited ones may believe they write to a seekable file.
    sys.stdout = open(1, "w", encoding="utf-8", errors="backslashreplace", buffering=1, closefd=False)  # noqa: SIM115
    sys.stderr = open(2, "w", encoding="utf-8", errors="backslashreplace", buffering=1, closefd=False)  # noqa: SIM115


def run_worker(settings: WorkerSettings, control: Connection, log_pipe: Connection) -> None:
    """The worker process's main: initialise once, then serve invocations until the pipe closes."""
    _redirect_output(log_pipe)
    # Ctrl-C reaches the whole process group; the parent, not the worker, decides when to stop.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    os.environ.clear()
    os.environ.update(settings.environ)
    time.tzset()
    sys.path[:0] = list(settings.import_paths)
    os.chdir(settings.code_dir)

    init_started = time.monotonic()
    try:
        handler = _load_handler(settings)
    except _InitError as exc:
        payload = error_payload(exc.error_type, str(exc), _stack_trace((exc.__cause__ or exc).__traceback__))
        _log_error(payload)
        control.send(("init_error", payload))
        return
    except Exception as exc:
        payload = error_payload(type(exc).__name__, str(exc), _stack_trace(exc.__traceback__))
        _log_error(payload)
        control.send(("init_error", payload))
        return
    init_ms = (time.monotonic() - init_started) * 1000
    control.send(("ready", init_ms))

    while True:
        try:
            message = control.recv()
        except (EOFError, OSError):
            return
        if message is None:
            return
        if message[0] == "ping":  # the stack's health check: an idle worker answers at once
            control.send(("pong", None))
            continue
        _, request_id, event_json, timeout_seconds = message
        control.send(_invoke(settings, handler, request_id, event_json, timeout_seconds, init_ms))
        init_ms = 0.0


def _invoke(
    settings: WorkerSettings,
    handler: Callable[[Any, Any], Any],
    request_id: str,
    event_json: str,
    timeout_seconds: float,
    init_ms: float,
) -> tuple[str, Any]:
    started = time.monotonic()
    context = LambdaContext(settings, request_id, started + timeout_seconds)
    outcome: tuple[str, Any]
    try:
        result = handler(json.loads(event_json), context)
    except Exception as exc:
        # The first frame is this function's: Lambda's traces start in the handler.
        tb = exc.__traceback__.tb_next if exc.__traceback__ else None
        payload = error_payload(type(exc).__name__, str(exc), _stack_trace(tb))
        payload["requestId"] = request_id
        _log_error(payload)
        outcome = ("error", payload)
    else:
        try:
            result_json = json.dumps(result, default=_json_default)
        except (TypeError, ValueError) as exc:
            payload = error_payload("Runtime.MarshalError", f"Unable to marshal response: {exc}")
            _log_error(payload)
            outcome = ("error", payload)
        else:
            if len(result_json.encode("utf-8")) > MAX_RESPONSE_BYTES:
                payload = error_payload(
                    "Function.ResponseSizeTooLarge",
                    f"Response payload size exceeded maximum allowed payload size ({MAX_RESPONSE_BYTES} bytes).",
                )
                _log_error(payload)
                outcome = ("error", payload)
            else:
                outcome = ("result", result_json)
    _report(settings, request_id, (time.monotonic() - started) * 1000, init_ms)
    return outcome


def _report(settings: WorkerSettings, request_id: str, duration_ms: float, init_ms: float) -> None:
    max_rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024  # KiB on Linux
    line = (
        f"REPORT RequestId: {request_id}\tDuration: {duration_ms:.2f} ms\t"
        f"Memory Size: {settings.memory_mb} MB\tMax Memory Used: {max_rss_mb} MB"
    )
    if init_ms:
        line += f"\tInit Duration: {init_ms:.2f} ms"
    if max_rss_mb > settings.memory_mb:
        line += "\t(over the function's MemorySize: Lambda would have stopped it)"
    print(line, flush=True)
