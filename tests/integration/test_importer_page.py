"""The importer page's function through its handler, with the sample event in events/ (no key)."""

from __future__ import annotations

import copy

from tests.sample_events import load_event


def _get(stack, path: str, origin: str | None = None):
    event = copy.deepcopy(load_event("api_get_importer.json"))
    event["path"] = event["resource"] = event["requestContext"]["resourcePath"] = path
    if origin:
        event["headers"]["Origin"] = origin
        event["multiValueHeaders"]["Origin"] = [origin]
    return stack.invoke("ImporterPageFunction", event)


def _header(response, name: str) -> str | None:
    headers = {**(response.get("headers") or {})}
    for key, values in (response.get("multiValueHeaders") or {}).items():
        headers.setdefault(key, values[0])
    return next((v for k, v in headers.items() if k.lower() == name.lower()), None)


def test_the_page_and_the_script_load_without_a_key(stack):
    page = _get(stack, "/importer")
    assert page["statusCode"] == 200
    assert _header(page, "Content-Type").startswith("text/html")
    assert "script-src 'self'" in _header(page, "Content-Security-Policy")
    assert "<contacts-importer" in page["body"]
    script = _get(stack, "/importer.js", origin="https://app.example.com")
    assert script["statusCode"] == 200
    assert _header(script, "Content-Type").startswith("text/javascript")
    assert _header(script, "Access-Control-Allow-Origin") in ("*", "https://app.example.com")


def test_an_unknown_path_of_the_function_is_404(stack):
    assert _get(stack, "/importer.css")["statusCode"] == 404
