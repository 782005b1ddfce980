"""The response envelope of every answer, success or error, and the models that document it."""

from __future__ import annotations

import json
from typing import Any, Generic, TypeVar

from aws_lambda_powertools.event_handler import Response, content_types
from aws_lambda_powertools.utilities.data_classes import APIGatewayProxyEvent
from pydantic import BaseModel, ConfigDict

from contacts_import.clock import utc_now

T = TypeVar("T")
REQUEST_ID_HEADER = "X-Request-ID"


class DocumentedModel(BaseModel):
    # These models document the answers (OpenAPI); each route's DataEnvelope[...] is a new model, and
    # building them all at import cost every cold start. They are built when the schema is asked for.
    model_config = ConfigDict(defer_build=True)


class Meta(DocumentedModel):
    request_id: str
    ts: str


class DataEnvelope(DocumentedModel, Generic[T]):
    data: T
    meta: Meta


class Pagination(DocumentedModel):
    next_cursor: str | None
    limit: int


class PageEnvelope(DocumentedModel, Generic[T]):
    data: list[T]
    pagination: Pagination
    meta: Meta


class ErrorBody(DocumentedModel):
    code: str
    message: str
    details: dict[str, Any] | None = None


class ErrorEnvelope(DocumentedModel):
    error: ErrorBody
    meta: Meta


def request_id(event: APIGatewayProxyEvent) -> str:
    return event.request_context.request_id or "unknown"


def meta(event: APIGatewayProxyEvent) -> dict[str, str]:
    return {"request_id": request_id(event), "ts": utc_now()}


def _headers(event: APIGatewayProxyEvent, extra: dict[str, str] | None) -> dict[str, str]:
    return {REQUEST_ID_HEADER: request_id(event), **(extra or {})}


def data_response(
    event: APIGatewayProxyEvent, data: Any, status: int = 200, headers: dict[str, str] | None = None
) -> Response:
    return Response(
        status,
        content_types.APPLICATION_JSON,
        {"data": data, "meta": meta(event)},
        headers=_headers(event, headers),
    )


def json_response(
    event: APIGatewayProxyEvent, body: Any, status: int = 200, headers: dict[str, str] | None = None
) -> Response:
    """A JSON answer in another API's shape (a compatibility route's), with our X-Request-ID."""
    return Response(status, content_types.APPLICATION_JSON, body, headers=_headers(event, headers))


def page_response(event: APIGatewayProxyEvent, items: list[Any], next_cursor: str | None, limit: int) -> Response:
    body = {"data": items, "pagination": {"next_cursor": next_cursor, "limit": limit}, "meta": meta(event)}
    return Response(200, content_types.APPLICATION_JSON, body, headers=_headers(event, None))


def error_response(
    event: APIGatewayProxyEvent,
    status: int,
    code: str,
    message: str,
    details: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
) -> Response:
    body = {"error": {"code": code, "message": message, "details": details}, "meta": meta(event)}
    return error_body_response(event, status, body, headers)


def error_body_response(
    event: APIGatewayProxyEvent, status: int, body: dict[str, Any], headers: dict[str, str] | None = None
) -> Response:
    # Error answers are serialized here (not by the route's response model): they must never fail.
    return Response(
        status, content_types.APPLICATION_JSON, json.dumps(body, default=str), headers=_headers(event, headers)
    )


def text_response(
    event: APIGatewayProxyEvent, body: str, content_type: str, headers: dict[str, str] | None = None
) -> Response:
    return Response(200, content_type, body, headers=_headers(event, headers))
