"""Offline validation: the service's own engine over a local file; nothing is sent.

The file is planned, mapped and reduced by ``import_in_process``, the engine the service runs as
Lambda tasks, here on this machine's cores, into a new list that keeps nothing (``NewList``). The
counts are those of an import into a new list: existing contacts are unknown offline, so
``updated`` and ``skipped_existing`` stay 0. The engine's work area is a temporary directory
(``TMPDIR``), as large as the file's valid rows.

Memory stays bounded however long the file: the engine holds a chunk or a range at a time, and only
the first 100 errors are kept. The CSV report needs the column names for its header, and a run gives
them only when it ends (``LocalImport.column_names``), so every error is spooled to a temporary
file as a JSON line and the report is rendered from the spool by the service's ``errors_csv`` once
the run has ended. The spool sits next to the report (not in /tmp, often a RAM disk), and the report
replaces PATH in one rename: PATH never holds half a report.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from contacts_import.clock import utc_now
from contacts_import.errors import FileRejected, InvalidOptions
from contacts_import.models import Counts, Failure, ImportOptions, RowError
from contacts_import.pipeline.in_process import ProgressCallback, import_in_process
from contacts_import.pipeline.outcomes import RunContext
from contacts_import.service.reports import FIRST_ERRORS, errors_csv
from contacts_import.store.row_errors import MAX_RAW_CHARS
from contacts_import_cli.errors import CliError, ExitCode

OFFLINE_JOB_ID = "offline-validation"


class ErrorCollector:
    """The run's RowErrorSink: counts every error, keeps the first ``keep``, and writes each one
    to ``spool`` (when given) as the service stores it, the original cells included."""

    def __init__(self, keep: int = FIRST_ERRORS, spool: IO[str] | None = None) -> None:
        self.first: list[RowError] = []
        self.count = 0
        self._keep = keep
        self._spool = spool

    def add(self, error: RowError, raw: list[str] | None) -> None:
        self.count += 1
        if len(self.first) < self._keep:
            self.first.append(error)
        if self._spool is not None:
            item: dict[str, Any] = error.model_dump(exclude_none=True)
            # The service keeps the original row only while it fits in one item; so does the report.
            if raw is not None and sum(len(cell) for cell in raw) <= MAX_RAW_CHARS:
                item["raw"] = raw
            self._spool.write(json.dumps(item, ensure_ascii=False) + "\n")

    def flush(self) -> None:
        return None  # the spool is a buffered file; nothing waits on it until the report is rendered


@dataclass
class Validation:
    """What an import of the file would report (``--json`` prints ``to_json()``)."""

    counts: Counts
    errors: list[RowError]
    error_count: int
    failure: Failure | None
    encoding: str | None = None
    delimiter: str | None = None
    report_path: Path | None = None
    column_names: tuple[str, ...] = field(default_factory=tuple)

    def to_json(self) -> dict[str, Any]:
        return {
            "counts": self.counts.model_dump(),
            "errors": [error.model_dump() for error in self.errors],
            "error_count": self.error_count,
            "failure": self.failure.model_dump() if self.failure else None,
        }


def refused(error: FileRejected | InvalidOptions) -> Validation:
    return Validation(
        counts=Counts(), errors=[], error_count=0, failure=Failure(code=error.code, message=error.message)
    )


def validate_file(
    path: Path,
    raw_options: dict[str, Any],
    *,
    errors_csv_path: Path | None = None,
    on_progress: ProgressCallback | None = None,
    workers: int = 1,
) -> Validation:
    """Run the import engine over ``path`` offline, on ``workers`` processes. A file or options refused as a whole come
    back as a Validation with a ``failure`` (nothing is raised for them); an unreadable path or
    report destination raises CliError."""
    try:
        options = ImportOptions.parse({**raw_options, "dry_run": True})
    except InvalidOptions as error:
        return refused(error)
    report_dir = _report_directory(errors_csv_path) if errors_csv_path else None
    try:
        with path.open("rb"):
            pass  # readable: said now, as a CliError, rather than as an error of the run
    except OSError as error:
        raise CliError(f"cannot read {path}: {error.strerror or error}", exit_code=ExitCode.REFUSED) from None
    with ExitStack() as cleanup:
        spool = None
        if report_dir is not None:
            spool = cleanup.enter_context(
                tempfile.TemporaryFile("w+", encoding="utf-8", dir=report_dir, prefix=".contacts-import-errors-")
            )
        errors = ErrorCollector(spool=spool)
        try:
            result = import_in_process(
                path,
                options,
                RunContext(job_id=OFFLINE_JOB_ID, list_id=options.list_id, now=utc_now()),
                errors,
                workers=workers,
                on_progress=on_progress,
            )
        except (FileRejected, InvalidOptions) as error:
            # Refused before any row was read (not a CSV, no phone column, a bad mapping): there is
            # no report to write, and PATH is left as it was.
            return refused(error)
        failure = result.failure
        validation = Validation(
            counts=result.counts,
            errors=errors.first,
            error_count=errors.count,
            failure=Failure(code=failure.code, message=failure.message) if failure else None,
            encoding=result.encoding,
            delimiter=result.delimiter,
            column_names=result.column_names,
        )
        if spool is not None and errors_csv_path is not None:
            spool.seek(0)
            write_report(errors_csv_path, result.column_names, _spooled(spool))
            validation.report_path = errors_csv_path
        return validation


def _report_directory(path: Path) -> Path:
    # Checked before the run, so a long file is not read only to fail at the end.
    directory = path.resolve().parent
    if not directory.is_dir():
        raise CliError(f"cannot write {path}: no directory {directory}", exit_code=ExitCode.REFUSED)
    if path.is_dir():
        raise CliError(f"cannot write {path}: it is a directory", exit_code=ExitCode.REFUSED)
    return directory


def _spooled(spool: IO[str]) -> Iterator[dict[str, Any]]:
    for line in spool:
        yield json.loads(line)


def write_report(path: Path, column_names: tuple[str, ...], errors: Iterator[dict[str, Any]]) -> None:
    """The service's error report (``errors_csv``) at ``path``, written whole or not at all."""
    directory = path.resolve().parent
    # newline="": errors_csv already ends lines with CRLF, as the API's CSV answer does.
    with tempfile.NamedTemporaryFile(
        "w", encoding="utf-8", newline="", dir=directory, prefix=f".{path.name}.", delete=False
    ) as out:
        try:
            for line in errors_csv(list(column_names), errors):
                out.write(line)
        except BaseException:
            out.close()
            os.unlink(out.name)
            raise
    # A temporary file is private (0600); the report gets the mode a plain open() would give it.
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(out.name, 0o666 & ~umask)
    os.replace(out.name, path)
