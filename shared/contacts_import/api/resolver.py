"""One place builds every function's resolver: routers, error mapping, the caller's identity."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, cast

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import APIGatewayRestResolver, CORSConfig, Response
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestValidationError
from aws_lambda_powertools.event_handler.router import Router
from aws_lambda_powertools.utilities.data_classes import APIGatewayProxyEvent

from contacts_import.api.dialects import spoken
from contacts_import.api.envelope import error_body_response, error_response, meta
from contacts_import.auth.sessions import STANDS_FOR
from contacts_import.errors import ContactsImportError, Forbidden, NotFound, Unauthorized
from contacts_import.models import ImportOptions
from contacts_import.settings import ApiCorsSettings

logger = Logger(child=True)


@dataclass(frozen=True)
class Caller:
    """Who is calling, as the authorizer established it: never taken from the request itself."""

    account_id: str
    scopes: frozenset[str]
    # A browser session (auth.sessions): its id, and the list it is pinned to.
    session_id: str | None = None
    session_list_id: str | None = None

    def require(self, scope: str) -> None:
        if scope not in self.scopes:
            raise Forbidden(f"This API key lacks the {scope!r} scope.", details={"required_scope": scope})

    def require_key_or_session(self, scope: str) -> None:
        """``scope``, or a session's scope that stands for it: only for routes that keep a session
        to the list it is pinned to (``session_options``) and to its own jobs (``check_job``)."""
        if self.session_id is not None and STANDS_FOR.get(scope) in self.scopes:
            return
        self.require(scope)

    def session_options(self, options: ImportOptions) -> ImportOptions:
        """A pinned session's options name its list: left out, it is filled in; another is refused."""
        if self.session_list_id is None:
            return options
        if "list_id" not in options.model_fields_set:
            return options.model_copy(update={"list_id": self.session_list_id})
        if options.list_id != self.session_list_id:
            raise Forbidden(
                f"This session imports into list {self.session_list_id!r} only.",
                details={"list_id": self.session_list_id},
            )
        return options

    def check_job(self, job: dict[str, Any]) -> None:
        """A session sees only the jobs it created: any other answers as a job that does not exist."""
        if self.session_id is not None and job.get("session_id") != self.session_id:
            raise NotFound(f"No import job {job.get('job_id')}.")


def rest_event(router: Router) -> APIGatewayProxyEvent:
    """The request a route runs for. The REST resolver's events are APIGatewayProxyEvent; a shared
    Router types them as any proxy event, so this says which one they are."""
    return cast(APIGatewayProxyEvent, router.current_event)


def caller(event: APIGatewayProxyEvent, now: float | None = None) -> Caller:
    context = event.raw_event.get("requestContext", {}).get("authorizer") or {}
    account_id = context.get("account_id")
    if not account_id:
        raise Unauthorized("A valid API key is required: Authorization: Bearer <api key>.")
    session_id = context.get("session_id") or None
    if session_id is not None:
        # API Gateway reuses the authorizer's answer for minutes: a session's end is checked here too.
        ends = float(context.get("session_expires_at") or 0)
        if (time.time() if now is None else now) >= ends:
            raise Unauthorized("The session token has expired: ask the page that gave it for a new one.")
    return Caller(
        account_id=str(account_id),
        scopes=frozenset(str(context.get("scopes", "")).split()),
        session_id=str(session_id) if session_id else None,
        session_list_id=str(context["session_list_id"]) if context.get("session_list_id") else None,
    )


def cors_config(settings: ApiCorsSettings) -> CORSConfig | None:
    """What a browser on CorsAllowedOrigin is told (the importer component embedded in a product's
    page, docs/importer.md): the answers' CORS headers; the preflight is API Gateway's own."""
    if not settings.cors_allowed_origin:
        return None
    return CORSConfig(
        allow_origin=settings.cors_allowed_origin,
        allow_headers=["Accept", "Idempotency-Key"],
        expose_headers=["X-Request-ID", "Location", "Retry-After"],
        max_age=600,
    )


def build_resolver(*routers: Router) -> APIGatewayRestResolver:
    app = APIGatewayRestResolver(enable_validation=True, cors=cors_config(ApiCorsSettings.from_environment()))
    for router in routers:
        app.include_router(router)

    @app.exception_handler(ContactsImportError)
    def domain_error(error: ContactsImportError) -> Response:
        if error.status >= 500:
            logger.exception("Domain error answered as 5xx")
        # The route's dialect writes the answer: ours, or that of the API a compatibility route stands in for.
        answer = spoken(app).answer(error, meta(app.current_event))
        return error_body_response(app.current_event, answer.status, answer.body, getattr(error, "headers", None))

    @app.exception_handler(RequestValidationError)
    def invalid_request(error: RequestValidationError) -> Response:
        wrong_ids = [str(e["loc"][-1]) for e in error.errors() if tuple(e.get("loc", ()))[:1] == ("path",)]
        if wrong_ids and len(wrong_ids) == len(error.errors()):
            # An id in the path that is not of the form this API gives out names nothing: not found,
            # as an unknown id of the right form is (docs/api.md); the value is not echoed.
            names = ", ".join(dict.fromkeys(wrong_ids))
            return error_response(
                app.current_event, 404, "not_found", f"No such {names}: it is not an id this API gives out."
            )
        problems = [
            {
                "option": ".".join(str(p) for p in e.get("loc", ()) if p not in ("query", "path", "body")),
                "problem": e.get("msg") or e.get("type"),
            }
            for e in error.errors()
        ]
        message = "; ".join(f"{p['option']}: {p['problem']}" for p in problems) or "Invalid request."
        return error_response(app.current_event, 400, "validation_error", message, {"errors": problems})

    @app.not_found
    def not_found(_: Exception) -> Response:
        return error_response(app.current_event, 404, "not_found", "No such route.")

    @app.exception_handler(Exception)
    def unexpected(error: Exception) -> Response:
        # The trace goes to the log with the request id; the client gets the id, never the trace.
        logger.exception("Unhandled error")
        internal = ContactsImportError("Something went wrong on our side; quote the request id when you report it.")
        answer = spoken(app).answer(internal, meta(app.current_event))
        return error_body_response(app.current_event, answer.status, answer.body)

    return app
