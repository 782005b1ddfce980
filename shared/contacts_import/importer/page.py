"""The importer's two files and the headers each is answered with.

The page acts with a token it reads from its URL fragment, which a browser never sends: so neither
the page nor the script holds anything secret, and both load without a key. What keeps the page
safe is its Content-Security-Policy: scripts and styles only from the API itself (no inline code,
so a cell of a file that reached the page as markup could not run), connections only to the API
and the bucket that takes uploads, no framing except by the origin allowed to embed the component
(CorsAllowedOrigin), and no form posting anywhere.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from importlib import resources
from urllib.parse import urlsplit

from contacts_import.settings import ImporterPageSettings

PAGE_TYPE = "text/html; charset=utf-8"
SCRIPT_TYPE = "text/javascript; charset=utf-8"


@dataclass(frozen=True)
class StaticFile:
    body: str
    content_type: str
    headers: dict[str, str]


@cache
def _text(name: str) -> str:
    return (resources.files("contacts_import.importer") / name).read_text(encoding="utf-8")


def _origin(url: str) -> str | None:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return None
    return f"{parts.scheme}://{parts.netloc}"


def upload_origins(settings: ImporterPageSettings) -> list[str]:
    """Where a browser's upload goes: the endpoint S3 is reached at when one is set (the local
    stack presigns its URLs there), else the bucket's own origins."""
    if settings.aws_endpoint_url:
        origin = _origin(settings.aws_endpoint_url)
        return [origin] if origin else []
    return [o for o in (_origin(u) for u in settings.upload_origins.split()) if o]


def content_security_policy(settings: ImporterPageSettings) -> str:
    connect = " ".join(["'self'", *upload_origins(settings)])
    frame_ancestors = "*" if settings.cors_allowed_origin == "*" else settings.cors_allowed_origin
    return "; ".join(
        [
            "default-src 'none'",
            "script-src 'self'",
            "style-src 'self'",
            "img-src 'self' data:",
            f"connect-src {connect}",
            "form-action 'none'",
            "base-uri 'none'",
            f"frame-ancestors {frame_ancestors}",
        ]
    )


def _common_headers(settings: ImporterPageSettings) -> dict[str, str]:
    return {
        "Content-Security-Policy": content_security_policy(settings),
        "X-Content-Type-Options": "nosniff",
        # The page's address holds the token in its fragment; browsers never send a fragment in a
        # Referer, and this sends no Referer at all.
        "Referrer-Policy": "no-referrer",
        "Cache-Control": "no-cache",
    }


def importer_page(settings: ImporterPageSettings) -> StaticFile:
    return StaticFile(_text("importer.html"), PAGE_TYPE, _common_headers(settings))


def importer_script(settings: ImporterPageSettings) -> StaticFile:
    # A module script loaded by another origin's page is fetched in CORS mode: the embedding page
    # may load it only if this answer allows that origin.
    headers = {**_common_headers(settings), "Access-Control-Allow-Origin": settings.cors_allowed_origin}
    if settings.cors_allowed_origin != "*":
        headers["Vary"] = "Origin"
    return StaticFile(_text("importer.js"), SCRIPT_TYPE, headers)
