"""Security settings of template.yaml that no other test would notice missing."""

from __future__ import annotations

from pathlib import Path

from contacts_import.api.importer_routes import OPEN_ROUTES
from local_stack.template import load_template

TEMPLATE = load_template(Path(__file__).resolve().parents[2] / "template.yaml")


def test_no_function_logs_its_events():
    for function in TEMPLATE.functions.values():
        assert function.environment.get("POWERTOOLS_LOGGER_LOG_EVENT") == "false", function.logical_id


def test_each_account_is_throttled_by_the_usage_plan_under_the_stage_throttle():
    api = TEMPLATE.apis["ContactsApi"]
    (plan,) = api.usage_plans
    (stage,) = api.throttles
    assert api.api_key_source == "AUTHORIZER" and api.api_key_required
    # Every route but the importer's page and script, which load without a key (docs/importer.md).
    keyed = [route for route in TEMPLATE.routes if route.path not in OPEN_ROUTES]
    assert keyed and all(route.api_key_required and route.authorizer for route in keyed)
    assert plan.rate_limit and plan.burst_limit
    assert plan.rate_limit < stage.rate_limit and plan.burst_limit < stage.burst_limit
    assert {"THROTTLED", "INVALID_API_KEY"} <= set(api.gateway_responses)
    assert api.gateway_responses["THROTTLED"].headers["Retry-After"] == "'1'"
    assert "AccountUsagePlanId" in TEMPLATE.outputs


def test_only_the_importer_page_and_script_load_without_a_key():
    open_routes = {(r.path, r.method): r for r in TEMPLATE.routes if not r.api_key_required or not r.authorizer}
    assert set(open_routes) == {(path, "GET") for path in OPEN_ROUTES}
    assert {r.function_id for r in open_routes.values()} == {"ImporterPageFunction"}
