"""GET /importer and GET /importer.js: the browser importer, served by the API itself, without a key.

The files and their headers are ``contacts_import.importer.page``'s; these routes only answer them.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.router import Router

from contacts_import.api.docs import answers
from contacts_import.api.envelope import text_response
from contacts_import.api.resolver import rest_event
from contacts_import.importer.page import StaticFile, importer_page, importer_script
from contacts_import.settings import ImporterPageSettings

router = Router()

# No key: the page and its script hold nothing secret; what they do, they do with the token the
# page is given (docs/importer.md). The OpenAPI document says so (api.openapi).
OPEN_ROUTES = ("/importer", "/importer.js")

_HEADERS_DOC: dict[str, Any] = {
    "Content-Security-Policy": {
        "required": True,
        "description": "Scripts, styles and connections only from this API (and the upload bucket).",
        "schema": {"type": "string"},
    },
}


@cache
def settings() -> ImporterPageSettings:
    return ImporterPageSettings.from_environment()


def _answer(file: StaticFile) -> Response:
    return text_response(rest_event(router), file.body, file.content_type, file.headers)


@router.get(
    "/importer",
    summary="The browser importer page (its token in the URL fragment: #token=<token>&list_id=<list>)",
    responses=answers(
        {
            200: {
                "description": "The page.",
                "headers": _HEADERS_DOC,
                "content": {"text/html": {"schema": {"type": "string"}}},
            }
        }
    ),
    tags=["importer"],
)
def get_importer_page():
    return _answer(importer_page(settings()))


@router.get(
    "/importer.js",
    summary="The importer as a web component, <contacts-importer token=... list-id=...>, an ES module",
    responses=answers(
        {
            200: {
                "description": "The script.",
                "headers": _HEADERS_DOC,
                "content": {"text/javascript": {"schema": {"type": "string"}}},
            }
        }
    ),
    tags=["importer"],
)
def get_importer_script():
    return _answer(importer_script(settings()))
