"""The importer's page and script as files, and the headers they are answered with (pure, no network)."""

from __future__ import annotations

import re
from html.parser import HTMLParser

from contacts_import.importer.page import content_security_policy, importer_page, importer_script, upload_origins
from contacts_import.settings import ImporterPageSettings

DEPLOYED = ImporterPageSettings(
    cors_allowed_origin="https://app.example.com",
    upload_origins="https://b.s3.eu-west-1.amazonaws.com/ https://b.s3.amazonaws.com not-a-url",
)
LOCAL = ImporterPageSettings(upload_origins="https://b.s3.amazonaws.com", aws_endpoint_url="http://127.0.0.1:4566")


def _directives(policy: str) -> dict[str, str]:
    return dict(part.strip().split(" ", 1) for part in policy.split(";"))


def test_the_policy_allows_only_the_api_itself_and_the_upload_bucket():
    directives = _directives(content_security_policy(DEPLOYED))
    assert directives["default-src"] == "'none'"
    assert directives["script-src"] == directives["style-src"] == "'self'"
    assert directives["connect-src"] == "'self' https://b.s3.eu-west-1.amazonaws.com https://b.s3.amazonaws.com"
    assert directives["form-action"] == "'none'" and directives["base-uri"] == "'none'"
    assert directives["frame-ancestors"] == "https://app.example.com"


def test_on_the_local_stack_uploads_go_to_its_aws_endpoint():
    assert upload_origins(LOCAL) == ["http://127.0.0.1:4566"]
    assert _directives(content_security_policy(LOCAL))["connect-src"] == "'self' http://127.0.0.1:4566"


def test_the_script_follows_cors_allowed_origin():
    deployed = importer_script(DEPLOYED)
    assert deployed.headers["Access-Control-Allow-Origin"] == "https://app.example.com"
    assert deployed.headers["Vary"] == "Origin"
    assert importer_script(LOCAL).headers["Access-Control-Allow-Origin"] == "*"
    assert deployed.content_type.startswith("text/javascript")
    page = importer_page(DEPLOYED)
    assert page.content_type.startswith("text/html")
    assert page.headers["X-Content-Type-Options"] == "nosniff"
    assert page.headers["Referrer-Policy"] == "no-referrer"


class _Scripts(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.scripts: list[dict[str, str | None]] = []
        self.inline: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.inline += [name for name, _ in attrs if name.startswith("on") or name == "style"]
        if tag == "script":
            self.scripts.append(dict(attrs))
            self._in_script = True

    def handle_endtag(self, tag: str) -> None:
        self._in_script = self._in_script and tag != "script"

    def handle_data(self, data: str) -> None:
        if self._in_script and data.strip():
            self.inline.append(data)


def test_the_page_has_no_inline_code_and_loads_the_component_relative_to_itself():
    parser = _Scripts()
    parser.feed(importer_page(LOCAL).body)
    assert parser.scripts == [{"type": "module", "src": "importer.js"}]
    assert parser.inline == []
    assert "<contacts-importer from-fragment>" in importer_page(LOCAL).body


def test_the_component_never_inserts_markup():
    script = importer_script(LOCAL).body
    assert not re.search(r"innerHTML|outerHTML|insertAdjacentHTML|document\.write|eval\(|new Function", script)
    assert 'customElements.define("contacts-importer"' in script
    assert len(script.encode()) < 40 * 1024  # small: docs/importer.md gives its size
