"""``contacts-import-local``: ``run`` (the default) serves the local stack in the foreground until
Ctrl-C or SIGTERM; ``invoke`` runs one function once with an event file, like ``sam local invoke -e``.

This module imports only the standard library at load time: worker processes are spawned, and a
spawned process re-imports the main module of its parent, which is this one under the console script.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import sys
import threading
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit


def _parameter_overrides(pairs: list[str]) -> dict[str, str]:
    overrides = {}
    for pair in pairs:
        name, separator, value = pair.partition("=")
        if not separator:
            raise argparse.ArgumentTypeError(f"--parameter-overrides takes Name=Value, got {pair!r}")
        overrides[name] = value
    return overrides


def _template_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--template", type=Path, help="the SAM template (default: ./template.yaml or above)")
    parser.add_argument(
        "--project-root",
        type=Path,
        help="where CodeUri and ContentUri paths start (default: the template's directory)",
    )
    parser.add_argument(
        "--parameter-overrides", nargs="*", default=[], metavar="NAME=VALUE", help="template parameters"
    )
    parser.add_argument(
        "--stack-name",
        default=None,
        help="the stack's name, which starts every physical name (default contacts-import-local)",
    )
    parser.add_argument(
        "--env-vars",
        type=Path,
        help='JSON of variables: {"Parameters": {...}, "<LogicalId>": {...}}, as sam local',
    )


def build_parser() -> argparse.ArgumentParser:
    from local_stack.stack import ports_from_environment

    defaults = ports_from_environment()
    parser = argparse.ArgumentParser(
        prog="contacts-import-local", description="The contacts-import stack on this machine, without Docker."
    )
    commands = parser.add_subparsers(dest="command")

    run = commands.add_parser("run", help="serve the local stack until Ctrl-C (the default)")
    _template_arguments(run)
    run.add_argument("--host", default=defaults["host"], help="address to listen on (LOCAL_HOST)")
    run.add_argument("--aws-port", type=int, default=defaults["aws_port"], help="moto server port (LOCAL_AWS_PORT)")
    run.add_argument("--api-port", type=int, default=defaults["api_port"], help="API port (LOCAL_API_PORT)")
    run.add_argument("--max-workers", type=int, default=4, help="warm workers per function at most")
    run.add_argument("--no-warm-up", action="store_true", help="start workers only on the first invocation")
    run.add_argument("--no-throttle", action="store_true", help="ignore the API's MethodSettings throttling")
    run.add_argument("--verbose-aws", action="store_true", help="log every call to the AWS endpoint")
    run.add_argument(
        "--throttle-dynamodb",
        metavar="PARTITION[:TABLE]",
        default=None,
        help="refuse DynamoDB writes over this many items a second a partition key (and a table), as AWS does",
    )
    run.add_argument(
        "--dynamodb-endpoint",
        default=None,
        help="serve DynamoDB from this running endpoint instead of starting DynamoDB Local",
    )

    invoke = commands.add_parser("invoke", help="run one function once with an event, print its result")
    _template_arguments(invoke)
    invoke.add_argument("--function", "-f", required=True, help="the function's logical id in the template")
    invoke.add_argument("--event", "-e", default=None, help="event JSON file, - for stdin (default: {})")
    invoke.add_argument(
        "--aws-endpoint",
        default=os.environ.get("AWS_ENDPOINT_URL") or f"http://{defaults['host']}:{defaults['aws_port']}",
        help="the running local stack's AWS endpoint (AWS_ENDPOINT_URL)",
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    arguments = list(sys.argv[1:] if argv is None else argv)
    if not arguments or arguments[0] not in ("run", "invoke", "-h", "--help"):
        arguments.insert(0, "run")
    options = build_parser().parse_args(arguments)
    try:
        overrides = _parameter_overrides(options.parameter_overrides)
    except argparse.ArgumentTypeError as exc:
        print(f"contacts-import-local: {exc}", file=sys.stderr)
        return 2
    if options.command == "invoke":
        return invoke_once(options, overrides)
    return run_stack(options, overrides)


def run_stack(options: argparse.Namespace, overrides: dict[str, str]) -> int:
    from local_stack.dynamodb_throttle import WriteLimits
    from local_stack.stack import LocalStack, StackConfig, StartupError
    from local_stack.template import LocalAccount, TemplateError

    try:
        limits = WriteLimits.parse(options.throttle_dynamodb) if options.throttle_dynamodb else None
    except ValueError:
        print(
            f"contacts-import-local: --throttle-dynamodb takes PARTITION[:TABLE] items a second, above 0, "
            f"not {options.throttle_dynamodb!r}",
            file=sys.stderr,
        )
        return 2

    config = StackConfig(
        template_path=options.template,
        project_root=options.project_root,
        host=options.host,
        aws_port=options.aws_port,
        api_port=options.api_port,
        max_workers=options.max_workers,
        warm_up=not options.no_warm_up,
        throttling=not options.no_throttle,
        parameter_overrides=overrides,
        env_vars_file=options.env_vars,
        verbose_aws=options.verbose_aws,
        dynamodb_endpoint=options.dynamodb_endpoint,
        throttle_dynamodb=limits,
        stack_name=options.stack_name or LocalAccount.stack_name,
    )
    stop_requested = threading.Event()
    started: list[Any] = []  # the stack, once made: a second Ctrl-C kills what it started

    def request_stop(signum: int, frame: Any) -> None:
        if stop_requested.is_set():
            # A second Ctrl-C while stopping: leave now, with SIGKILL to every process the stack
            # started (a stopped or blocked worker would outlive us otherwise).
            for stack in started:
                stack.kill_processes()
            print("contacts-import-local: killed without cleaning up", file=sys.stderr, flush=True)
            os._exit(130)
        stop_requested.set()

    signal.signal(signal.SIGINT, request_stop)
    signal.signal(signal.SIGTERM, request_stop)
    try:
        stack = LocalStack(config)
    except (TemplateError, OSError) as exc:
        print(f"contacts-import-local: {exc}", file=sys.stderr)
        return 2
    started.append(stack)
    try:
        stack.start()
    except StartupError as exc:
        print(f"contacts-import-local: {exc}", file=sys.stderr)
        stack.stop()
        return 1
    except BaseException:
        stack.stop()
        raise
    print(stack.banner(), flush=True)
    asked_to_stop = stack.wait(stop_requested)
    stack.log("stopping: the API, the event pumps, the function workers, the AWS endpoint, DynamoDB Local")
    left = stack.stop()
    if left:
        stack.log(f"[ERROR] not stopped: {', '.join(left)} did not end, even after SIGKILL")
    else:
        stack.log("stopped; the local state is gone")
    code = 0 if asked_to_stop and not left else 1
    if not asked_to_stop:
        print(f"contacts-import-local: {stack.failure}", file=sys.stderr, flush=True)
    _exit_within(EXIT_SECONDS, code)
    return code


# What this process may still take to exit once everything it started has ended: the interpreter
# joins the threads of thread pools at exit, and one blocked on a hung call would keep it forever.
EXIT_SECONDS = 5.0


def _exit_within(seconds: float, code: int) -> None:
    """Leaves with ``code`` after ``seconds`` if the interpreter's own exit has not ended by then."""
    sys.stdout.flush()
    sys.stderr.flush()
    timer = threading.Timer(seconds, os._exit, args=(code,))
    timer.daemon = True
    timer.start()


def _read_event(source: str | None) -> str:
    if source is None:
        return "{}"
    text = sys.stdin.read() if source == "-" else Path(source).read_text(encoding="utf-8")
    json.loads(text)  # a broken event file is the caller's mistake, reported before any worker starts
    return text


def _endpoint_listening(endpoint: str) -> bool:
    parts = urlsplit(endpoint)
    try:
        with socket.create_connection((parts.hostname or "127.0.0.1", parts.port or 80), timeout=1):
            return True
    except OSError:
        return False


def invoke_once(options: argparse.Namespace, overrides: dict[str, str]) -> int:
    """Runs the function in a fresh worker, prints the result (stdout) and its logs (stderr)."""
    from local_stack.lambda_runtime import FunctionRuntime, OutputSink, PayloadTooLarge
    from local_stack.template import LocalAccount, TemplateError, env_file_overrides, load_template

    try:
        template = load_template(
            options.template,
            project_root=options.project_root,
            parameter_overrides=overrides,
            account=LocalAccount(stack_name=options.stack_name or LocalAccount.stack_name),
        )
        spec = template.function(options.function)
        event_json = _read_event(options.event)
    except (TemplateError, KeyError, OSError, ValueError) as exc:
        message = exc.args[0] if isinstance(exc, KeyError) else exc
        print(f"contacts-import-local invoke: {message}", file=sys.stderr)
        return 2
    if not _endpoint_listening(options.aws_endpoint):
        print(
            f"contacts-import-local invoke: nothing listens at {options.aws_endpoint}; "
            "start the local stack with `make local` if the function calls AWS",
            file=sys.stderr,
        )
    env_overrides = env_file_overrides(options.env_vars, spec.logical_id) if options.env_vars else {}
    runtime = FunctionRuntime(
        spec,
        account=template.account,
        aws_endpoint=options.aws_endpoint,
        sink=OutputSink(sys.stderr),
        max_workers=1,
        environment_overrides=env_overrides,
    )
    try:
        result = runtime.invoke(event_json)
    except PayloadTooLarge as exc:
        print(json.dumps({"errorType": "RequestEntityTooLargeException", "errorMessage": str(exc)}, indent=2))
        return 1
    finally:
        runtime.close()
    if result.ok:
        print(json.dumps(result.result(), indent=2, ensure_ascii=False))
        return 0
    print(json.dumps(result.error, indent=2, ensure_ascii=False))
    return 1


if __name__ == "__main__":
    sys.exit(main())
