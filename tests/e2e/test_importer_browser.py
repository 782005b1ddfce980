"""The browser importer (GET /importer, GET /importer.js) in a real Chromium against the local stack.

A person's flow as the service has it today: pick a file, Import, watch the progress bar, read the
counts (equal to `contacts-import validate`'s), download the error CSV; a file whose cells hold
markup shows it as text; the whole flow with the keyboard alone; the page's Content-Security-Policy,
sent and enforced. Each step's screenshot goes to docs/importer/ (docs/importer.md shows them).
"""

from __future__ import annotations

import csv
import functools
import http.server
import json
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.e2e.browser import STEP_TIMEOUT_MS, launch, screenshot
from tests.e2e.jobs import new_list
from tests.e2e.stack import LocalStackHandle, OwnAccount, venv_script

pytestmark = pytest.mark.e2e

playwright_api = pytest.importorskip(
    "playwright.sync_api", reason="browser tests skipped: playwright is not installed (make install)"
)

CONTACTS = (
    "phone,name,email,company\n"
    "(212) 736-5000,Jane Doe,jane@acme.com,Acme\n"
    "+1 650 253 0000,John Smith,john@widget.co,Widget\n"
    "415.555.2671,Ann Lee,,\n"
    "(212) 736-5000,Jane Again,,\n"
    "12345,Bad Number,,\n"
    "+1 415 555 0199,Wrong Mail,not-an-address,\n"
)
COUNT_NAMES = ("total_rows", "created", "skipped_duplicates", "invalid")
SCRIPT = "<script>window.__injected = true</script>"
IMAGE = '<img src=x onerror="window.__injected = true">'


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with playwright_api.sync_playwright() as playwright:
        chromium = launch(playwright)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(accept_downloads=True, viewport={"width": 1100, "height": 800})
    page = context.new_page()
    page.set_default_timeout(STEP_TIMEOUT_MS)
    problems: list[str] = []
    page.on("pageerror", lambda error: problems.append(str(error)))
    page.on("dialog", lambda dialog: (problems.append(f"dialog: {dialog.message}"), dialog.dismiss()))
    page.problems = problems
    yield page
    context.close()


def _open(page: Any, stack: LocalStackHandle, account: OwnAccount, list_id: str) -> None:
    page.goto(stack.url(f"/importer#token={account.api_key}&list_id={list_id}"))
    page.wait_for_selector("contacts-importer input[type=file]")


def _counts(page: Any) -> dict[str, int]:
    page.wait_for_selector('[data-count="created"]')
    return {
        name: int(page.text_content(f'[data-count="{name}"]'))
        for name in COUNT_NAMES
        if page.query_selector(f'[data-count="{name}"]')
    }


def _validate(path: Path) -> dict[str, Any]:
    done = subprocess.run(
        [venv_script("contacts-import"), "validate", str(path), "--json"], capture_output=True, text=True, check=True
    )
    return json.loads(done.stdout)


def test_pick_a_file_and_import_counts_equal_validate_and_the_error_csv_downloads(
    local_stack: LocalStackHandle, own_account: OwnAccount, page: Any, tmp_path: Path
) -> None:
    path = tmp_path / "contacts.csv"
    path.write_text(CONTACTS, encoding="utf-8")
    list_id = new_list("importer")
    _open(page, local_stack, own_account, list_id)
    page.evaluate("document.addEventListener('import:completed', (e) => { window.__completed = e.detail; })")
    import_button = page.get_by_role("button", name="Import", exact=True)
    assert import_button.is_disabled()  # nothing to import before a file is chosen
    screenshot(page, "1-open")

    page.set_input_files("input[type=file]", str(path))
    assert import_button.is_enabled()  # the suggested mapping as it is: no other input needed
    screenshot(page, "2-file-chosen")
    import_button.click()
    counts = _counts(page)
    screenshot(page, "3-summary")

    expected = _validate(path)["counts"]
    assert counts == {name: expected[name] for name in COUNT_NAMES}
    assert page.get_attribute("[role=progressbar]", "aria-valuenow") == "100"
    completed = page.evaluate("window.__completed")
    assert completed["status"] == "completed" and completed["counts"]["created"] == expected["created"]
    # Row errors in words a person reads, not codes: in the summary (the preview shows them too).
    summary_errors = page.locator("table", has_text="The first row errors")
    assert summary_errors.get_by_text(
        "Row 6: the phone number “12345” is not a number that can be called."
    ).is_visible()
    assert summary_errors.get_by_text("Row 7: the e-mail address “not-an-address” is not a valid address.").is_visible()

    with page.expect_download() as download:
        page.get_by_role("button", name="Download the error CSV").click()
    downloaded = Path(download.value.path()).read_bytes()
    served = requests.get(
        local_stack.url(f"/imports/{completed['job_id']}/errors"),
        headers={**own_account.authorization, "Accept": "text/csv"},
        timeout=30,
    ).content
    assert downloaded == served  # byte for byte the service's report
    assert b"invalid_phone" in downloaded and b"invalid_email" in downloaded
    assert page.problems == []


def test_markup_in_cells_is_shown_as_text(
    local_stack: LocalStackHandle, own_account: OwnAccount, page: Any, tmp_path: Path
) -> None:
    path = tmp_path / "markup.csv"
    # The markup is in the phone column: the row is refused, and its value shown in the errors table.
    with path.open("w", encoding="utf-8", newline="") as file:
        csv.writer(file).writerows([["phone", "name"], [SCRIPT, "a"], [IMAGE, "b"], ["+1 650 253 0000", SCRIPT]])
    _open(page, local_stack, own_account, new_list("markup"))
    page.set_input_files("input[type=file]", str(path))
    page.get_by_role("button", name="Import", exact=True).click()
    assert _counts(page)["invalid"] == 2
    screenshot(page, "4-markup-as-text")

    importer = page.locator("contacts-importer")
    text = importer.text_content()
    assert SCRIPT in text and IMAGE in text
    assert importer.locator("script, img").count() == 0
    assert page.evaluate("window.__injected === undefined")
    assert page.problems == []


def test_keyboard_only(local_stack: LocalStackHandle, own_account: OwnAccount, page: Any, tmp_path: Path) -> None:
    path = tmp_path / "keyboard.csv"
    path.write_text(CONTACTS, encoding="utf-8")
    _open(page, local_stack, own_account, new_list("keyboard"))

    def focused() -> dict[str, str]:
        return page.evaluate(
            """() => { const e = document.activeElement; const s = getComputedStyle(e);
                 return {tag: e.tagName.toLowerCase(), type: e.type || '', text: e.textContent.trim(),
                         label: e.labels && e.labels[0] ? e.labels[0].textContent : '',
                         outline: s.outlineStyle, width: s.outlineWidth}; }"""
        )

    page.keyboard.press("Tab")
    assert focused()["type"] == "file"
    assert focused()["label"] == "File of contacts"
    assert focused()["outline"] != "none"  # the focus is visible
    screenshot(page, "5-keyboard-focus")
    with page.expect_file_chooser() as chooser:
        page.keyboard.press("Space")
    chooser.value.set_files(str(path))

    # Tab on to Import, past the controls between: each labelled, each with a visible focus.
    for _ in range(6):
        page.keyboard.press("Tab")
        now = focused()
        assert now["outline"] != "none", now
        if now["tag"] == "button" and now["text"] == "Import":
            break
    else:
        raise AssertionError(f"Tab never reached the Import button; last focus {now}")
    page.keyboard.press("Enter")
    counts = _counts(page)
    assert counts["created"] == _validate(path)["counts"]["created"]
    # The summary takes the focus, so that a screen reader reads it; the error CSV is a Tab away.
    assert focused()["tag"] == "h2"
    page.keyboard.press("Tab")
    assert focused()["text"] == "Download the error CSV"
    with page.expect_download() as download:
        page.keyboard.press("Enter")
    assert "invalid_phone" in Path(download.value.path()).read_text(encoding="utf-8")
    # Progress and errors are announced: live regions, and a progress bar with its value.
    assert page.locator("contacts-importer [role=status][aria-live=polite]").count() == 1
    assert page.locator("contacts-importer [role=alert]").count() == 1
    assert page.locator("[role=progressbar][aria-valuenow]").count() == 1


def test_the_page_sends_its_content_security_policy_and_the_browser_enforces_it(
    local_stack: LocalStackHandle, own_account: OwnAccount, page: Any
) -> None:
    response = page.goto(local_stack.url(f"/importer#token={own_account.api_key}&list_id=default"))
    policy = response.headers["content-security-policy"]
    directives = dict(d.strip().split(" ", 1) for d in policy.split(";"))
    assert directives["default-src"] == "'none'"
    assert directives["script-src"] == "'self'"
    assert directives["style-src"] == "'self'"
    assert directives["connect-src"].split() == ["'self'", local_stack.aws_endpoint]
    assert response.headers["x-content-type-options"] == "nosniff"
    page.wait_for_selector("contacts-importer input[type=file]")
    # The component's styles apply under it (a constructed stylesheet, no inline style)...
    assert page.evaluate("getComputedStyle(document.querySelector('contacts-importer')).display") == "block"
    # ...and an inline script, or a connection to any other origin, is refused.
    refused = page.evaluate(
        """() => new Promise((resolve) => {
             const seen = [];
             document.addEventListener('securitypolicyviolation', (e) => {
               seen.push(e.effectiveDirective); if (seen.length === 2) resolve(seen.sort()); });
             const script = document.createElement('script');
             script.textContent = 'window.__inline = true';
             document.body.append(script);
             fetch('http://127.0.0.1:9/elsewhere').catch(() => {});
           })"""
    )
    assert refused == ["connect-src", "script-src-elem"]
    assert page.evaluate("window.__inline === undefined")
    script = requests.get(local_stack.url("/importer.js"), timeout=30)
    assert script.headers["Content-Type"].startswith("text/javascript")
    assert script.headers["Access-Control-Allow-Origin"] == "*"  # CorsAllowedOrigin's default


@pytest.fixture
def embedding_site(local_stack: LocalStackHandle, own_account: OwnAccount, tmp_path: Path) -> Iterator[str]:
    """A product's page on another origin (127.0.0.1, a port of its own) that embeds the component
    with one script tag, as docs/importer.md shows."""
    list_id = new_list("embedded")
    (tmp_path / "index.html").write_text(
        f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>A product</title>'
        f'<script type="module" src="{local_stack.url("/importer.js")}"></script></head><body>'
        f'<contacts-importer token="{own_account.api_key}" list-id="{list_id}"></contacts-importer></body></html>',
        encoding="utf-8",
    )
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(tmp_path))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/index.html"
    finally:
        server.shutdown()
        server.server_close()


def test_the_component_embedded_in_another_origins_page_imports_through_cors(
    embedding_site: str, page: Any, tmp_path: Path
) -> None:
    path = tmp_path / "embedded.csv"
    path.write_text(CONTACTS, encoding="utf-8")
    page.goto(embedding_site)
    page.evaluate("document.addEventListener('import:completed', (e) => { window.__completed = e.detail; })")
    page.set_input_files("contacts-importer input[type=file]", str(path))
    page.get_by_role("button", name="Import", exact=True).click()
    counts = _counts(page)
    assert counts == {name: _validate(path)["counts"][name] for name in COUNT_NAMES}
    assert page.evaluate("window.__completed.status") == "completed"
    assert page.problems == []
