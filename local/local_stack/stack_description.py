"""CloudFormation ``DescribeStacks`` for the local stack, at its AWS endpoint.

A deployed stack tells its clients where things are through its outputs (``ApiKeysTableName``,
``AccountsTableName``, ...), and ``contacts-import keys`` reads them with ``describe_stacks``. The
local stack answers that one call the same way, with the template's outputs resolved as the local
stack resolved them, so the client finds the local stack exactly as it finds a deployed one and
never reads the template or imports this package. Every other CloudFormation call goes on to moto.

CloudFormation speaks the query protocol: a form-encoded POST with ``Action=DescribeStacks``, and
an XML answer. SigV4's credential scope (``.../<region>/cloudformation/aws4_request``) tells its
requests apart without reading the body of any other service's request.
"""

from __future__ import annotations

import io
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs
from xml.sax.saxutils import escape

CLOUDFORMATION_NAMESPACE = "http://cloudformation.amazonaws.com/doc/2010-05-15/"
# A describe call carries a handful of form fields; a body larger than this is not one.
MAX_FORM_BYTES = 64 * 1024

WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


def is_cloudformation_request(environ: Mapping[str, Any]) -> bool:
    return "/cloudformation/aws4_request" in str(environ.get("HTTP_AUTHORIZATION", ""))


@dataclass(frozen=True)
class LocalStackDescription:
    """What ``DescribeStacks`` says of the local stack."""

    stack_name: str
    stack_id: str
    outputs: Mapping[str, str]
    created_at: str = "2026-01-01T00:00:00.000Z"

    def answers(self, stack_name: str | None) -> bool:
        return stack_name in (None, "", self.stack_name, self.stack_id)

    def to_xml(self, request_id: str) -> bytes:
        outputs = "".join(
            f"<member><OutputKey>{escape(key)}</OutputKey><OutputValue>{escape(value)}</OutputValue></member>"
            for key, value in self.outputs.items()
        )
        return (
            f'<DescribeStacksResponse xmlns="{CLOUDFORMATION_NAMESPACE}"><DescribeStacksResult><Stacks><member>'
            f"<StackName>{escape(self.stack_name)}</StackName><StackId>{escape(self.stack_id)}</StackId>"
            f"<CreationTime>{self.created_at}</CreationTime><StackStatus>CREATE_COMPLETE</StackStatus>"
            f"<Outputs>{outputs}</Outputs>"
            f"</member></Stacks></DescribeStacksResult>"
            f"<ResponseMetadata><RequestId>{request_id}</RequestId></ResponseMetadata></DescribeStacksResponse>"
        ).encode()


def _no_such_stack(stack_name: str, request_id: str) -> bytes:
    message = escape(f"Stack with id {stack_name} does not exist")
    return (
        f'<ErrorResponse xmlns="{CLOUDFORMATION_NAMESPACE}"><Error><Type>Sender</Type>'
        f"<Code>ValidationError</Code><Message>{message}</Message></Error>"
        f"<RequestId>{request_id}</RequestId></ErrorResponse>"
    ).encode()


class DescribeLocalStack:
    """A WSGI app: ``DescribeStacks`` answered from ``description``, anything else to ``others``."""

    def __init__(self, description: LocalStackDescription, others: WsgiApp) -> None:
        self.description = description
        self._others = others

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        length = int(environ.get("CONTENT_LENGTH") or 0)
        if environ.get("REQUEST_METHOD") != "POST" or length > MAX_FORM_BYTES:
            return self._others(environ, start_response)
        body = environ["wsgi.input"].read(length) if length else b""
        form = {key: values[0] for key, values in parse_qs(body.decode("utf-8", "replace")).items()}
        if form.get("Action") != "DescribeStacks":
            environ["wsgi.input"] = io.BytesIO(body)  # read once: what moto reads is the same body
            return self._others(environ, start_response)
        request_id = str(uuid.uuid4())
        stack_name = form.get("StackName")
        if self.description.answers(stack_name):
            status, data = "200 OK", self.description.to_xml(request_id)
        else:
            status, data = "400 Bad Request", _no_such_stack(stack_name or "", request_id)
        start_response(
            status,
            [("Content-Type", "text/xml"), ("Content-Length", str(len(data))), ("x-amzn-RequestId", request_id)],
        )
        return [data]
