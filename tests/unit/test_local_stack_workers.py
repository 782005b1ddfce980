"""Local Lambda workers: real spawned processes running small handlers written into tmp_path.

They check what Lambda guarantees a handler: its environment and context, a warm module between
invocations, errors reported as Lambda reports them, and a fresh environment after a crash or a
timeout.
"""

from __future__ import annotations

import io
import os
import signal
import textwrap
import threading
import time
from pathlib import Path

import pytest

from local_stack.lambda_runtime import FunctionRuntime, OutputSink, PayloadTooLarge
from local_stack.template import FunctionSpec, LocalAccount

HANDLER = """
import decimal
import json
import os
import signal
import sys
import time
from pathlib import Path

import helper  # from the layer directory

IMPORTS = getattr(sys.modules[__name__], "IMPORTS", 0) + 1
print("cold start of", os.environ["AWS_LAMBDA_FUNCTION_NAME"])


def handler(event, context):
    action = event.get("action")
    print("handling", action)
    if action == "raise":
        raise ValueError("bad input: " + str(event.get("detail")))
    if action == "exit":
        sys.stdout.flush()
        os._exit(3)
    if action == "hang":
        time.sleep(3600)
    if action == "unserializable":
        return {"when": object()}
    if action == "block":
        Path(event["started"], str(os.getpid())).touch()
        while not Path(event["release"]).exists():
            time.sleep(0.01)
    return {
        "pid": os.getpid(),
        "imports": IMPORTS,
        "cwd": os.getcwd(),
        "path_head": sys.path[:2],
        "helper": helper.VALUE,
        "env": {k: os.environ.get(k) for k in (
            "TABLE", "AWS_LAMBDA_FUNCTION_NAME", "AWS_ENDPOINT_URL", "AWS_REGION", "AWS_ACCESS_KEY_ID",
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "LAMBDA_TASK_ROOT", "AWS_SAM_LOCAL", "LEAKED",
        )},
        "context": {
            "function_name": context.function_name,
            "function_version": context.function_version,
            "invoked_function_arn": context.invoked_function_arn,
            "memory_limit_in_mb": context.memory_limit_in_mb,
            "aws_request_id": context.aws_request_id,
            "log_group_name": context.log_group_name,
            "remaining": context.get_remaining_time_in_millis(),
        },
        "price": decimal.Decimal("1.5"),
        "count": decimal.Decimal("2"),
    }
"""


@pytest.fixture
def function_dir(tmp_path: Path) -> Path:
    code = tmp_path / "fn"
    layer = tmp_path / "layer"
    code.mkdir()
    layer.mkdir()
    (code / "app.py").write_text(textwrap.dedent(HANDLER), encoding="utf-8")
    (layer / "helper.py").write_text("VALUE = 'from the layer'\n", encoding="utf-8")
    (code / "broken.py").write_text("import not_a_module_anywhere\n", encoding="utf-8")
    return code


def _spec(code: Path, handler: str = "app.handler", timeout: int = 30) -> FunctionSpec:
    return FunctionSpec(
        logical_id="Fake",
        function_name="stack-Fake",
        arn="arn:aws:lambda:us-east-1:123456789012:function:stack-Fake",
        code_dir=code,
        handler=handler,
        runtime="python3.12",
        timeout_seconds=timeout,
        memory_mb=256,
        environment={"TABLE": "stack-Table", "AWS_REGION": "eu-north-1"},
        layer_dirs=(code.parent / "layer",),
    )


@pytest.fixture
def output() -> io.StringIO:
    return io.StringIO()


def _runtime(spec: FunctionSpec, output: io.StringIO, max_workers: int = 2) -> FunctionRuntime:
    return FunctionRuntime(
        spec,
        account=LocalAccount(),
        aws_endpoint="http://127.0.0.1:4566",
        sink=OutputSink(output),
        max_workers=max_workers,
    )


def test_handler_gets_lambdas_environment_and_context(
    function_dir: Path, output: io.StringIO, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LEAKED", "the stack's own environment")
    runtime = _runtime(_spec(function_dir), output)
    try:
        result = runtime.invoke({"action": "describe"}, request_id="req-1")
    finally:
        runtime.close()
    assert result.ok, result.error
    answer = result.result()
    assert answer["env"] == {
        "TABLE": "stack-Table",
        "AWS_LAMBDA_FUNCTION_NAME": "stack-Fake",
        "AWS_ENDPOINT_URL": "http://127.0.0.1:4566",
        "AWS_REGION": "us-east-1",  # reserved: the function's own value does not win
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "256",
        "LAMBDA_TASK_ROOT": str(function_dir),
        "AWS_SAM_LOCAL": "true",
        "LEAKED": None,
    }
    assert answer["cwd"] == str(function_dir)
    assert answer["path_head"] == [str(function_dir), str(function_dir.parent / "layer")]
    assert answer["helper"] == "from the layer"
    context = answer["context"]
    assert context["function_name"] == "stack-Fake"
    assert context["function_version"] == "$LATEST"
    assert context["invoked_function_arn"].endswith(":function:stack-Fake")
    assert context["memory_limit_in_mb"] == "256"
    assert context["aws_request_id"] == "req-1"
    assert context["log_group_name"] == "/aws/lambda/stack-Fake"
    assert 0 < context["remaining"] <= 30_000
    assert (answer["price"], answer["count"]) == (1.5, 2)
    log = output.getvalue()
    assert "[Fake] cold start of stack-Fake" in log
    assert "[Fake] handling describe" in log
    assert "[Fake] REPORT RequestId: req-1" in log


def test_worker_stays_warm_and_survives_handler_errors(function_dir: Path, output: io.StringIO) -> None:
    runtime = _runtime(_spec(function_dir), output, max_workers=1)
    try:
        first = runtime.invoke({}).result()
        failure = runtime.invoke({"action": "raise", "detail": 42})
        second = runtime.invoke({}).result()
    finally:
        runtime.close()
    assert first["pid"] == second["pid"]
    assert second["imports"] == 1
    assert failure.error is not None
    assert failure.error["errorType"] == "ValueError"
    assert failure.error["errorMessage"] == "bad input: 42"
    assert any("app.py" in line for line in failure.error["stackTrace"])
    assert "[Fake] [ERROR] ValueError: bad input: 42" in output.getvalue()
    assert "Traceback (most recent call last):" in output.getvalue()
    assert (runtime.invocations, runtime.errors) == (3, 1)


def test_crashed_worker_is_replaced(function_dir: Path, output: io.StringIO) -> None:
    runtime = _runtime(_spec(function_dir), output, max_workers=1)
    try:
        before = runtime.invoke({}).result()
        crash = runtime.invoke({"action": "exit"})
        after = runtime.invoke({}).result()
    finally:
        runtime.close()
    assert crash.error is not None
    assert crash.error["errorType"] == "Runtime.ExitError"
    assert "exit status 3" in crash.error["errorMessage"]
    assert before["pid"] != after["pid"]
    assert "[Fake] handling exit" in output.getvalue()  # printed just before the crash, still shown


def test_timeout_stops_the_worker(function_dir: Path, output: io.StringIO) -> None:
    runtime = _runtime(_spec(function_dir, timeout=1), output, max_workers=1)
    try:
        timed_out = runtime.invoke({"action": "hang"})
        after = runtime.invoke({})
    finally:
        runtime.close()
    assert timed_out.error is not None
    assert timed_out.error["errorType"] == "Sandbox.Timedout"
    assert "Task timed out after 1.00 seconds" in timed_out.error["errorMessage"]
    assert after.ok


def test_init_errors_are_reported_like_lambda(function_dir: Path, output: io.StringIO) -> None:
    for handler, error_type in (
        ("broken.handler", "Runtime.ImportModuleError"),
        ("app.missing", "Runtime.HandlerNotFound"),
        ("nowhere.handler", "Runtime.ImportModuleError"),
    ):
        runtime = _runtime(_spec(function_dir, handler=handler), output)
        try:
            result = runtime.invoke({})
        finally:
            runtime.close()
        assert result.error is not None and result.error["errorType"] == error_type, result.error


def test_unserializable_result_is_a_marshal_error(function_dir: Path, output: io.StringIO) -> None:
    runtime = _runtime(_spec(function_dir), output)
    try:
        result = runtime.invoke({"action": "unserializable"})
    finally:
        runtime.close()
    assert result.error is not None and result.error["errorType"] == "Runtime.MarshalError"


def test_event_over_6_mb_is_refused_before_any_worker(function_dir: Path, output: io.StringIO) -> None:
    runtime = _runtime(_spec(function_dir), output)
    try:
        with pytest.raises(PayloadTooLarge):
            runtime.invoke({"blob": "x" * (6 * 1024 * 1024)})
    finally:
        runtime.close()


def test_concurrent_invocations_run_in_separate_workers(
    function_dir: Path, output: io.StringIO, tmp_path: Path
) -> None:
    started, release = tmp_path / "started", tmp_path / "release"
    started.mkdir()
    runtime = _runtime(_spec(function_dir), output, max_workers=2)
    results = []
    event = {"action": "block", "started": str(started), "release": str(release)}
    threads = [threading.Thread(target=lambda: results.append(runtime.invoke(event))) for _ in range(2)]
    try:
        for thread in threads:
            thread.start()
        # Both handlers must be running at the same time before either may finish.
        give_up = time.monotonic() + 120
        while len(list(started.iterdir())) < 2 and time.monotonic() < give_up:
            time.sleep(0.05)
        release.touch()
        for thread in threads:
            thread.join(120)
    finally:
        release.touch()
        runtime.close()
    assert len(list(started.iterdir())) == 2
    assert all(result.ok for result in results)
    assert len({result.result()["pid"] for result in results}) == 2


def test_warm_up_imports_the_handler_ahead(function_dir: Path, output: io.StringIO) -> None:
    runtime = _runtime(_spec(function_dir), output, max_workers=1)
    try:
        runtime.warm_up()
        assert runtime.invocations == 0
        assert runtime.invoke({}).result()["imports"] == 1
    finally:
        runtime.close()
    assert output.getvalue().count("cold start of stack-Fake") == 1


def test_changed_code_gets_a_fresh_worker(function_dir: Path, output: io.StringIO) -> None:
    runtime = FunctionRuntime(
        _spec(function_dir),
        account=LocalAccount(),
        aws_endpoint="http://127.0.0.1:4566",
        sink=OutputSink(output),
        max_workers=1,
        code_check_seconds=0,
    )
    try:
        before = runtime.invoke({}).result()
        unchanged = runtime.invoke({}).result()
        helper = function_dir.parent / "layer" / "helper.py"
        helper.write_text("VALUE = 'edited'\n", encoding="utf-8")
        os.utime(helper, (time.time() + 10, time.time() + 10))
        after = runtime.invoke({}).result()
    finally:
        runtime.close()
    assert before["pid"] == unchanged["pid"]
    assert after["pid"] != before["pid"]
    assert after["helper"] == "edited"


def test_a_stopped_idle_worker_is_named_by_the_check_and_serves_again_once_continued(
    function_dir: Path, output: io.StringIO
) -> None:
    runtime = _runtime(_spec(function_dir), output, max_workers=1)
    try:
        runtime.warm_up()
        assert runtime.check_workers(2.0) == []
        (worker,) = runtime.workers()
        os.kill(worker["pid"], signal.SIGSTOP)  # a hung worker, as far as anyone asking can tell
        try:
            problems = runtime.check_workers(0.5)
        finally:
            os.kill(worker["pid"], signal.SIGCONT)
        assert problems == [f"Fake: its idle worker (pid {worker['pid']}) did not answer within 0.5 s"]
        # Its late answer to the check is not taken for the next invocation's result.
        result = runtime.invoke({"action": "echo"})
        assert result.ok and result.result()["pid"] == worker["pid"]
        assert runtime.check_workers(2.0) == []
    finally:
        runtime.close()


def test_closing_ends_stopped_workers_too(function_dir: Path, output: io.StringIO) -> None:
    runtime = _runtime(_spec(function_dir), output, max_workers=1)
    runtime.warm_up()
    (worker,) = runtime.workers()
    os.kill(worker["pid"], signal.SIGSTOP)
    started = time.monotonic()
    runtime.close(wait_seconds=0.5)
    assert time.monotonic() - started < 30  # generous: it is killed after the half second, not waited for
    assert runtime.workers() == []
    with pytest.raises(ProcessLookupError):
        os.kill(worker["pid"], 0)
