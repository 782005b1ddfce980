"""What can go wrong in the client, and the exit code each kind of problem ends with."""

from __future__ import annotations

from enum import IntEnum
from typing import Any


class ExitCode(IntEnum):
    """Exit codes a script can branch on (also listed in ``contacts-import --help``)."""

    OK = 0
    JOB_FAILED = 1  # the job ended failed or cancelled; validate --fail-on-errors found row errors
    REFUSED = 2  # bad usage or options, an unreadable file, a file refused as a whole (400/413/415/422)
    API_ERROR = 3  # the API (or S3, or DynamoDB) answered an error, or could not be reached
    STILL_RUNNING = 4  # --wait --timeout ran out; the job goes on
    INTERRUPTED = 130  # Ctrl-C, as shells report SIGINT


# Answers that refuse what was sent (options, file) rather than fail: the same exit as `validate`.
_INPUT_REFUSED = frozenset({400, 413, 415, 422})


class CliError(Exception):
    """A problem worth one line on stderr, and the exit code it ends with."""

    exit_code: ExitCode = ExitCode.API_ERROR

    def __init__(self, message: str, *, exit_code: ExitCode | None = None) -> None:
        super().__init__(message)
        self.message = message
        if exit_code is not None:
            self.exit_code = exit_code


class ApiError(CliError):
    """An error answer: the envelope's ``error.code`` and ``error.message`` (docs/api.md)."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        *,
        request_id: str | None = None,
        details: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.request_id = request_id
        self.details = details
        if status in _INPUT_REFUSED:
            self.exit_code = ExitCode.REFUSED

    def __str__(self) -> str:
        where = f"HTTP {self.status}" + (f", request {self.request_id}" if self.request_id else "")
        return f"{self.code}: {self.message} ({where})"


class Unreachable(CliError):
    """Nothing answered at the address (connection refused, DNS, timeout)."""
