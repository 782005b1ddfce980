"""One place builds every function's resolver: routers, error mapping, the caller's identity."""

from __future__ import annotations

from dataclasses import dataclass
from typing import cast

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import APIGatewayRestResolver, CORSConfig, Response
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestValidationError
from aws_lambda_powertools.event_handler.router import Router
from aws_lambda_powertools.utilities.data_classes import APIGatewayProxyEvent

from contacts_import.api.dialects import spoken
from contacts_import.api.envelope import error_body_response, error_response, meta
from contacts_import.errors import ContactsImportError, Forbidden, Unauthorized
from contacts_import.settings import ApiCorsSettings

logger = Logger(child=True)


@dataclass(frozen=True)
class Caller:
    """Who is calling, as the authorizer established it: never taken from the request itself."""

    account_id: str
    scopes: frozenset[str]

    def require(self, scope: str) -> None:
        if scope not in self.scopes:
            raise Forbidden(f"This API key lacks the {scope!r} scope.", details={"required_scope": scope})


def rest_event(router: Router) -> APIGatewayProxyEvent:
    """The request a route runs for. The REST resolver's events are APIGatewayProxyEvent; a shared
    Router types them as any proxy event, so this says which one they are."""
    return cast(APIGatewayProxyEvent, router.current_event)


def caller(event: APIGatewayProxyEvent) -> Caller:
    context = event.raw_event.get("requestContext", {}).get("authorizer") or {}
    account_id = context.get("account_id")
    if not account_id:
        raise Unauthorized("A valid API key is required: Authorization: Bearer <api key>.")
    return Caller(
        account_id=str(account_id),
        scopes=frozenset(str(context.get("scopes", "")).split()),
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
