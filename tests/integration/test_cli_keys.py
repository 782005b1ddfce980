"""`contacts-import keys create` against moto: the stored item is the key's hash, its account and
scopes, in the table the template names (local stack), a stack output names, or --table names."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
from moto import mock_aws
from moto.server import ThreadedMotoServer

from contacts_import.auth.keys import ALL_SCOPES, hash_api_key, usage_identifier_key
from contacts_import_cli.main import main
from local_stack.resources import create_stack_resources
from local_stack.template import StackTemplate, load_template

ROOT = Path(__file__).resolve().parents[2]
REGION = "us-east-1"


@pytest.fixture(scope="module")
def template() -> StackTemplate:
    return load_template(ROOT / "template.yaml")


@pytest.fixture
def aws_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    monkeypatch.delenv("CONTACTS_API_KEYS_TABLE", raising=False)
    monkeypatch.chdir(ROOT)


def stored_item(table: object, api_key: str) -> dict:
    return table.get_item(Key={"key_hash": hash_api_key(api_key)})["Item"]  # type: ignore[attr-defined]


@pytest.mark.usefixtures("aws_environment")
def test_key_stored_in_the_named_table(template: StackTemplate, capsys: pytest.CaptureFixture[str]) -> None:
    with mock_aws():
        created = create_stack_resources(template, boto3.session.Session())
        table_name = created.tables["ApiKeysTable"]

        code = main(["keys", "create", "--account", "acme", "--table", table_name])

        captured = capsys.readouterr()
        api_key = captured.out.split()[-1]
        item = stored_item(boto3.resource("dynamodb", region_name=REGION).Table(table_name), api_key)
    assert code == 0
    assert api_key.startswith("cik_") and api_key not in json.dumps(item)
    assert item["account_id"] == "acme"
    assert item["scopes"] == list(ALL_SCOPES)
    assert item["key_hint"] == api_key[-4:]
    assert "shown once" in captured.err


@pytest.mark.usefixtures("aws_environment")
def test_key_with_chosen_scopes_as_json_in_the_table_a_stack_output_names(
    capsys: pytest.CaptureFixture[str],
) -> None:
    stack_template = {
        "Resources": {
            "Keys": {
                "Type": "AWS::DynamoDB::Table",
                "Properties": {
                    "TableName": "prod-api-keys",
                    "BillingMode": "PAY_PER_REQUEST",
                    "AttributeDefinitions": [{"AttributeName": "key_hash", "AttributeType": "S"}],
                    "KeySchema": [{"AttributeName": "key_hash", "KeyType": "HASH"}],
                },
            }
        },
        "Outputs": {"ApiKeysTableName": {"Value": {"Ref": "Keys"}}},
    }
    with mock_aws():
        boto3.client("cloudformation", region_name=REGION).create_stack(
            StackName="contacts-prod", TemplateBody=json.dumps(stack_template)
        )

        code = main(
            ["keys", "create", "--account", "acme", "--stack", "contacts-prod", "--scopes", "imports:read", "--json"]
        )

        document = json.loads(capsys.readouterr().out)
        item = stored_item(boto3.resource("dynamodb", region_name=REGION).Table("prod-api-keys"), document["api_key"])
    assert code == 0
    assert document["table"] == "prod-api-keys"
    assert document["scopes"] == ["imports:read"] == item["scopes"]
    assert item["account_id"] == "acme"


@pytest.mark.usefixtures("aws_environment")
def test_a_stack_without_the_output_or_a_missing_table_is_explained(capsys: pytest.CaptureFixture[str]) -> None:
    with mock_aws():
        assert main(["keys", "create", "--account", "acme", "--stack", "nope"]) == 3
        assert "stack nope" in capsys.readouterr().err
        assert main(["keys", "create", "--account", "acme", "--table", "no-such-table"]) == 3
        assert "no-such-table" in capsys.readouterr().err


@pytest.fixture
def moto_server() -> Iterator[str]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.stop()


@pytest.mark.usefixtures("aws_environment")
def test_local_stack_default_reads_the_template_and_uses_the_endpoint(
    template: StackTemplate, moto_server: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    session = boto3.session.Session(region_name=template.account.region)
    created = create_stack_resources(template, session, endpoint_url=moto_server)
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_server)
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")  # the client brings its fake ones
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")

    code = main(["keys", "create", "--account", "local-2"])

    captured = capsys.readouterr()
    api_key = captured.out.split()[-1]
    table = session.resource("dynamodb", endpoint_url=moto_server).Table(created.tables["ApiKeysTable"])
    assert code == 0
    assert stored_item(table, api_key)["account_id"] == "local-2"
    assert moto_server in captured.err


@pytest.mark.usefixtures("aws_environment")
def test_local_stack_not_running_says_so(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://127.0.0.1:{port}")

    assert main(["keys", "create", "--account", "acme"]) == 3
    assert "is `make local` running?" in capsys.readouterr().err


@pytest.mark.usefixtures("aws_environment")
def test_a_deployed_stack_gets_the_account_registered_in_its_usage_plan_once(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with mock_aws():
        apigateway = boto3.client("apigateway", region_name=REGION)
        plan_id = apigateway.create_usage_plan(name="per-account", throttle={"rateLimit": 20, "burstLimit": 40})["id"]
        keys_table = {
            "Type": "AWS::DynamoDB::Table",
            "Properties": {
                "TableName": "prod-api-keys",
                "BillingMode": "PAY_PER_REQUEST",
                "AttributeDefinitions": [{"AttributeName": "key_hash", "AttributeType": "S"}],
                "KeySchema": [{"AttributeName": "key_hash", "KeyType": "HASH"}],
            },
        }
        boto3.client("cloudformation", region_name=REGION).create_stack(
            StackName="contacts-prod",
            TemplateBody=json.dumps(
                {
                    "Resources": {"Keys": keys_table},
                    "Outputs": {
                        "ApiKeysTableName": {"Value": {"Ref": "Keys"}},
                        "AccountUsagePlanId": {"Value": plan_id},
                    },
                }
            ),
        )

        for account in ("acme", "acme", "acme2"):
            assert main(["keys", "create", "--account", account, "--stack", "contacts-prod", "--json"]) == 0
            document = json.loads(capsys.readouterr().out)
            assert document["usage_plan_key_id"]

        keys = apigateway.get_api_keys(includeValues=True)["items"]
        plan_keys = apigateway.get_usage_plan_keys(usagePlanId=plan_id)["items"]
    assert sorted(k["value"] for k in keys) == sorted([usage_identifier_key("acme"), usage_identifier_key("acme2")])
    assert {k["id"] for k in plan_keys} == {k["id"] for k in keys}


@pytest.mark.usefixtures("aws_environment")
def test_without_a_usage_plan_a_deployed_key_comes_with_a_warning(
    template: StackTemplate, capsys: pytest.CaptureFixture[str]
) -> None:
    with mock_aws():
        created = create_stack_resources(template, boto3.session.Session())
        assert main(["keys", "create", "--account", "acme", "--table", created.tables["ApiKeysTable"]]) == 0
    assert "CONTACTS_USAGE_PLAN_ID" in capsys.readouterr().err
