"""Helpers of the browser tests: the operating system's Chromium, driven by Playwright.

Playwright's own browser download cannot work here (and need not): it launches Debian's
``chromium`` (``make browser`` installs it). When either is missing the tests skip with one line
that says what to install.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.stack import ROOT

CHROMIUM_NAMES = ("chromium", "chromium-browser")
SCREENSHOTS = ROOT / "docs" / "importer"
# The page on a slow, busy machine: a job's status is polled once a second.
STEP_TIMEOUT_MS = 120_000


def chromium_path() -> str | None:
    return next((found for name in CHROMIUM_NAMES if (found := shutil.which(name))), None)


def launch(playwright: Any) -> Any:
    executable = chromium_path()
    if executable is None:
        pytest.skip("browser tests skipped: no chromium on PATH (apt-get install chromium chromium-driver)")
    # --no-sandbox: the tests run as root in CI, where Chromium's sandbox refuses to start.
    return playwright.chromium.launch(executable_path=executable, args=["--no-sandbox"])


def screenshot(page: Any, name: str) -> Path:
    """A picture of the page for docs/importer.md, kept in docs/importer/."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
