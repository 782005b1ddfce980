"""The functions' logger: Powertools' structured JSON, with personal data masked on the way out.

Every function builds its logger with :func:`service_logger`; the modules of this package log
through ``Logger(child=True)`` and so through the same formatter. Log calls pass job ids, counts,
codes and row numbers, never row values; the formatter is the net under that rule, for what can
slip in unasked (an exception's message, a request path).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

from aws_lambda_powertools import Logger
from aws_lambda_powertools.logging.formatter import LambdaPowertoolsFormatter

from contacts_import.redaction import redact

# Keys whose values are identifiers, times or code locations that we write ourselves: masking
# them would only blur them (a request id's digit groups look like a phone to a pattern).
IDENTIFIER_KEYS = frozenset(
    {
        "level",
        "location",
        "timestamp",
        "service",
        "sampling_rate",
        "cold_start",
        "function_name",
        "function_memory_size",
        "function_arn",
        "function_request_id",
        "correlation_id",
        "xray_trace_id",
        "exception_name",
        "job_id",
        "account_id",
    }
)

Handler = TypeVar("Handler", bound=Callable[..., Any])


class RedactingFormatter(LambdaPowertoolsFormatter):
    """Powertools' JSON log record with e-mail addresses and phone numbers masked in every value
    (message, extra keys, the exception and its stack trace) except the identifier keys."""

    def serialize(self, log: Any) -> str:
        return super().serialize({k: v if k in IDENTIFIER_KEYS else redact(v) for k, v in log.items()})


def service_logger() -> Logger:
    """The logger of a function's handler module (one per function; child loggers share it)."""
    return Logger(logger_formatter=RedactingFormatter())


class UnhandledError(Exception):
    """What the Lambda runtime gets instead of an unexpected exception (see :func:`values_kept_out`)."""


def values_kept_out(logger: Logger) -> Callable[[Handler], Handler]:
    """For handlers that must fail so that Lambda retries (S3-triggered ones): an unexpected
    exception is logged through ``logger`` (masked, with its trace) and re-raised as an
    :class:`UnhandledError` that names only its type. Lambda's runtime writes an unhandled
    exception's message to the log as it is, and a message can quote a row's values."""

    def decorate(handler: Handler) -> Handler:
        @functools.wraps(handler)
        def guarded(event: Any, context: Any) -> Any:
            try:
                return handler(event, context)
            except Exception as error:
                logger.exception("Unhandled error; the invocation fails and Lambda retries it")
                raise UnhandledError(f"{type(error).__name__} (details in the log entry before)") from None

        return guarded  # type: ignore[return-value]

    return decorate
