"""Security settings of template.yaml that no other test would notice missing."""

from __future__ import annotations

from pathlib import Path

from contacts_import.api.importer_routes import OPEN_ROUTES
from local_stack.template import load_template, read_template_document

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


def test_multipart_uploads_are_the_create_functions_alone_and_only_under_uploads():
    """The role that signs part URLs lists and aborts multipart uploads under uploads/ and nowhere
    else; no other function may; and an upload never completed is aborted by the bucket."""
    document = read_template_document(Path(__file__).resolve().parents[2] / "template.yaml")
    resources = document["Resources"]
    multipart_actions = {"s3:ListMultipartUploadParts", "s3:AbortMultipartUpload"}
    granted: list[str] = []
    for logical_id, resource in resources.items():
        if resource["Type"] != "AWS::Serverless::Function":
            continue
        for policy in resource["Properties"].get("Policies", []):
            for statement in policy.get("Statement", []):
                actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
                if "s3:ListMultipartUploadParts" not in actions:
                    continue
                assert logical_id == "CreateImportFunction"
                assert set(actions) == multipart_actions
                bucket = "arn:${AWS::Partition}:s3:::${AWS::StackName}-${AWS::AccountId}-${AWS::Region}-imports"
                assert statement["Resource"] == {"Fn::Sub": bucket + "/uploads/*"}
                granted.append(logical_id)
    assert granted == ["CreateImportFunction"]
    create = resources["CreateImportFunction"]["Properties"]
    assert create["Environment"]["Variables"]["MULTIPART_PART_BYTES"]
    rules = resources["ImportsBucket"]["Properties"]["LifecycleConfiguration"]["Rules"]
    assert any(rule.get("AbortIncompleteMultipartUpload", {}).get("DaysAfterInitiation") == 1 for rule in rules)
    parameters = document["Parameters"]
    assert parameters["MaxUploadBytes"]["Default"] == 5 * 1024**3
    assert parameters["MultipartPartBytes"]["MinValue"] == 5 * 1024**2  # S3's smallest part
