"""``contacts-import-local invoke`` (what ``make invoke`` runs): one function, one event, its result
as JSON on stdout, its logs on stderr, and a non-zero exit when it fails, as ``sam local invoke``."""

from __future__ import annotations

import json
import subprocess
import textwrap
from pathlib import Path

import pytest

from tests.e2e.stack import console_script, free_port

pytestmark = pytest.mark.e2e

TEMPLATE = """
Resources:
  Greeter:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: greeter/
      Handler: app.handler
      Environment:
        Variables:
          GREETING: hello
"""

HANDLER = """
import os

def handler(event, context):
    print("greeting", event.get("name"))
    if event.get("fail"):
        raise KeyError("name")
    return {"message": f"{os.environ['GREETING']}, {event['name']}", "function": context.function_name}
"""


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "template.yaml").write_text(TEMPLATE, encoding="utf-8")
    (tmp_path / "greeter").mkdir()
    (tmp_path / "greeter" / "app.py").write_text(textwrap.dedent(HANDLER), encoding="utf-8")
    return tmp_path


def _invoke(project: Path, function: str, event: dict[str, object]) -> subprocess.CompletedProcess[str]:
    event_file = project / "event.json"
    event_file.write_text(json.dumps(event), encoding="utf-8")
    return subprocess.run(
        [
            console_script(),
            "invoke",
            "--template",
            str(project / "template.yaml"),
            "--function",
            function,
            "--event",
            str(event_file),
            "--aws-endpoint",
            f"http://127.0.0.1:{free_port()}",
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def test_invoke_prints_the_result(project: Path) -> None:
    completed = _invoke(project, "Greeter", {"name": "Ada"})
    assert completed.returncode == 0, completed.stderr
    assert json.loads(completed.stdout) == {"message": "hello, Ada", "function": "contacts-import-local-Greeter"}
    assert "[Greeter] greeting Ada" in completed.stderr


def test_invoke_reports_the_error_and_fails(project: Path) -> None:
    completed = _invoke(project, "Greeter", {"fail": True})
    assert completed.returncode == 1
    error = json.loads(completed.stdout)
    assert (error["errorType"], error["errorMessage"]) == ("KeyError", "'name'")
    assert "[Greeter] [ERROR] KeyError" in completed.stderr


def test_invoke_of_an_unknown_function(project: Path) -> None:
    completed = _invoke(project, "Nobody", {})
    assert completed.returncode == 2
    assert "Greeter" in completed.stderr
