"""Reading an import request: the file's bytes and the raw options, whatever the Content-Type.

``text/csv`` (and friends) carry the raw file with options in the query; ``multipart/form-data``
the file in the ``file`` field with options as other fields; ``application/json`` either
``{"csv": "..."}`` or ``{"rows": [...]}`` with options as members.
"""

from __future__ import annotations

import base64
import csv
import io
import json
from dataclasses import dataclass, field
from email import errors
from email.parser import BytesParser
from email.policy import HTTP
from typing import Any

from aws_lambda_powertools.utilities.data_classes import APIGatewayProxyEvent

from contacts_import.errors import IncompleteBody, InvalidOptions, NotCsv
from contacts_import.models import LIST_OPTIONS, ImportOptions

RAW_CSV_TYPES = frozenset(
    {
        "text/csv",
        "application/csv",
        "text/comma-separated-values",
        "application/octet-stream",
        "text/plain",
        "text/tab-separated-values",
        "application/vnd.ms-excel",  # what browsers label a .csv file with on Windows
        # containers the pipeline opens itself (the bytes decide, not the label)
        "application/gzip",
        "application/x-gzip",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "",
    }
)


@dataclass(frozen=True)
class ImportRequest:
    body: bytes
    file_name: str
    text_options: dict[str, Any]  # query parameters and form fields: strings (or lists of them)
    json_options: dict[str, Any] = field(default_factory=dict)  # a JSON body's members
    from_rows: bool = False  # JSON rows, made a CSV whose header (row 1) is their keys

    def options(self) -> ImportOptions:
        return ImportOptions.parse(self.json_options, text=self.text_options)


def file_name_member(document: dict[str, Any]) -> str:
    """A JSON body's ``file_name`` (taken out of ``document``): a string, or contacts.csv when it
    is left out, null or empty."""
    value = document.pop("file_name", None)
    if value is not None and not isinstance(value, str):
        raise InvalidOptions("'file_name' must be a string.", details={"option": "file_name"})
    return value or "contacts.csv"


def raw_body(event: APIGatewayProxyEvent) -> bytes:
    """The request's bytes; IncompleteBody when they are fewer than its ``Content-Length`` says."""
    body = event.body or ""
    data = base64.b64decode(body) if event.is_base64_encoded else body.encode("utf-8")
    check_content_length(data, _header(event, "content-length"), _header(event, "content-encoding"))
    return data


def check_content_length(data: bytes, content_length: str | None, content_encoding: str | None) -> None:
    """A body shorter than its ``Content-Length`` was cut off on its way (a client that gave up, a
    proxy that passed on what it had). With a ``Content-Encoding`` the length is the encoded
    body's, which a gateway may have decoded (a decoded body may be shorter), so it is not compared."""
    if content_encoding not in (None, "", "identity") or content_length is None:
        return
    try:
        expected = int(content_length)
    except ValueError:
        return  # not a length; a gateway refuses such a header before it gets here
    if len(data) < expected:
        raise IncompleteBody(
            f"The body ends after {len(data)} of the {expected} bytes its Content-Length announces: it was "
            "cut off on its way. Nothing of it is imported; send it again.",
            details={"missing": "bytes", "content_length": expected, "received_bytes": len(data)},
        )


def _header(event: APIGatewayProxyEvent, name: str) -> str | None:
    for key, value in (event.headers or {}).items():
        if key.lower() == name:
            return str(value).strip().lower() if value is not None else None
    return None


def media_type(event: APIGatewayProxyEvent) -> tuple[str, str]:
    """(media type, the whole header): ``text/csv; charset=utf-8`` gives ``text/csv``."""
    header = event.headers.get("content-type") or event.headers.get("Content-Type") or ""
    return header.split(";", 1)[0].strip().lower(), header


def query_options(event: APIGatewayProxyEvent) -> dict[str, Any]:
    options: dict[str, Any] = {}
    multi = event.multi_value_query_string_parameters or {}
    single = event.query_string_parameters or {}
    for name in set(multi) | set(single):
        values = multi.get(name) or [single[name]]
        options[name] = values if name in LIST_OPTIONS and len(values) > 1 else values[-1]
    return options


def read_import_request(event: APIGatewayProxyEvent) -> ImportRequest:
    kind, header = media_type(event)
    body = raw_body(event)
    options = query_options(event)
    file_name = str(options.pop("file_name", "") or "contacts.csv")
    if kind in RAW_CSV_TYPES:
        return ImportRequest(body, file_name, options)
    if kind == "multipart/form-data":
        return _multipart(body, header, options)
    if kind == "application/json" or kind.endswith("+json"):
        return _json(body, options)
    raise NotCsv(
        f"Content-Type {kind!r} is not a CSV. Send text/csv, multipart/form-data (field 'file') or "
        "application/json ({'csv': ...} or {'rows': [...]}).",
        details={"content_type": kind},
    )


@dataclass(frozen=True)
class FormFile:
    content: bytes
    file_name: str | None


@dataclass(frozen=True)
class Form:
    """A multipart/form-data body: its text fields (every value of a repeated one, in order) and
    the file sent in the field ``file``, if any."""

    fields: dict[str, list[str]]
    file: FormFile | None


def read_form(body: bytes, content_type: str) -> Form:
    message = BytesParser(policy=HTTP).parsebytes(
        b"Content-Type: " + content_type.encode("latin-1") + b"\r\n\r\n" + body
    )
    if not message.is_multipart():
        raise InvalidOptions("The multipart body could not be read (boundary missing or wrong).")
    if any(isinstance(defect, errors.CloseBoundaryNotFoundDefect) for defect in message.defects):
        # The parser takes everything to the end as the last part: its last row, cut in two.
        boundary = message.get_boundary()
        raise IncompleteBody(
            f"The multipart body ends before its closing boundary (--{boundary}--): it was cut off. "
            "Nothing of it is imported; send it again.",
            details={"missing": "closing_boundary"},
        )
    fields: dict[str, list[str]] = {}
    file: FormFile | None = None
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        decoded = part.get_payload(decode=True)  # bytes for a part that is not itself multipart
        payload = decoded if isinstance(decoded, bytes) else b""
        if name == "file":
            file = FormFile(payload, part.get_filename())
        elif isinstance(name, str):
            charset = part.get_content_charset() or "utf-8"
            fields.setdefault(name, []).append(payload.decode(charset, errors="replace"))
    return Form(fields, file)


def form_options(fields: dict[str, list[str]]) -> dict[str, Any]:
    """Import options from form fields: a list option repeated is a list, any other its last value."""
    return {name: values if name in LIST_OPTIONS and len(values) > 1 else values[-1] for name, values in fields.items()}


def _multipart(body: bytes, content_type: str, options: dict[str, Any]) -> ImportRequest:
    form = read_form(body, content_type)
    if form.file is None:
        raise InvalidOptions("The multipart body has no 'file' field.", details={"option": "file"})
    for name, value in form_options(form.fields).items():
        if name in LIST_OPTIONS and name in options:
            previous, added = options[name], value if isinstance(value, list) else [value]
            options[name] = [*(previous if isinstance(previous, list) else [previous]), *added]
        else:
            options[name] = value
    options.pop("file_name", None)
    return ImportRequest(form.file.content, form.file.file_name or "contacts.csv", options)


def _json(body: bytes, options: dict[str, Any]) -> ImportRequest:
    try:
        document = json.loads(body or b"{}")
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise InvalidOptions(f"The JSON body is not valid JSON: {error}.") from None
    if not isinstance(document, dict):
        raise InvalidOptions("The JSON body must be an object: {'csv': ...} or {'rows': [...]}.")
    file_name = file_name_member(document)
    has_csv, has_rows = "csv" in document, "rows" in document
    if has_csv == has_rows:
        raise InvalidOptions("The JSON body needs exactly one of 'csv' (text) or 'rows' (a list of objects).")
    if has_csv:
        text = document.pop("csv")
        if not isinstance(text, str):
            raise InvalidOptions("'csv' must be a string holding the CSV text.", details={"option": "csv"})
        data = text.encode("utf-8")
    else:
        data = rows_to_csv(document.pop("rows"))
    return ImportRequest(data, file_name, options, document, from_rows=not has_csv)


def rows_to_csv(rows: Any) -> bytes:
    """Rows as objects become a CSV with their keys as the header, so they take the same pipeline."""
    if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
        raise InvalidOptions("'rows' must be a list of objects.", details={"option": "rows"})
    columns = list(dict.fromkeys(key for row in rows for key in row))
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow([_cell(row.get(column)) for column in columns])
    return buffer.getvalue().encode("utf-8")


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, list | tuple):
        return ",".join(str(v) for v in value)
    if isinstance(value, dict):
        return json.dumps(value, ensure_ascii=False)
    return str(value)
