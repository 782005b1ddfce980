"""POST /imports/preview, served by the create function: what the importer will see in a file."""

from __future__ import annotations

import copy
from typing import Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.router import Router

from contacts_import.api.docs import answers, import_request, json_answer, requires
from contacts_import.api.envelope import DataEnvelope, data_response
from contacts_import.api.imports_write import deps
from contacts_import.api.requests import read_import_request
from contacts_import.api.resolver import caller, rest_event
from contacts_import.service.mapping_profiles import with_named_profile
from contacts_import.service.preview import MAX_PREVIEW_BYTES, FilePreview, preview_file

router = Router()


def _preview_request() -> dict[str, Any]:
    """POST /imports' bodies and options, the raw file at most MAX_PREVIEW_BYTES."""
    document = copy.deepcopy(import_request())
    for kind in ("text/csv", "application/octet-stream"):
        document["requestBody"]["content"][kind]["schema"]["maxLength"] = MAX_PREVIEW_BYTES
    return document


@router.post(
    "/imports/preview",
    summary="Preview a file from its first bytes (up to 256 KiB): columns, suggested fields, first rows",
    description="Any body POST /imports takes, holding the start of a file (a browser sends a slice); a last "
    "line cut off by the slice is left out. Answers the encoding, delimiter, each column's suggested field "
    "with a confidence (0 to 1), the first 20 rows with their normalized phone and email and the row errors "
    "they would get, and the saved mapping profile whose headers are the file's. Nothing is stored.",
    responses=answers(
        {200: json_answer("What the import would make of the file.", DataEnvelope[FilePreview])}, 400, 413, 415, 422
    ),
    security=requires("imports:write"),
    openapi_extensions=_preview_request(),
    tags=["imports"],
)
def post_preview() -> Response[DataEnvelope[FilePreview]]:
    event = rest_event(router)
    requester = caller(event)
    requester.require_key_or_session("imports:write")
    request = read_import_request(event)
    options = requester.session_options(request.options())
    account = requester.account_id
    options = with_named_profile(account, options, deps().profiles)
    preview = preview_file(request.body, options, deps().profiles.all(account))
    return data_response(event, preview.model_dump(mode="json"))
