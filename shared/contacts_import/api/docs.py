"""What the OpenAPI document says beyond what Powertools derives from a route's signature: the
scope each route needs, every answer it can give (errors in the contract's envelope, including
those API Gateway gives itself: 401, 403, 429), the headers that come with them, and the bodies of
the routes that read their body raw (``POST /imports`` takes three content types).

The routes use these in their decorators; the e2e tests hold the running API to them (the
authorization matrix to the scopes, schemathesis to the answers).
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from functools import cache
from typing import Any

from aws_lambda_powertools.event_handler.openapi.types import OpenAPIResponse

from contacts_import.api.envelope import ErrorEnvelope
from contacts_import.compatible_names import FLAG_OPTIONS, OPTION_NAMES
from contacts_import.models import ImportOptions

SECURITY_SCHEME = "apiKey"

_ERRORS: dict[int, str] = {
    400: "validation_error: an option, parameter or body is not valid (the message names it).",
    401: "unauthorized: no API key, or not a valid one (answered by API Gateway).",
    403: "forbidden: the API key lacks the scope this route needs.",
    404: "not_found: no such job, list or contact in this account (another account's answers the same).",
    409: "conflict: the job has already ended, or a request with this Idempotency-Key is still being handled.",
    413: "payload_too_large: the body is over the direct limit (4 MiB of file): use POST /imports/uploads.",
    415: "unsupported_media_type: the body is not a CSV (PDF, image, zip, ...) or its Content-Type is not one "
    "this route takes.",
    422: "missing_required_column (no phone column found and none mapped; the message names the headers seen), "
    "empty_file, or idempotency_key_reused (the same Idempotency-Key with another request within 24 h).",
    429: "rate_limited: the account's request rate (Retry-After), or its imports in flight (Retry-After and "
    "X-RateLimit-Limit, -Remaining, -Reset).",
    500: "internal_error: quote the request id (X-Request-ID) when you report it.",
}
# Every route can meet these: API Gateway answers them before any code of ours runs (403 also
# when the account is not enabled for the API), and anything can fail.
ALWAYS = (401, 403, 429, 500)

# Header objects with "required", which Powertools' OpenAPIResponseHeader type leaves out (the
# OpenAPI specification has it).
_REQUEST_ID: dict[str, Any] = {
    "description": "The request's id, also in meta.request_id.",
    "required": True,
    "schema": {"type": "string"},
}
_RATE_HEADERS: dict[str, dict[str, Any]] = {
    "Retry-After": {"description": "Seconds to wait before retrying.", "schema": {"type": "string"}},
    "X-RateLimit-Limit": {"description": "The account's cap of imports in flight.", "schema": {"type": "string"}},
    "X-RateLimit-Remaining": {"description": "Imports the account may still start: 0.", "schema": {"type": "string"}},
    "X-RateLimit-Reset": {"description": "Unix time (seconds) worth retrying at.", "schema": {"type": "string"}},
}
_EXAMPLE_CSV = "phone,name,email\n(212) 736-5000,Jane Doe,jane@example.com\n"
# On an accepted import of a route that reports its rate limit with every answer.
RATE_LIMIT_HEADERS: dict[str, Any] = {
    "X-RateLimit-Limit": {**_RATE_HEADERS["X-RateLimit-Limit"], "required": True},
    "X-RateLimit-Remaining": {
        "description": "Imports the account may still start now.",
        "required": True,
        "schema": {"type": "string"},
    },
    "X-RateLimit-Reset": {
        "description": "Unix time (seconds) worth retrying at: now, while Remaining is above 0.",
        "required": True,
        "schema": {"type": "string"},
    },
}
LOCATION: dict[str, Any] = {
    "Location": {"description": "The job's status URL: /imports/<job_id>.", "schema": {"type": "string"}}
}


def requires(scope: str | None) -> list[dict[str, list[str]]]:
    """The route's security requirement: a Bearer API key, with ``scope`` among its scopes."""
    return [{SECURITY_SCHEME: [scope] if scope else []}]


def answers(
    success: dict[int, OpenAPIResponse], *errors: int, bodies: Mapping[int, tuple[str, Any]] | None = None
) -> dict[int, OpenAPIResponse]:
    """The route's ``responses``: its successes, then ``errors`` and ALWAYS, every one in the error
    envelope unless ``bodies`` gives its status another (description, model), as a compatibility
    route's dialect answers it; every answer carries X-Request-ID."""
    documented: dict[int, OpenAPIResponse] = {}
    for status, response in success.items():
        success_headers: dict[str, Any] = {"X-Request-ID": _REQUEST_ID, **response.get("headers", {})}
        documented[status] = {**response, "headers": success_headers}
    for status in sorted({*errors, *ALWAYS, *(bodies or {})}):
        headers: dict[str, Any] = {"X-Request-ID": _REQUEST_ID}
        if status == 429:
            headers["Retry-After"] = {**_RATE_HEADERS["Retry-After"], "required": True}
            headers |= {name: spec for name, spec in _RATE_HEADERS.items() if name != "Retry-After"}
        description, model = (bodies or {}).get(status) or (_ERRORS[status], ErrorEnvelope)
        documented[status] = {
            "description": description,
            "headers": headers,
            "content": {"application/json": {"model": model}},
        }
    return documented


def json_answer(description: str, model: Any, headers: dict[str, Any] | None = None) -> OpenAPIResponse:
    response: OpenAPIResponse = {"description": description, "content": {"application/json": {"model": model}}}
    if headers:
        response["headers"] = headers
    return response


def _options_schema() -> dict[str, Any]:
    """The import options as JSON members (JSON body); the same names are query parameters and
    form fields, where every value is a string (booleans as true/false, lists comma-separated,
    mapping as a JSON string)."""
    schema = _options_json_schema()
    ours = {
        name: {k: copy.deepcopy(v) for k, v in spec.items() if k != "title"}
        for name, spec in schema["properties"].items()
    }
    return {**ours, **_their_option_names(ours)}


def _their_option_names(ours: dict[str, Any]) -> dict[str, Any]:
    """The names other import APIs give our options (compatible_names), each described as ours."""
    described: dict[str, Any] = {}
    for theirs, our_name in OPTION_NAMES.items():
        if our_name in FLAG_OPTIONS:
            when_true, when_false = FLAG_OPTIONS[our_name]
            meaning = f"true: {our_name}={when_true}; false: {our_name}={when_false}."
            spec: dict[str, Any] = {"type": "boolean", "description": meaning}
        else:
            spec = {**copy.deepcopy(ours[our_name]), "description": f"Another import API's name for {our_name}."}
        described[theirs] = spec
    return described


@cache
def _options_json_schema() -> dict[str, Any]:
    # Generated once: three routes describe the options, and each generation costs a cold start ~5 ms.
    return ImportOptions.model_json_schema()


def _option_query_parameters() -> list[dict[str, Any]]:
    return [
        {
            "name": name,
            "in": "query",
            "required": False,
            "description": spec.get("description") or "An import option (contract §4).",
            "schema": {"type": "string"},
        }
        for name, spec in _options_schema().items()
    ]


def import_request() -> dict[str, Any]:
    """``POST /imports``: the file as the body (options in the query), as a form (field ``file``,
    options as other fields) or as JSON (``csv`` or ``rows``, options as members)."""
    options = _options_schema()
    raw_file = {"schema": {"type": "string", "format": "binary"}, "example": _EXAMPLE_CSV}
    form_fields = {name: {"type": "string"} for name in options}
    return {
        "parameters": _option_query_parameters(),
        "requestBody": {
            "required": True,
            "description": "The CSV file. Raw (options in the query), multipart/form-data (the file in the field "
            "'file', options as other fields, mapping as a JSON string), or JSON ({'csv': text} or "
            "{'rows': [objects]}, options as members).",
            "content": {
                "text/csv": raw_file,
                "application/octet-stream": raw_file,
                "multipart/form-data": {
                    "schema": {
                        "type": "object",
                        "required": ["file"],
                        "properties": {"file": {"type": "string", "format": "binary"}, **form_fields},
                    },
                    "example": {"file": _EXAMPLE_CSV, "list_id": "default"},
                },
                "application/json": {
                    "schema": {
                        "oneOf": [
                            {
                                "type": "object",
                                "required": ["csv"],
                                "properties": {"csv": {"type": "string"}, "file_name": {"type": "string"}, **options},
                                "additionalProperties": False,
                            },
                            {
                                "type": "object",
                                "required": ["rows"],
                                "properties": {
                                    "rows": {"type": "array", "items": {"type": "object"}},
                                    "file_name": {"type": "string"},
                                    **options,
                                },
                                "additionalProperties": False,
                            },
                        ]
                    },
                    "examples": {
                        "csv": {"value": {"csv": _EXAMPLE_CSV, "list_id": "default", "tags": ["vip"]}},
                        "rows": {
                            "value": {
                                "rows": [{"phone": "+14155552671", "first_name": "Li", "last_name": "Ito"}],
                                "on_existing": "update",
                            }
                        },
                    },
                },
            },
        },
    }


def form_request(properties: dict[str, Any], required: list[str], example: dict[str, Any]) -> dict[str, Any]:
    """A route's body as a multipart/form-data form, for its ``openapi_extensions``."""
    schema = {"type": "object", "required": required, "properties": properties}
    return {
        "requestBody": {"required": True, "content": {"multipart/form-data": {"schema": schema, "example": example}}}
    }


def json_request(schema: dict[str, Any], example: dict[str, Any]) -> dict[str, Any]:
    """A route's body as JSON, for its ``openapi_extensions``."""
    return {"requestBody": {"required": True, "content": {"application/json": {"schema": schema, "example": example}}}}


def upload_request() -> dict[str, Any]:
    """``POST /imports/uploads``: a JSON object, the file's name and the import options."""
    return {
        "requestBody": {
            "required": False,
            "content": {
                "application/json": {
                    "schema": {
                        "type": "object",
                        "properties": {"file_name": {"type": "string", "default": "contacts.csv"}, **_options_schema()},
                        "additionalProperties": False,
                    },
                    "example": {"file_name": "contacts.csv", "list_id": "default"},
                }
            },
        }
    }
