"""One loader for the sample events in events/: used by the tests and by `make invoke`."""

from __future__ import annotations

import base64
import copy
import json
from pathlib import Path
from typing import Any
from urllib.parse import quote_plus

EVENTS_DIR = Path(__file__).resolve().parents[1] / "events"


def load_event(name: str) -> dict[str, Any]:
    return json.loads((EVENTS_DIR / name).read_text(encoding="utf-8"))


def api_event(
    name: str,
    *,
    account_id: str = "local",
    scopes: str = "imports:write imports:read contacts:read",
    body: bytes | None = None,
    content_type: str | None = None,
    query: dict[str, str | list[str]] | None = None,
    path_parameters: dict[str, str] | None = None,
    headers: dict[str, str] | None = None,
) -> dict[str, Any]:
    """A REST proxy event from events/, with its caller, body, query and path parameters replaced."""
    event = copy.deepcopy(load_event(name))
    event["requestContext"]["authorizer"].update({"account_id": account_id, "scopes": scopes})
    if body is not None:
        event["body"] = base64.b64encode(body).decode()
        event["isBase64Encoded"] = True
    if content_type is not None:
        event["headers"]["Content-Type"] = content_type
        event["multiValueHeaders"]["Content-Type"] = [content_type]
    for name_, value in (headers or {}).items():
        event["headers"][name_] = value
        event["multiValueHeaders"][name_] = [value]
    if query is not None:
        multi = {k: (v if isinstance(v, list) else [v]) for k, v in query.items()}
        event["multiValueQueryStringParameters"] = multi or None
        event["queryStringParameters"] = {k: v[-1] for k, v in multi.items()} or None
    if path_parameters is not None:
        event["pathParameters"] = path_parameters
        path = event["resource"]
        for key, value in path_parameters.items():
            path = path.replace("{" + key + "}", value)
        event["path"] = path
    return event


def s3_event(
    name: str, *, bucket: str, key: str, size: int, etag: str = "etag", sequencer: str = "01"
) -> dict[str, Any]:
    """An S3 ObjectCreated event from events/ for this object; the key URL-encoded as S3 sends it."""
    event = copy.deepcopy(load_event(name))
    record = event["Records"][0]
    record["s3"]["bucket"]["name"] = bucket
    record["s3"]["bucket"]["arn"] = f"arn:aws:s3:::{bucket}"
    record["s3"]["object"].update({"key": quote_plus(key), "size": size, "eTag": etag, "sequencer": sequencer})
    return event


def body_of(response: dict[str, Any]) -> Any:
    body = response["body"]
    if response.get("isBase64Encoded"):
        body = base64.b64decode(body).decode()
    return json.loads(body)


def sqs_event(messages: list[dict[str, Any]], *, queue_arn: str) -> dict[str, Any]:
    """The event Lambda's SQS event source sends for these ReceiveMessage messages."""
    template = load_event("sqs_chunk_task.json")["Records"][0]
    records = []
    for message in messages:
        record = copy.deepcopy(template)
        record.update(
            {
                "messageId": message["MessageId"],
                "receiptHandle": message["ReceiptHandle"],
                "body": message["Body"],
                "md5OfBody": message.get("MD5OfBody", record["md5OfBody"]),
                "eventSourceARN": queue_arn,
            }
        )
        record["attributes"].update(
            {k: v for k, v in (message.get("Attributes") or {}).items() if k in record["attributes"]}
        )
        records.append(record)
    return {"Records": records}
