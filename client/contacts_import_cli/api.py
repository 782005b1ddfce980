"""The HTTP API (docs/api.md) as the client uses it: one authenticated session, error envelopes
turned into ``ApiError``, an endpoint that does not answer turned into a hint."""

from __future__ import annotations

import re
from collections.abc import Iterator
from importlib import metadata
from typing import Any
from urllib.parse import quote

import requests

from contacts_import_cli.errors import ApiError, Unreachable


def _version() -> str:
    try:
        return metadata.version("contacts-import")
    except metadata.PackageNotFoundError:
        return "dev"


# (connect, read) seconds. Every API call answers quickly (the work happens in the background).
API_TIMEOUT = (5, 60)
PAGE_LIMIT = 1000  # the API's maximum page size: fewest round trips for `errors`
USER_AGENT = f"contacts-import-cli/{_version()}"

# What an answer without the error envelope (an API Gateway default answer, a proxy) stands for.
_CODE_BY_STATUS = {
    400: "validation_error",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    413: "payload_too_large",
    415: "unsupported_media_type",
    429: "rate_limited",
    500: "internal_error",
}
_ERRNO = re.compile(r"\[Errno -?\d+\] ([^'\")]+)")


def job_path(job_id: str, suffix: str = "") -> str:
    return f"/imports/{quote(job_id, safe='')}{suffix}"


class ApiClient:
    """Calls the API at ``base_url`` with ``Authorization: Bearer <api_key>``."""

    def __init__(self, base_url: str, api_key: str, session: requests.Session | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        self._session = session or requests.Session()
        self._session.headers.update({"Authorization": f"Bearer {api_key}", "User-Agent": USER_AGENT})

    def request(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, Any] | None = None,
        json_body: Any = None,
        accept: str = "application/json",
        stream: bool = False,
    ) -> requests.Response:
        url = self.base_url + path
        try:
            response = self._session.request(
                method,
                url,
                params=params,
                json=json_body,
                headers={"Accept": accept},
                timeout=API_TIMEOUT,
                stream=stream,
            )
        except requests.ConnectionError as error:
            raise Unreachable(f"no API at {self.base_url}: is `make local` running? ({_reason(error)})") from None
        except requests.Timeout:
            raise Unreachable(f"the API at {self.base_url} did not answer within {API_TIMEOUT[1]} s") from None
        if response.status_code >= 400:
            raise api_error(response)
        return response

    def data(self, path: str, *, params: dict[str, Any] | None = None) -> Any:
        """GET a success envelope and answer its ``data``."""
        return _json(self.request("GET", path, params=params))["data"]

    def post(self, path: str, body: dict[str, Any]) -> Any:
        return _json(self.request("POST", path, json_body=body))["data"]

    def pages(self, path: str, *, limit: int = PAGE_LIMIT) -> Iterator[list[dict[str, Any]]]:
        """Every page of a list endpoint, following ``pagination.next_cursor`` to the end."""
        cursor: str | None = None
        while True:
            params: dict[str, Any] = {"limit": limit}
            if cursor:
                params["cursor"] = cursor
            page = _json(self.request("GET", path, params=params))
            yield page["data"]
            cursor = (page.get("pagination") or {}).get("next_cursor")
            if not cursor:
                return


def api_error(response: requests.Response) -> ApiError:
    """The error of an answer with status >= 400, from its envelope when it has one."""
    request_id = response.headers.get("X-Request-ID")
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict) and isinstance(body.get("error"), dict):
        error = body["error"]
        return ApiError(
            response.status_code,
            str(error.get("code") or _fallback_code(response.status_code)),
            str(error.get("message") or response.reason),
            request_id=request_id,
            details=error.get("details") if isinstance(error.get("details"), dict) else None,
        )
    # API Gateway answers some errors itself ({"message": "Unauthorized"}), proxies answer HTML.
    if isinstance(body, dict) and isinstance(body.get("message"), str):
        message = body["message"]
    else:
        message = (response.text or "").strip()[:300] or str(response.reason)
    return ApiError(response.status_code, _fallback_code(response.status_code), message, request_id=request_id)


def _fallback_code(status: int) -> str:
    return _CODE_BY_STATUS.get(status, f"http_{status}")


def _json(response: requests.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        raise ApiError(
            response.status_code,
            "bad_response",
            f"the API answered {response.headers.get('Content-Type') or 'no content type'}, not JSON",
            request_id=response.headers.get("X-Request-ID"),
        ) from None


def _reason(error: requests.ConnectionError) -> str:
    # requests buries the socket's reason ("[Errno 111] Connection refused") in a long repr.
    match = _ERRNO.search(str(error))
    return match.group(1).strip() if match else type(error).__name__
