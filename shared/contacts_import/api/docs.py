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
from contacts_import.models import (
    BOOLEAN_OPTIONS,
    BOOLEAN_WORDS,
    CUSTOM_TARGET_PATTERN,
    ENCODINGS,
    MAPPING_TARGETS,
    MAX_TAG_LENGTH,
    MAX_TAGS,
    NAMED_DELIMITERS,
    PROFILE_NAME_PATTERN,
    REGIONS,
    WEBHOOK_URL_PATTERN,
    ImportOptions,
)
from contacts_import.service.create_import import MAX_DIRECT_BODY_BYTES
from contacts_import.settings import FIVE_GIB

SECURITY_SCHEME = "apiKey"

_ERRORS: dict[int, str] = {
    400: "validation_error: an option, parameter or body is not valid (the message names it).",
    401: "unauthorized: no API key, or not a valid one (answered by API Gateway); a session token past its end.",
    403: "forbidden: the API key lacks the scope this route needs; a session token on a route sessions may not "
    "use, or naming another list than the one it is pinned to.",
    404: "not_found: no such job, list or contact in this account (another account's answers the same).",
    409: "conflict: the job has already ended, or a request with this Idempotency-Key is still being handled; "
    "no_webhook_secret: a webhook_url, and the account has no webhook signing secret yet; "
    "not_ready: the job has not ended yet (a plan); not_a_dry_run: a plan of a job that was not a dry run.",
    413: "payload_too_large: the body is over the direct limit (4 MiB of file): use POST /imports/uploads.",
    415: "unsupported_media_type: the body is not a CSV (PDF, image, zip, ...) or its Content-Type is not one "
    "this route takes.",
    422: "missing_required_column (no phone column found and none mapped; the message names the headers seen), "
    "empty_file, validation_error (a mapping naming a column the file lacks), or idempotency_key_reused (the "
    "same Idempotency-Key with another request within 24 h).",
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


_TARGET_NAMES = "|".join(MAPPING_TARGETS)
# A mapping target: a field, ignore, or custom:<key> (api.docs and models.ImportOptions agree).
_TARGET: dict[str, Any] = {
    "anyOf": [{"enum": list(MAPPING_TARGETS)}, {"type": "string", "pattern": CUSTOM_TARGET_PATTERN}]
}
_TARGET_TEXT = rf'(?:{_TARGET_NAMES}|custom:[^\s"\\\x00-\x1f,][^"\\\x00-\x1f,]*)'
_JSON_KEY = r'"[^"\\\x00-\x1f]+"'
_JSON_ENTRY = rf'{_JSON_KEY}:"(?:{_TARGET_NAMES}|custom:[^\s"\\\x00-\x1f][^"\\\x00-\x1f]*)"'
_TAGS_TEXT = {"type": "string", "pattern": r"^[^,]{0,100}(,[^,]{0,100}){0,49}$"}
_HEADERS_TEXT = {"type": "string", "pattern": rf"^({_TARGET_TEXT}(,{_TARGET_TEXT})*)?$"}
_BOOLEAN_TEXT = {"type": "string", "enum": list(BOOLEAN_WORDS)}
_NAMED = list(NAMED_DELIMITERS)
_ONE_CHARACTER = {"type": "string", "pattern": '^[^"\r\n]$'}


@cache
def _option_schemas() -> dict[str, tuple[dict[str, Any], dict[str, Any]]]:
    """Each import option's schema as a JSON member and as a query parameter or form field (a
    string): exactly what ``ImportOptions`` takes, so that the document and the behaviour agree.
    Generated once: three routes describe the options, and each generation costs a cold start."""
    generated = {
        name: {k: v for k, v in spec.items() if k != "title"}
        for name, spec in ImportOptions.model_json_schema()["properties"].items()
    }
    as_json: dict[str, dict[str, Any]] = {
        **generated,
        "mapping": {
            "anyOf": [
                {"type": "object", "propertyNames": {"minLength": 1}, "additionalProperties": _TARGET},
                {"type": "null"},
            ]
        },
        "tags": {
            "anyOf": [
                {"type": "array", "maxItems": MAX_TAGS, "items": {"type": "string", "maxLength": MAX_TAG_LENGTH}},
                _TAGS_TEXT,
                {"type": "null"},
            ]
        },
        "headers": {"anyOf": [{"type": "array", "items": _TARGET}, _HEADERS_TEXT, {"type": "null"}]},
        "delimiter": {"anyOf": [{"enum": _NAMED}, _ONE_CHARACTER, {"type": "null"}]},
        "webhook_url": {"anyOf": [{"type": "string", "pattern": WEBHOOK_URL_PATTERN}, {"type": "null"}]},
    }
    as_text: dict[str, dict[str, Any]] = {
        "list_id": {"type": "string", "pattern": generated["list_id"]["pattern"]},
        "mapping": {"type": "string", "pattern": rf"^(\{{({_JSON_ENTRY}(,{_JSON_ENTRY})*)?\}})?$"},
        "on_existing": {"type": "string", "enum": ["skip", "update"]},
        "on_blank": {"type": "string", "enum": ["keep", "clear"]},
        "default_region": {"type": "string", "enum": list(REGIONS)},
        "phone_validation": {"type": "string", "enum": ["strict", "possible"]},
        "tags": _TAGS_TEXT,
        "delimiter": {"anyOf": [{"type": "string", "enum": ["", *_NAMED]}, _ONE_CHARACTER]},
        "encoding": {"type": "string", "enum": ["", *ENCODINGS]},
        "headers": _HEADERS_TEXT,
        "mapping_profile": {"type": "string", "pattern": PROFILE_NAME_PATTERN},
        "webhook_url": {
            "anyOf": [{"type": "string", "enum": [""]}, {"type": "string", "pattern": WEBHOOK_URL_PATTERN}]
        },
        **{name: _BOOLEAN_TEXT for name in BOOLEAN_OPTIONS if name in as_json},
    }
    ours = {name: (as_json[name], as_text[name]) for name in as_json}
    return {**ours, **_their_option_names(ours)}


def _their_option_names(
    ours: dict[str, tuple[dict[str, Any], dict[str, Any]]],
) -> dict[str, tuple[dict[str, Any], dict[str, Any]]]:
    """The names other import APIs give our options (compatible_names), each described as ours: a
    flag (true/false) where theirs stands for one of two values of ours."""
    described: dict[str, tuple[dict[str, Any], dict[str, Any]]] = {}
    for theirs, our_name in OPTION_NAMES.items():
        # Null or empty is "not given" under their names (compatible_names.with_our_names).
        if our_name in FLAG_OPTIONS:
            when_true, when_false = FLAG_OPTIONS[our_name]
            meaning = f"true: {our_name}={when_true}; false: {our_name}={when_false}."
            as_json: dict[str, Any] = {"anyOf": [{"type": "boolean"}, _NOTHING_JSON, _EMPTY_TEXT]}
            as_text: dict[str, Any] = {"anyOf": [_BOOLEAN_TEXT, _EMPTY_TEXT]}
        else:
            json_schema, text_schema = ours[our_name]
            meaning = f"Another import API's name for {our_name}."
            as_json = {"anyOf": [copy.deepcopy(json_schema), _NOTHING_JSON, _EMPTY_TEXT]}
            as_text = {"anyOf": [copy.deepcopy(text_schema), _EMPTY_TEXT]}
        described[theirs] = ({**as_json, "description": meaning}, {**as_text, "description": meaning})
    return described


_NOTHING_JSON = {"type": "null"}
_EMPTY_TEXT = {"type": "string", "enum": [""]}


def option_members(leave_out: tuple[str, ...] = ()) -> dict[str, Any]:
    """The import options as JSON members (a JSON body), ours and other APIs' names for them, but
    those of ``leave_out`` (and every other name of theirs)."""
    left_out = _all_names_of(leave_out)
    return {
        name: copy.deepcopy(json_schema) for name, (json_schema, _) in _option_schemas().items() if name not in left_out
    }


def option_fields(leave_out: tuple[str, ...] = ()) -> dict[str, Any]:
    """The import options as form fields (strings), ours and other APIs' names for them."""
    left_out = _all_names_of(leave_out)
    return {
        name: copy.deepcopy(text_schema) for name, (_, text_schema) in _option_schemas().items() if name not in left_out
    }


def _all_names_of(options: tuple[str, ...]) -> set[str]:
    ours = {OPTION_NAMES.get(name, name) for name in options}
    return ours | {theirs for theirs, our_name in OPTION_NAMES.items() if our_name in ours}


def one_name_each(properties: dict[str, Any]) -> dict[str, Any]:
    """A schema that refuses an object giving one option under two of its names (list_id and
    folder_id, say), as ImportOptions refuses it: {"not": {"anyOf": [{"required": [a, b]}, ...]}}."""
    names: dict[str, list[str]] = {}
    for name in properties:
        ours = OPTION_NAMES.get(name, name)
        names.setdefault(ours, []).append(name)
    pairs = [
        {"required": [a, b]}
        for spellings in names.values()
        for i, a in enumerate(spellings)
        for b in spellings[i + 1 :]
    ]
    return {"not": {"anyOf": pairs}} if pairs else {}


def _option_query_parameters() -> list[dict[str, Any]]:
    """Query parameters: our names only. Theirs are taken there too, but a query cannot say that
    two of them for one option are refused; bodies and forms describe them (see one_name_each)."""
    return [
        {
            "name": name,
            "in": "query",
            "required": False,
            "description": json_schema.get("description") or "An import option (docs/api.md).",
            "schema": copy.deepcopy(text_schema),
        }
        for name, (json_schema, text_schema) in _option_schemas().items()
        if name not in OPTION_NAMES
    ]


def import_request() -> dict[str, Any]:
    """``POST /imports``: the file as the body (options in the query), as a form (field ``file``,
    options as other fields) or as JSON (``csv`` or ``rows``, options as members)."""
    options = option_members()
    # At least a byte, at most the direct limit; whether the bytes are a CSV that fits the options
    # is the file's to say (415, 422): see schemathesis.toml.
    raw_file = {
        "schema": {"type": "string", "format": "binary", "minLength": 1, "maxLength": MAX_DIRECT_BODY_BYTES},
        "example": _EXAMPLE_CSV,
    }
    form_fields = option_fields()
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
                        # No one_name_each here: schemathesis cannot generate a binary field
                        # under "not" (schemathesis.toml has the 400 this leaves undescribed).
                        "additionalProperties": False,
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
                                **one_name_each(options),
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
                                **one_name_each(options),
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


def form_request(
    properties: dict[str, Any], required: list[str], example: dict[str, Any], *, closed: bool = False
) -> dict[str, Any]:
    """A route's body as a multipart/form-data form, for its ``openapi_extensions``; ``closed``, no
    field but those. A form does not say that one option under two names is refused (see
    import_request)."""
    schema: dict[str, Any] = {"type": "object", "required": required, "properties": properties}
    if closed:
        schema |= {"additionalProperties": False}
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
                        "properties": {
                            "file_name": {"type": "string", "default": "contacts.csv"},
                            # A resumable multipart upload of a file of `size` bytes (docs/api.md).
                            "multipart": {"type": "boolean", "default": False},
                            # At most 5 GiB, the most MaxUploadBytes may be (template.yaml); a stack
                            # deployed with less answers 413 payload_too_large above its own limit.
                            "size": {"type": "integer", "minimum": 1, "maximum": FIVE_GIB},
                            **option_members(),
                        },
                        "additionalProperties": False,
                        **one_name_each(option_members()),
                        # A multipart upload is planned from the file's size: it cannot go without.
                        "if": {"properties": {"multipart": {"const": True}}, "required": ["multipart"]},
                        "then": {"required": ["size"]},
                    },
                    "example": {"file_name": "contacts.csv", "list_id": "default"},
                }
            },
        }
    }
