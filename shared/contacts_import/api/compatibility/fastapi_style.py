"""The error answers of the voice-AI platform behind POST /contacts/import and POST
/batch-calls/{batch_call_id}/contacts (docs/api.md, Compatibility): a FastAPI service.

A request body that fails its schema is 422 ``{"detail": [{"loc", "msg", "type"}]}``; every other
error is the ``{"error": {"code", "message", "details"}, "meta"}`` envelope we share with it, with
their codes for a bad request (``bad_request``) and a rate limit (``rate_limit_exceeded``, with
``details.reset_at``). A file we refuse is a bad request there: their 422 is the schema's alone.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from pydantic import ValidationError

from contacts_import.api.dialects import Dialect
from contacts_import.api.envelope import DocumentedModel
from contacts_import.errors import ContactsImportError, FieldsInvalid, FileRejected, OptionsDoNotFitFile, RateLimited

_THEIR_CODES = {"validation_error": "bad_request", "rate_limited": "rate_limit_exceeded"}


class FieldProblem(DocumentedModel):
    loc: list[str | int]
    msg: str
    type: str


class FieldProblems(DocumentedModel):
    """A request body that fails the route's schema, as FastAPI answers it."""

    detail: list[FieldProblem]


class FastApiDialect(Dialect):
    def status(self, error: ContactsImportError) -> int:
        if isinstance(error, FieldsInvalid):
            return 422
        # Their 422 is a schema refusal ({"detail": [...]}) only: a file, or options that do not fit
        # it (a mapping naming a column the file lacks), is refused as a bad request.
        if isinstance(error, FileRejected | OptionsDoNotFitFile) and error.status in (415, 422):
            return 400
        return error.status

    def code(self, error: ContactsImportError) -> str:
        return _THEIR_CODES.get(error.api_code, error.api_code)

    def details(self, error: ContactsImportError) -> dict[str, Any] | None:
        if isinstance(error, RateLimited):
            reset = datetime.fromtimestamp(int(error.headers["X-RateLimit-Reset"]), UTC)
            return {**(error.details or {}), "reset_at": reset.isoformat().replace("+00:00", "Z")}
        return error.details

    def body(self, error: ContactsImportError, meta: dict[str, str]) -> dict[str, Any]:
        if isinstance(error, FieldsInvalid):
            return {"detail": error.problems}
        return super().body(error, meta)


FASTAPI_STYLE = FastApiDialect()


def field_required(*loc: str | int) -> dict[str, Any]:
    """A missing member, worded as these APIs' documents show it."""
    return {"loc": ["body", *loc], "msg": "field required", "type": "value_error.missing"}


def field_problems(error: ValidationError) -> list[dict[str, Any]]:
    """pydantic's refusal of a body as FastAPI lists it, missing members in the documents' words."""
    problems = []
    for problem in error.errors(include_url=False, include_context=False, include_input=False):
        loc = list(problem["loc"])
        if problem["type"] == "missing":
            problems.append(field_required(*loc))
        else:
            problems.append({"loc": ["body", *loc], "msg": problem["msg"], "type": problem["type"]})
    return problems
