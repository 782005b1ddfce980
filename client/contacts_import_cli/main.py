"""The ``contacts-import`` command: arguments in, one function per command, an exit code out."""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable, Sequence
from datetime import timedelta
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from contacts_import.auth.keys import ALL_SCOPES
from contacts_import.models import Counts
from contacts_import.object_keys import ACCOUNT_ID_PATTERN
from contacts_import_cli import multipart, output
from contacts_import_cli.api import ApiClient, job_path
from contacts_import_cli.errors import ApiError, CliError, ExitCode, Unreachable
from contacts_import_cli.keys import (
    USAGE_PLAN_ENV,
    change_drop_writers,
    create_key,
    locate_accounts,
    locate_keys_table,
    new_webhook_secret,
    register_usage_key,
)
from contacts_import_cli.settings import ClientSettings
from contacts_import_cli.upload import send_file, wait_for_job
from contacts_import_cli.validate import validate_file

EPILOG = """\
environment:
  CONTACTS_API_URL   the API (default http://127.0.0.1:3000, the local stack of `make local`)
  CONTACTS_API_KEY   the API key sent as "Authorization: Bearer <key>" (default local-dev-key)

exit codes:
  0  done (upload --wait: the job completed)
  1  the job failed or was cancelled; validate --fail-on-errors found row errors
  2  bad usage or options, an unreadable file, or a file the import would refuse as a whole
     (also an API answer 400, 413, 415 or 422)
  3  the API, S3 or DynamoDB answered another error or could not be reached
  4  upload --wait --timeout ran out while the job was still running (it goes on)
"""


# ------------------------------------------------------------------------------------ options


def json_option(text: str, name: str) -> Any:
    """A JSON option given inline or as @file."""
    if text.startswith("@"):
        try:
            text = Path(text[1:]).read_text(encoding="utf-8")
        except OSError as error:
            raise CliError(f"{name}: cannot read {text[1:]}: {error.strerror}", exit_code=ExitCode.REFUSED) from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        raise CliError(f"{name} is not valid JSON: {error.msg} (at {error.pos})", exit_code=ExitCode.REFUSED) from None


def reading_options(args: argparse.Namespace) -> dict[str, Any]:
    """The import options both `upload` and `validate` take, named as the API names them."""
    options: dict[str, Any] = {}
    if args.region:
        options["default_region"] = args.region
    if args.mapping is not None:
        options["mapping"] = json_option(args.mapping, "--mapping")
    if args.possible:
        options["phone_validation"] = "possible"
    if args.no_header:
        options["has_header"] = False
    if args.delimiter:
        options["delimiter"] = args.delimiter
    if args.encoding:
        options["encoding"] = args.encoding
    return options


def existing_file(text: str) -> Path:
    path = Path(text)
    if not path.is_file():
        raise CliError(f"{text}: no such file", exit_code=ExitCode.REFUSED)
    return path


def _byte_count(text: str) -> int:
    units = {"K": 1024, "M": 1024**2, "G": 1024**3}
    scale = units.get(text[-1:].upper(), 1)
    try:
        value = int(float(text[:-1] if scale > 1 else text) * scale)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of bytes: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError("at least 1 byte a second")
    return value


def client_settings() -> ClientSettings:
    try:
        return ClientSettings.from_environment()
    except ValidationError as error:
        problems = "; ".join(e["msg"] for e in error.errors())
        raise CliError(problems, exit_code=ExitCode.REFUSED) from None


def api_client() -> ApiClient:
    settings = client_settings()
    return ApiClient(settings.api_url, settings.api_key)


# ----------------------------------------------------------------------------------- commands


def _multipart_job(
    args: argparse.Namespace, client: ApiClient, body: dict[str, Any], path: Path, api_url: str
) -> tuple[str, multipart.ResumeRecord]:
    """The job to send ``path`` in parts to: the one ``--resume`` names (or the record of this
    file names), else a new one. Its resume record is written before any part is sent."""
    if args.resume is None:
        job_id, _ = multipart.begin(client, body, path)
    elif args.resume:
        job_id = args.resume
        kept = multipart.load_record(job_id)
        if kept is not None and not kept.matches(path):
            raise CliError(
                f"job {job_id} was uploading {kept.path} ({kept.size} bytes), not this file as it is now",
                exit_code=ExitCode.REFUSED,
            )
    else:
        found = multipart.record_for_file(path, api_url)
        if found is None:
            raise CliError(
                f"no interrupted upload of {path} to resume (records are kept in {multipart.cache_dir()}); "
                "name the job: --resume JOB_ID",
                exit_code=ExitCode.REFUSED,
            )
        job_id = found.job_id
    record = multipart.ResumeRecord.of(job_id, path, api_url)
    record.save()
    return job_id, record


def _send_parts(
    client: ApiClient,
    job_id: str,
    record: multipart.ResumeRecord,
    path: Path,
    parallel: int,
    limit_rate: int | None,
    on_bytes: Callable[[int], None],
) -> None:
    """Send the parts S3 lacks and complete the upload; the resume record is then forgotten."""
    sender = multipart.PartSender(client, job_id, path, on_bytes, parallel=parallel, limit_rate=limit_rate)
    try:
        state = sender.refresh()
    except ApiError as error:
        if error.code != "upload_completed":
            raise
        # Completed by the run that was stopped after it: nothing is left to send.
        record.forget()
        return
    try:
        held = sum(1 for p in state["parts"] if "etag" in p)
        if held:
            output.note(f"resuming job {job_id}: S3 holds {held} of {len(state['parts'])} parts; sending the rest")
        parts = sender.send(state, counted=on_bytes)
    except multipart.Interrupted as error:
        raise multipart.interrupted(job_id, path) from error
    except Unreachable as error:
        raise multipart.interrupted(job_id, path, ExitCode.API_ERROR, str(error)) from error
    multipart.complete(client, job_id, parts)
    record.forget()


def cmd_upload(args: argparse.Namespace) -> int:
    path = existing_file(args.file)
    body: dict[str, Any] = {"file_name": path.name, **reading_options(args)}
    if args.list:
        body["list_id"] = args.list
    if args.update:
        body["on_existing"] = "update"
    if args.tags:
        body["tags"] = [tag.strip() for tag in args.tags.split(",") if tag.strip()]
    if args.dry_run:
        body["dry_run"] = True
    settings = client_settings()
    client = api_client()
    in_parts = args.resume is not None or path.stat().st_size >= settings.multipart_threshold
    accepted: dict[str, Any] = {}
    if in_parts:
        job_id, record = _multipart_job(args, client, body, path, settings.api_url)
    else:
        accepted = client.post("/imports/uploads", body)
        job_id = str(accepted["job_id"])

    console = output.stderr()
    show_progress = not args.json and console.is_terminal
    with output.job_progress(console, show=show_progress) as progress:
        sending = progress.add_task("upload", total=path.stat().st_size, detail=path.name)
        try:
            if in_parts:
                _send_parts(
                    client,
                    job_id,
                    record,
                    path,
                    args.parallel,
                    args.limit_rate,
                    lambda n: progress.advance(sending, n),
                )
            else:
                send_file(accepted["upload"], path, on_bytes=lambda n: progress.advance(sending, n))
        except KeyboardInterrupt:
            if in_parts:
                raise multipart.interrupted(job_id, path) from None
            raise CliError(
                f"upload interrupted; job {job_id} waits for a file", exit_code=ExitCode.INTERRUPTED
            ) from None
        if not args.wait:
            progress.stop()
            if args.json:
                output.print_json({"job_id": job_id, "status_url": job_path(job_id), "file_name": path.name})
            else:
                output.stdout().print(
                    f"uploaded {path.name} as job {job_id}; follow it: contacts-import status {job_id}"
                )
            return ExitCode.OK

        running = progress.add_task("queued", total=1.0, detail="")

        def show(document: dict[str, Any]) -> None:
            processed = (document.get("counts") or {}).get("processed_rows", 0)
            progress.update(
                running,
                completed=float(document.get("progress") or 0.0),
                description=str(document.get("status")),
                detail=f"{processed:,} rows",
            )

        try:
            final = wait_for_job(client, job_id, on_status=show, timeout=args.timeout)
        except KeyboardInterrupt:
            raise CliError(
                f"stopped waiting; the job goes on: contacts-import status {job_id}", exit_code=ExitCode.INTERRUPTED
            ) from None
        if final.get("status") == "completed":
            progress.update(running, completed=1.0)
    if args.json:
        output.print_json(final)
    else:
        output.print_job(final)
    return ExitCode.OK if final.get("status") == "completed" else ExitCode.JOB_FAILED


def cmd_status(args: argparse.Namespace) -> int:
    document = api_client().data(job_path(args.job_id))
    if args.json:
        output.print_json(document)
    else:
        output.print_job(document)
    return ExitCode.OK


def cmd_errors(args: argparse.Namespace) -> int:
    client = api_client()
    path = job_path(args.job_id, "/errors")
    if args.csv:
        response = client.request("GET", path, accept="text/csv", stream=True)
        sys.stdout.flush()
        for chunk in response.iter_content(64 * 1024):
            sys.stdout.buffer.write(chunk)
        sys.stdout.buffer.flush()
        return ExitCode.OK
    count = 0
    if args.json:
        # One JSON array, written a page at a time: a job with a million errors never sits in memory.
        sys.stdout.write("[")
        for page in client.pages(path):
            for error in page:
                sys.stdout.write((",\n  " if count else "\n  ") + json.dumps(error, ensure_ascii=False))
                count += 1
        sys.stdout.write("\n]\n" if count else "]\n")
        return ExitCode.OK
    console = output.stdout()
    for page in client.pages(path):
        if page:
            console.print(output.errors_table(page, with_location=True))
            count += len(page)
    console.print(f"{count:,} row errors" if count else "no row errors")
    return ExitCode.OK


def default_workers(size: int) -> int:
    """Every core for a large file; one for a small one, where starting processes costs more than it saves."""
    return max(1, usable_cores()) if size > 4 * 1024 * 1024 else 1


def usable_cores() -> int:
    # The cores this process may run on (a container or taskset may allow fewer than the machine has).
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def cmd_validate(args: argparse.Namespace) -> int:
    path = existing_file(args.file)
    console = output.stderr()
    show_progress = not args.json and console.is_terminal
    size = path.stat().st_size
    with output.job_progress(console, show=show_progress) as progress:
        task = progress.add_task("validate", total=size, detail="")

        def show(counts: Counts, done: float) -> None:
            progress.update(task, completed=done * size, detail=f"{counts.total_rows:,} rows")

        validation = validate_file(
            path,
            reading_options(args),
            errors_csv_path=Path(args.errors_csv) if args.errors_csv else None,
            on_progress=show,
            workers=args.workers if args.workers is not None else default_workers(size),
        )
        progress.update(task, completed=size, detail=f"{validation.counts.total_rows:,} rows")
    if args.json:
        output.print_json(validation.to_json())
    else:
        output.print_validation(validation, args.file)
    if validation.failure:
        return ExitCode.REFUSED
    if args.fail_on_errors and validation.error_count:
        return ExitCode.JOB_FAILED
    return ExitCode.OK


def _account(text: str) -> str:
    if not ACCOUNT_ID_PATTERN.fullmatch(text):
        raise CliError(
            f"--account {text!r}: 1-64 letters, digits, _ . -, starting with a letter or digit",
            exit_code=ExitCode.REFUSED,
        )
    return text


def cmd_keys_webhook_secret(args: argparse.Namespace) -> int:
    account_id = _account(args.account)
    target = locate_accounts(stack=args.stack, environ=os.environ)
    secret, secret_id = new_webhook_secret(target, account_id, timedelta(hours=args.grace_hours))
    _show_once(
        args.json,
        {"account_id": account_id, "secret_id": secret_id, "grace_hours": args.grace_hours, "secret": secret},
        f"New webhook signing secret for account {account_id} ({target.where}); the ones before it still "
        f"verify for {args.grace_hours} h. It is shown once: keep it now (only its id is stored).",
        secret,
    )
    return ExitCode.OK


def _show_once(as_json: bool, document: dict[str, Any], note: str, secret: str) -> None:
    """A secret shown once: as JSON with what goes with it, or the note on stderr and the secret
    alone, last on stdout (for a script to take)."""
    if as_json:
        output.print_json(document)
    else:
        output.note(note)
        sys.stdout.write(secret + "\n")


def cmd_keys_drop_writer(args: argparse.Namespace) -> int:
    account_id = _account(args.account)
    target = locate_accounts(stack=args.stack, environ=os.environ)
    writers = change_drop_writers(target, account_id, allow=args.allow or (), revoke=args.revoke or ())
    if args.json:
        output.print_json({"account_id": account_id, "drop_writers": sorted(writers)})
    else:
        output.note(f"Principals whose drop/{account_id}/ objects import into account {account_id} ({target.where}):")
        sys.stdout.write("".join(f"{principal}\n" for principal in sorted(writers)))
    return ExitCode.OK


def cmd_keys_create(args: argparse.Namespace) -> int:
    _account(args.account)
    scopes = tuple(dict.fromkeys(args.scopes or ALL_SCOPES))
    target = locate_keys_table(table=args.table, stack=args.stack, environ=os.environ)
    api_key, record = create_key(target, args.account, scopes)
    usage_key_id = register_usage_key(target, args.account)
    if usage_key_id is None and not target.local:
        output.note(
            f"No usage plan named (--stack gives it, or {USAGE_PLAN_ENV}): deployed, requests of account "
            f"{record.account_id} are refused with 403 until its usage identifier is a key of the API's usage plan."
        )
    _show_once(
        args.json,
        {
            "account_id": record.account_id,
            "scopes": list(record.scopes),
            "key_hint": record.key_hint,
            "created_at": record.created_at,
            "table": target.name,
            "usage_plan_key_id": usage_key_id,
            "api_key": api_key,
        },
        f"New API key for account {record.account_id} (scopes: {' '.join(record.scopes)}), stored as a "
        f"hash in {target.name} ({target.where}). It is shown once and cannot be recovered: keep it now.",
        api_key,
    )
    return ExitCode.OK


def cmd_preview(args: argparse.Namespace) -> int:
    """A dry run on the service (the list's contacts known), waited for, then its plan."""
    path = existing_file(args.file)
    body: dict[str, Any] = {"file_name": path.name, "list_id": args.list, "dry_run": True, **reading_options(args)}
    if args.update:
        body["on_existing"] = "update"
    if args.on_blank:
        body["on_blank"] = args.on_blank
    if args.tags:
        body["tags"] = [tag.strip() for tag in args.tags.split(",") if tag.strip()]
    client = api_client()
    accepted = client.post("/imports/uploads", body)
    job_id = str(accepted["job_id"])
    try:
        send_file(accepted["upload"], path)
        final = wait_for_job(client, job_id, on_status=lambda _: None, timeout=args.timeout)
    except KeyboardInterrupt:
        raise CliError(
            f"stopped; the dry run goes on: contacts-import status {job_id}", exit_code=ExitCode.INTERRUPTED
        ) from None
    if final.get("status") != "completed":
        if args.json:
            output.print_json(final)
        else:
            output.print_job(final)
        return ExitCode.JOB_FAILED
    plan_path = job_path(job_id, "/plan")
    if args.json:
        rows = [row for page in client.pages(plan_path) for row in page]
        output.print_json({"job_id": job_id, "counts": final.get("counts"), "plan": rows})
        return ExitCode.OK
    changes = (row for page in client.pages(plan_path) for row in page if row["outcome"] in output.PLAN_SHOWN)
    output.print_plan(final, changes, shown=args.show)
    return ExitCode.OK


# ------------------------------------------------------------------------------------- parser


def _add_reading_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--region", metavar="R", help="region for numbers without a country code (default US)")
    parser.add_argument(
        "--mapping",
        metavar="JSON",
        help='CSV header -> field, e.g. \'{"Mobile": "phone"}\' (or @file.json); unnamed columns map automatically',
    )
    parser.add_argument(
        "--possible", action="store_true", help="accept any possible number, not only valid ones (test data)"
    )
    parser.add_argument("--no-header", action="store_true", help="the first row is data (mapping keys are 0-based)")
    parser.add_argument("--delimiter", metavar="D", help="override detection: , ; tab |")
    parser.add_argument("--encoding", metavar="E", help="override detection, e.g. utf-8, cp1252, utf-16")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="contacts-import",
        description="Import CSV files of contacts: upload them, follow the jobs, validate offline, make API keys.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    upload = commands.add_parser(
        "upload",
        help="upload a file (presigned, straight to S3) and start its import",
        description="Upload FILE through POST /imports/uploads; with --wait, follow the job to its end.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    upload.add_argument("file", metavar="FILE")
    upload.add_argument("--list", metavar="L", help="target list (default: default)")
    upload.add_argument("--update", action="store_true", help="update contacts whose phone is already in the list")
    _add_reading_options(upload)
    upload.add_argument("--tags", metavar="T", help="comma-separated tags added to every imported contact")
    upload.add_argument("--dry-run", action="store_true", help="validate and count; write no contacts")
    upload.add_argument("--wait", action="store_true", help="show progress until the job ends, then a summary")
    upload.add_argument(
        "--timeout", type=float, metavar="SECONDS", help="with --wait: stop waiting after this long (exit 4)"
    )
    upload.add_argument("--json", action="store_true", help="print JSON (with --wait: the final status document)")
    upload.add_argument(
        "--resume",
        nargs="?",
        const="",
        metavar="JOB_ID",
        help="resume an interrupted upload in parts: send only the parts S3 lacks (without JOB_ID: the "
        "job this file's resume record names)",
    )
    upload.add_argument(
        "--parallel",
        type=int,
        default=multipart.PARALLEL_PARTS,
        metavar="N",
        help=f"parts sent at once (default {multipart.PARALLEL_PARTS}); files of CONTACTS_MULTIPART_THRESHOLD "
        "bytes or more (64 MiB unless set) go in parts",
    )
    upload.add_argument(
        "--limit-rate",
        type=_byte_count,
        metavar="BYTES",
        help="send parts at most this fast, in bytes a second (a K, M or G suffix: 1024s)",
    )
    upload.set_defaults(handler=cmd_upload)

    preview = commands.add_parser(
        "preview",
        help="a dry run on the service: what importing a file would change in a list",
        description="Upload FILE as a dry run into list L, wait for it, print its counts and a table of what "
        "would change (GET /imports/{id}/plan); nothing is written.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    preview.add_argument("file", metavar="FILE")
    preview.add_argument("--list", metavar="L", required=True, help="the list to compare with")
    preview.add_argument("--update", action="store_true", help="plan updates of contacts the list has")
    preview.add_argument("--on-blank", choices=["keep", "clear"], help="on update, what a blank cell does")
    _add_reading_options(preview)
    preview.add_argument("--tags", metavar="T", help="comma-separated tags added to every imported contact")
    preview.add_argument("--show", type=int, default=50, metavar="N", help="rows of the table of changes (50)")
    preview.add_argument("--timeout", type=float, metavar="SECONDS", help="stop waiting after this long (exit 4)")
    preview.add_argument("--json", action="store_true", help="print {job_id, counts, plan: [every row]}")
    preview.set_defaults(handler=cmd_preview)

    status = commands.add_parser("status", help="a job's status, counts and first errors")
    status.add_argument("job_id", metavar="JOB_ID")
    status.add_argument("--json", action="store_true", help="print the status document as JSON")
    status.set_defaults(handler=cmd_status)

    errors = commands.add_parser("errors", help="every row error of a job")
    errors.add_argument("job_id", metavar="JOB_ID")
    form = errors.add_mutually_exclusive_group()
    form.add_argument("--csv", action="store_true", help="the spreadsheet-safe CSV report (original rows + errors)")
    form.add_argument("--json", action="store_true", help="a JSON array of every error")
    errors.set_defaults(handler=cmd_errors)

    validate = commands.add_parser(
        "validate",
        help="check a file offline with the service's own code",
        description="Read FILE with the code the service runs and print the counts and errors an import "
        "into a new list would produce. Nothing is sent anywhere.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    validate.add_argument("file", metavar="FILE")
    _add_reading_options(validate)
    validate.add_argument(
        "--errors-csv", metavar="PATH", help="write every row error to PATH, in the service's error report format"
    )
    validate.add_argument("--fail-on-errors", action="store_true", help="exit 1 when any row has an error")
    validate.add_argument(
        "--workers",
        type=int,
        metavar="N",
        help="processes that run the import's map and reduce tasks (default: every core for files over 4 MiB, "
        "else 1); "
        "the answer is the same whatever N",
    )
    validate.add_argument(
        "--json", action="store_true", help='print {"counts", "errors" (first 100), "error_count", "failure"}'
    )
    validate.set_defaults(handler=cmd_validate)

    keys = commands.add_parser("keys", help="API keys")
    key_commands = keys.add_subparsers(dest="keys_command", required=True, metavar="COMMAND")
    create = key_commands.add_parser(
        "create",
        help="make a new API key for an account",
        description="Make a new API key and store its hash in the keys table: --table NAME, --stack NAME "
        "(a deployed stack's ApiKeysTableName output), CONTACTS_API_KEYS_TABLE, else the local stack's "
        "table at AWS_ENDPOINT_URL (default http://127.0.0.1:4566). The key is printed once, last on stdout.",
    )
    create.add_argument("--account", required=True, metavar="ID", help="the account the key acts for")
    create.add_argument(
        "--scopes", nargs="+", choices=ALL_SCOPES, metavar="SCOPE", help="default: all of " + ", ".join(ALL_SCOPES)
    )
    where = create.add_mutually_exclusive_group()
    where.add_argument("--table", metavar="NAME", help="the API keys table's name")
    where.add_argument("--stack", metavar="NAME", help="a deployed CloudFormation stack of this project")
    create.add_argument("--json", action="store_true", help="print the key and its record as JSON")
    create.set_defaults(handler=cmd_keys_create)

    secret = key_commands.add_parser(
        "webhook-secret",
        help="a new webhook signing secret for an account (shown once)",
        description="Make a new webhook signing secret for an account and print it once: its id goes into the "
        "accounts table, the secret is derived from it with the stack's KMS key (--stack NAME, "
        "CONTACTS_ACCOUNTS_TABLE and CONTACTS_WEBHOOK_SIGNING_KEY, else the local stack). The secrets before it "
        "keep verifying for --grace-hours, while receivers move to the new one.",
    )
    secret.add_argument("--account", required=True, metavar="ID", help="the account whose webhooks it signs")
    secret.add_argument("--grace-hours", type=float, default=24.0, metavar="H", help="default 24")
    secret.add_argument("--stack", metavar="NAME", help="a deployed CloudFormation stack of this project")
    secret.add_argument("--json", action="store_true", help="print the secret and its id as JSON")
    secret.set_defaults(handler=cmd_keys_webhook_secret)

    writer = key_commands.add_parser(
        "drop-writer",
        help="allow or revoke who may write into an account's drop folder",
        description="The principals (as S3 events name them: AWS:<user id>, or AWS:<role id>:<session> for an "
        "SFTP gateway's users) whose objects under drop/<account>/ import into the account; others are refused "
        "and logged. Prints the account's writers afterwards.",
    )
    writer.add_argument("--account", required=True, metavar="ID")
    writer.add_argument("--allow", nargs="+", metavar="PRINCIPAL", help="principal ids to allow")
    writer.add_argument("--revoke", nargs="+", metavar="PRINCIPAL", help="principal ids to revoke")
    writer.add_argument("--stack", metavar="NAME", help="a deployed CloudFormation stack of this project")
    writer.add_argument("--json", action="store_true", help="print the account's writers as JSON")
    writer.set_defaults(handler=cmd_keys_drop_writer)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    handler: Callable[[argparse.Namespace], int] = args.handler
    try:
        return int(handler(args))
    except ApiError as error:
        output.problem(str(error))
        return int(error.exit_code)
    except CliError as error:
        output.problem(error.message)
        return int(error.exit_code)
    except KeyboardInterrupt:
        output.problem("interrupted")
        return int(ExitCode.INTERRUPTED)


if __name__ == "__main__":
    sys.exit(main())
