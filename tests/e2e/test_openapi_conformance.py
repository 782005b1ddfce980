"""`schemathesis run --checks all` against the running local stack, driven by the API's own
/openapi.json: every check schemathesis has (no 5xx; statuses, content types, headers and bodies
the document describes; schema-valid requests accepted and schema-violating ones refused; ...)
finds no disagreement between the document and the behaviour. The one allowance the document
cannot make itself is in schemathesis.toml, which the command reads from the repository root.

Bounded: MAX_EXAMPLES per operation and phase, a fixed seed, one worker, one account of its own,
requests paced under that account's throttle so that they reach the functions instead of a 429.
"""

from __future__ import annotations

import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.stack import ROOT, LocalStackHandle, venv_script

pytestmark = pytest.mark.e2e

MAX_EXAMPLES = 12
HTTP_METHODS = frozenset({"get", "put", "post", "delete", "patch", "head", "options"})
RUN_TIMEOUT_SECONDS = 1200  # generous: it takes a few minutes on a busy two-core machine


@pytest.fixture(scope="module")
def fuzzing_key(local_stack: LocalStackHandle) -> Iterator[str]:
    """A key of an account of its own: what schemathesis creates stays out of the other tests' way."""
    api_key, key_hash = local_stack.add_api_key(f"fuzz-{uuid.uuid4().hex[:8]}")
    yield api_key
    local_stack.remove_api_key(key_hash)


@pytest.mark.timeout(RUN_TIMEOUT_SECONDS + 120)  # past the run's own bound, so that its output is kept
def test_schemathesis_with_every_check_finds_no_disagreement(
    local_stack: LocalStackHandle, fuzzing_key: str, tmp_path: Path
) -> None:
    (plan,) = local_stack.template.apis["ContactsApi"].usage_plans
    rate = max(1, int(0.7 * (plan.rate_limit or 10)))
    command = [
        venv_script("schemathesis"),
        "run",
        local_stack.url("/openapi.json"),
        "--header",
        f"Authorization: Bearer {fuzzing_key}",
        "--checks",
        "all",
        "--max-examples",
        str(MAX_EXAMPLES),
        "--seed",
        "1",
        "--workers",
        "1",
        "--rate-limit",
        f"{rate}/s",
        "--request-timeout",
        "60",
        "--generation-database",
        "none",
    ]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=RUN_TIMEOUT_SECONDS, check=False)
    (tmp_path / "schemathesis.txt").write_text(done.stdout + done.stderr, encoding="utf-8")
    assert done.returncode == 0, done.stdout[-20_000:] + done.stderr[-5_000:]
    document = local_stack.session(fuzzing_key).get(local_stack.url("/openapi.json")).json()
    operations = sum(  # schemathesis leaves out the document's own route
        method in HTTP_METHODS for path, item in document["paths"].items() if path != "/openapi.json" for method in item
    )
    assert f"Tested: {operations}\n" in done.stdout, done.stdout[-5_000:]  # every operation of the document
