"""What people see (rich tables on stdout, progress on stderr) and what scripts read (``--json``).

Values that come from files or from the API are passed to rich as ``Text``, never as markup: a
cell holding ``[red]`` must print as it is.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable, Mapping
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.text import Text

from contacts_import_cli.validate import Validation

SUMMARY_ERRORS = 10
COUNT_NAMES = (
    "total_rows",
    "created",
    "updated",
    "unchanged",
    "skipped_existing",
    "skipped_duplicates",
    "invalid",
    "deleted",
)
STATUS_STYLES = {"completed": "green", "failed": "red", "cancelled": "yellow"}


def stdout() -> Console:
    # Made per call so that the current sys.stdout is used (tests capture it).
    return Console(highlight=False)


def stderr() -> Console:
    return Console(stderr=True, highlight=False)


def print_json(document: Any) -> None:
    sys.stdout.write(json.dumps(document, indent=2, ensure_ascii=False) + "\n")
    sys.stdout.flush()


def problem(message: str) -> None:
    stderr().print(Text.assemble(("error: ", "bold red"), message), soft_wrap=True)


def note(message: str) -> None:
    stderr().print(Text(message, style="dim"), soft_wrap=True)


def job_progress(console: Console, *, show: bool) -> Progress:
    """Bars for the upload's bytes and the job's progress (or validate's bytes read); with
    ``show`` false (``--json``, stderr not a terminal) it draws nothing."""
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TaskProgressColumn(),
        TextColumn("{task.fields[detail]}"),
        TimeElapsedColumn(),
        console=console,
        transient=False,
        disable=not show,
    )


def _counts_table(counts: Mapping[str, Any], title: str | None = None) -> Table:
    table = Table(title=title, show_header=False, box=None, padding=(0, 2))
    table.add_column(style="bold")
    table.add_column(justify="right")
    for name in COUNT_NAMES:
        if name in counts:
            table.add_row(name, f"{counts[name]:,}")
    return table


def errors_table(errors: Iterable[Mapping[str, Any]], *, with_location: bool = False) -> Table:
    table = Table(show_lines=False, padding=(0, 1))
    table.add_column("row", justify="right")
    table.add_column("code", style="red", no_wrap=True)
    table.add_column("message")
    if with_location:
        table.add_column("column")
        table.add_column("value")
    for error in errors:
        cells = [Text(str(error.get("row", ""))), Text(str(error.get("code", ""))), Text(str(error.get("message", "")))]
        if with_location:
            cells += [Text(str(error.get("column") or "")), Text(str(error.get("value") or ""))]
        table.add_row(*cells)
    return table


def print_job(document: Mapping[str, Any], *, shown_errors: int = SUMMARY_ERRORS) -> None:
    """A job's status document as a summary: who and what, counts, first errors, failure."""
    console = stdout()
    status = str(document.get("status", "?"))
    facts = Table(show_header=False, box=None, padding=(0, 2))
    facts.add_column(style="bold")
    facts.add_column()
    facts.add_row("job", Text(str(document.get("job_id", ""))))
    facts.add_row("status", Text(status, style=STATUS_STYLES.get(status, "cyan")))
    for name in ("file_name", "list_id", "source"):
        if document.get(name) is not None:
            facts.add_row(name.replace("_", " "), Text(str(document[name])))
    if document.get("dry_run"):
        facts.add_row("dry run", "yes: no contacts were written")
    if status not in STATUS_STYLES and document.get("progress") is not None:
        facts.add_row("progress", f"{float(document['progress']):.0%}")
    if document.get("total_contacts") is not None:
        facts.add_row("total contacts", f"{document['total_contacts']:,}")
    facts.add_row("errors", f"{document.get('error_count', 0):,}")
    console.print(facts)
    console.print(_counts_table(document.get("counts") or {}))
    failure = document.get("failure")
    if failure:
        console.print(
            Text.assemble(("failure ", "bold red"), (f"{failure.get('code')}: ", "red"), str(failure.get("message"))),
            soft_wrap=True,
        )
    errors = list(document.get("errors") or [])[:shown_errors]
    if errors:
        console.print(errors_table(errors))
        more = int(document.get("error_count", 0)) - len(errors)
        if more > 0:
            console.print(Text(f"... and {more:,} more: contacts-import errors {document.get('job_id')}", style="dim"))


def print_validation(validation: Validation, path: str, *, shown_errors: int = 20) -> None:
    console = stdout()
    if validation.failure:
        console.print(
            Text.assemble(
                ("refused ", "bold red"), (f"{validation.failure.code}: ", "red"), validation.failure.message
            ),
            soft_wrap=True,
        )
    if validation.encoding:
        console.print(
            Text(
                f"{path}: {validation.encoding}, delimiter {validation.delimiter!r}, "
                f"{len(validation.column_names)} columns",
                style="dim",
            )
        )
    if validation.failure and not validation.counts.total_rows:
        return
    console.print(_counts_table(validation.counts.model_dump(), title=None))
    console.print(Text(f"errors  {validation.error_count:,}", style="bold"))
    shown = validation.errors[:shown_errors]
    if shown:
        console.print(errors_table([e.model_dump() for e in shown], with_location=True))
        more = validation.error_count - len(shown)
        if more > 0:
            hint = "" if validation.report_path else " (--errors-csv PATH writes them all)"
            console.print(Text(f"... and {more:,} more{hint}", style="dim"))
    if validation.report_path:
        console.print(Text(f"every row error: {validation.report_path}", style="dim"))


# The plan's rows `preview` shows in its table: what would change (the others are counted only).
PLAN_SHOWN = frozenset({"created", "updated", "invalid"})


def print_plan(document: Mapping[str, Any], rows: Iterable[Mapping[str, Any]], *, shown: int) -> None:
    """A dry run's counts, then a table of the first ``shown`` rows that would change: one line a
    changed field for an update."""
    console = stdout()
    console.print(_counts_table(document.get("counts") or {}, title=f"preview {document.get('job_id')}"))
    table = Table(padding=(0, 1))
    for name in ("row", "phone", "outcome", "field", "from", "to"):
        table.add_column(name, justify="right" if name == "row" else "left")
    count = 0
    for row in rows:
        if count >= shown:
            break
        count += 1
        cells = [Text(str(row["row"])), Text(str(row.get("phone") or "")), Text(str(row["outcome"]))]
        changes = row.get("changes") or {}
        if not changes:
            table.add_row(*cells, Text(str(row.get("code") or "")), Text(""), Text(""))
        for number, (field, change) in enumerate(changes.items()):
            lead = cells if number == 0 else [Text(""), Text(""), Text("")]
            table.add_row(*lead, Text(field), Text(_shown(change.get("from"))), Text(_shown(change.get("to"))))
    if count:
        console.print(table)
        console.print(f"the first {count:,} rows that change; every row: GET /imports/{document.get('job_id')}/plan")
    else:
        console.print("nothing would change")


def _shown(value: Any) -> str:
    if value is None:
        return "(empty)"
    return ", ".join(value) if isinstance(value, list) else str(value)
