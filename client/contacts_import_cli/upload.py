"""Presigned uploads (docs/api.md, ``POST /imports/uploads``) and waiting for a job to end.

The file goes straight to S3, streamed from disk in 1 MiB chunks: a 1 GiB file never sits in
memory. ``requests`` would build a multipart body in memory (``files=``), and
``requests_toolbelt`` is not a dependency, so ``MultipartFileBody`` writes the few lines of
multipart framing itself.
"""

from __future__ import annotations

import re
import secrets
import time
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import requests

from contacts_import.models import ENDED_STATES
from contacts_import_cli.api import ApiClient, job_path
from contacts_import_cli.errors import ApiError, CliError, ExitCode, Unreachable

CHUNK_BYTES = 1024 * 1024
# Connect, then the wait for each socket operation; S3 answers a POST once it has the whole body.
UPLOAD_TIMEOUT = (10, 300)
POLL_SECONDS = 0.75
# A poll that meets a busy or briefly failing API tries again this many times before giving up.
POLL_RETRIES = 5

BytesCallback = Callable[[int], None]


class FileChanged(CliError):
    exit_code = ExitCode.REFUSED


def _file_chunks(path: Path, size: int, on_bytes: BytesCallback | None) -> Iterator[bytes]:
    sent = 0
    with path.open("rb") as stream:
        while sent < size:
            chunk = stream.read(min(CHUNK_BYTES, size - sent))
            if not chunk:
                break
            sent += len(chunk)
            if on_bytes:
                on_bytes(len(chunk))
            yield chunk
    if sent != size:
        # The Content-Length is already on the wire; a shorter body would hang the request.
        raise FileChanged(f"{path} changed size while it was being sent ({size} bytes expected, {sent} read)")


class FileBody:
    """A file sent as a request body in chunks. ``__len__`` makes ``requests`` send a
    Content-Length instead of chunked transfer encoding, which S3 refuses for uploads."""

    def __init__(self, path: Path, on_bytes: BytesCallback | None = None) -> None:
        self.path = path
        self.size = path.stat().st_size
        self._on_bytes = on_bytes

    def __len__(self) -> int:
        return self.size

    def __iter__(self) -> Iterator[bytes]:
        return _file_chunks(self.path, self.size, self._on_bytes)


class MultipartFileBody:
    """``multipart/form-data``: the text fields in order, then the file, made as it is sent."""

    def __init__(
        self,
        fields: Mapping[str, str],
        file_field: str,
        path: Path,
        *,
        file_name: str | None = None,
        file_type: str = "text/csv",
        on_bytes: BytesCallback | None = None,
    ) -> None:
        self.boundary = "contacts-import-" + secrets.token_hex(16)
        self.path = path
        self.size = path.stat().st_size
        self._on_bytes = on_bytes
        parts = [
            _part_header(self.boundary, f'form-data; name="{_quoted(name)}"') + str(value).encode("utf-8") + b"\r\n"
            for name, value in fields.items()
        ]
        disposition = f'form-data; name="{_quoted(file_field)}"; filename="{_quoted(file_name or path.name)}"'
        parts.append(_part_header(self.boundary, disposition, file_type))
        self._head = b"".join(parts)
        self._tail = f"\r\n--{self.boundary}--\r\n".encode("ascii")

    @property
    def content_type(self) -> str:
        return f"multipart/form-data; boundary={self.boundary}"

    def __len__(self) -> int:
        return len(self._head) + self.size + len(self._tail)

    def __iter__(self) -> Iterator[bytes]:
        yield self._head
        yield from _file_chunks(self.path, self.size, self._on_bytes)
        yield self._tail


def _part_header(boundary: str, disposition: str, content_type: str | None = None) -> bytes:
    lines = [f"--{boundary}", f"Content-Disposition: {disposition}"]
    if content_type:
        lines.append(f"Content-Type: {content_type}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("utf-8")


def _quoted(text: str) -> str:
    # What browsers do with a quote or line break in a field or file name (HTML form encoding).
    return text.replace('"', "%22").replace("\r", "%0D").replace("\n", "%0A")


def send_file(upload: Mapping[str, Any], path: Path, on_bytes: BytesCallback | None = None) -> None:
    """Send ``path`` as the presigned ``upload`` says: a form POST (fields first, the file last in
    the field ``file``) or a PUT with its headers. No Authorization header: the URL is the grant."""
    method = str(upload.get("method", "POST")).upper()
    url = str(upload["url"])
    try:
        if method == "POST":
            body = MultipartFileBody(upload.get("fields") or {}, "file", path, on_bytes=on_bytes)
            response = requests.post(
                url, data=body, headers={"Content-Type": body.content_type}, timeout=UPLOAD_TIMEOUT
            )
        elif method == "PUT":
            headers = {str(k): str(v) for k, v in (upload.get("headers") or {}).items()}
            response = requests.put(url, data=FileBody(path, on_bytes), headers=headers, timeout=UPLOAD_TIMEOUT)
        else:
            raise CliError(f"the API asked for an upload by {method}, which this client does not know")
    except requests.ConnectionError:
        raise Unreachable(f"no storage endpoint at {_origin(url)} to upload to") from None
    except requests.Timeout:
        raise Unreachable(f"the upload to {_origin(url)} timed out") from None
    if response.status_code >= 300:
        raise storage_error(response)


def storage_error(response: requests.Response) -> ApiError:
    """S3 answers errors as XML: <Error><Code>EntityTooLarge</Code><Message>...</Message></Error>."""
    text = response.text or ""
    code = re.search(r"<Code>([^<]*)</Code>", text)
    message = re.search(r"<Message>([^<]*)</Message>", text)
    return ApiError(
        response.status_code,
        f"upload_{code.group(1)}" if code else f"upload_http_{response.status_code}",
        message.group(1) if message else (text.strip()[:300] or str(response.reason)),
        request_id=response.headers.get("x-amz-request-id"),
    )


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


class WaitTimedOut(CliError):
    """``--timeout`` ran out before the job ended."""

    def __init__(self, job_id: str, document: dict[str, Any], seconds: float) -> None:
        super().__init__(
            f"job {job_id} is still {document.get('status')} after {seconds:g} s; it goes on: "
            f"contacts-import status {job_id}",
            exit_code=ExitCode.STILL_RUNNING,
        )
        self.document = document


def wait_for_job(
    client: ApiClient,
    job_id: str,
    *,
    on_status: Callable[[dict[str, Any]], None],
    poll_seconds: float | None = None,
    timeout: float | None = None,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> dict[str, Any]:
    """Poll ``GET /imports/{job_id}`` until the job is completed, failed or cancelled, calling
    ``on_status`` with every status document; answer the last one."""
    interval = POLL_SECONDS if poll_seconds is None else poll_seconds
    started = clock()
    retries = 0
    while True:
        try:
            document = client.data(job_path(job_id))
        except (ApiError, Unreachable) as error:
            transient = isinstance(error, Unreachable) or error.status == 429 or error.status >= 500
            if not transient or retries >= POLL_RETRIES:
                raise
            retries += 1
            sleep(interval * 2**retries)
            continue
        retries = 0
        on_status(document)
        if document.get("status") in ENDED_STATES:
            return document
        if timeout is not None and clock() - started >= timeout:
            raise WaitTimedOut(job_id, document, timeout)
        sleep(interval)
