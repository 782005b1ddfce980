"""Security settings of template.yaml that no other test would notice missing."""

from __future__ import annotations

from pathlib import Path

from local_stack.template import load_template

TEMPLATE = load_template(Path(__file__).resolve().parents[2] / "template.yaml")


def test_no_function_logs_its_events():
    for function in TEMPLATE.functions.values():
        assert function.environment.get("POWERTOOLS_LOGGER_LOG_EVENT") == "false", function.logical_id
