"""In whose words an error answer is written: ours (the contract's envelope), or those of an import
API a compatibility route stands in for (docs/api.md, Compatibility).

Errors keep one mapping to HTTP (each type's ``status`` and ``code``, answered by the resolver);
a dialect only rewrites the answer where that API's document shows another status, code or body.
A route that speaks another dialect says so first thing (``speak``); every other route speaks ours.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from aws_lambda_powertools.event_handler.api_gateway import BaseRouter

from contacts_import.errors import ContactsImportError

_CONTEXT_KEY = "answer_dialect"


@dataclass(frozen=True)
class ErrorAnswer:
    status: int
    body: dict[str, Any]


class Dialect:
    """Ours: every error with its own status, in ``{"error": {"code", "message", "details"}, "meta"}``."""

    def status(self, error: ContactsImportError) -> int:
        return error.status

    def code(self, error: ContactsImportError) -> str:
        return error.api_code

    def details(self, error: ContactsImportError) -> dict[str, Any] | None:
        return error.details

    def body(self, error: ContactsImportError, meta: dict[str, str]) -> dict[str, Any]:
        return {
            "error": {"code": self.code(error), "message": error.message, "details": self.details(error)},
            "meta": meta,
        }

    def answer(self, error: ContactsImportError, meta: dict[str, str]) -> ErrorAnswer:
        return ErrorAnswer(self.status(error), self.body(error, meta))


OURS = Dialect()


def speak(router: BaseRouter, dialect: Dialect) -> None:
    """This request's errors are answered in ``dialect`` (the resolver reads it back: ``spoken``)."""
    router.append_context(**{_CONTEXT_KEY: dialect})


def spoken(router: BaseRouter) -> Dialect:
    dialect = router.context.get(_CONTEXT_KEY)
    return dialect if isinstance(dialect, Dialect) else OURS
