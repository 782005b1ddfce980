"""`contacts-import keys create` against DynamoDB Local (moto for CloudFormation and API Gateway):
the stored item is the key's hash, its account and scopes, in the table --table names or a stack
output names. The local stack's default (the template's table at its AWS endpoint) is an e2e test."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest

from contacts_import.auth.keys import ALL_SCOPES, hash_api_key, usage_identifier_key
from contacts_import_cli.main import main
from local_stack.dynamodb_local import DynamoDbLocal
from local_stack.resources import create_stack_resources
from local_stack.template import StackTemplate
from tests.dynamodb import moto_beside, tables_of_this_test

REGION = "us-east-1"


@pytest.fixture
def aws(
    template: StackTemplate, dynamodb_local: DynamoDbLocal, monkeypatch: pytest.MonkeyPatch
) -> Iterator[dict[str, str]]:
    """The template's resources (tables in DynamoDB Local, the rest in moto); their names by logical id."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    monkeypatch.setenv("AWS_ENDPOINT_URL_DYNAMODB", dynamodb_local.endpoint)
    monkeypatch.delenv("CONTACTS_API_KEYS_TABLE", raising=False)
    with moto_beside(dynamodb_local.endpoint), tables_of_this_test(template, dynamodb_local.endpoint):
        yield create_stack_resources(template, boto3.session.Session()).tables


def keys_table(aws: dict[str, str]) -> object:
    return boto3.resource("dynamodb", region_name=REGION).Table(aws["ApiKeysTable"])


def deployed_stack(name: str, outputs: dict[str, str]) -> None:
    """A CloudFormation stack (in moto) whose outputs name what the tables of this test hold."""
    boto3.client("cloudformation", region_name=REGION).create_stack(
        StackName=name,
        TemplateBody=json.dumps(
            {
                "Resources": {"Marker": {"Type": "AWS::SQS::Queue"}},
                "Outputs": {key: {"Value": value} for key, value in outputs.items()},
            }
        ),
    )


def stored_item(table: object, api_key: str) -> dict:
    return table.get_item(Key={"key_hash": hash_api_key(api_key)})["Item"]  # type: ignore[attr-defined]


def test_key_stored_in_the_named_table(aws: dict[str, str], capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["keys", "create", "--account", "acme", "--table", aws["ApiKeysTable"]])

    captured = capsys.readouterr()
    api_key = captured.out.split()[-1]
    item = stored_item(keys_table(aws), api_key)
    assert code == 0
    assert api_key.startswith("cik_") and api_key not in json.dumps(item)
    assert item["account_id"] == "acme"
    assert item["scopes"] == list(ALL_SCOPES)
    assert item["key_hint"] == api_key[-4:]
    assert "shown once" in captured.err


def test_key_with_chosen_scopes_as_json_in_the_table_a_stack_output_names(
    aws: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    deployed_stack("contacts-prod", {"ApiKeysTableName": aws["ApiKeysTable"]})

    arguments = ["--account", "acme", "--stack", "contacts-prod", "--scopes", "imports:read", "--json"]
    code = main(["keys", "create", *arguments])

    document = json.loads(capsys.readouterr().out)
    item = stored_item(keys_table(aws), document["api_key"])
    assert code == 0
    assert document["table"] == aws["ApiKeysTable"]
    assert document["scopes"] == ["imports:read"] == item["scopes"]
    assert item["account_id"] == "acme"


@pytest.mark.usefixtures("aws")
def test_a_stack_without_the_output_or_a_missing_table_is_explained(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["keys", "create", "--account", "acme", "--stack", "nope"]) == 3
    assert "stack nope" in capsys.readouterr().err
    assert main(["keys", "create", "--account", "acme", "--table", "no-such-table"]) == 3
    assert "no-such-table" in capsys.readouterr().err


def test_local_stack_not_running_says_so(
    aws: dict[str, str], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://127.0.0.1:{port}")
    monkeypatch.delenv("AWS_ENDPOINT_URL_DYNAMODB")
    monkeypatch.chdir(Path(__file__).resolve().parents[2])  # the local stack's template.yaml

    assert main(["keys", "create", "--account", "acme"]) == 3
    assert "is `make local` running?" in capsys.readouterr().err


def test_a_deployed_stack_gets_the_account_registered_in_its_usage_plan_once(
    aws: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    apigateway = boto3.client("apigateway", region_name=REGION)
    plan_id = apigateway.create_usage_plan(name="per-account", throttle={"rateLimit": 20, "burstLimit": 40})["id"]
    deployed_stack("contacts-prod", {"ApiKeysTableName": aws["ApiKeysTable"], "AccountUsagePlanId": plan_id})

    for account in ("acme", "acme", "acme2"):
        assert main(["keys", "create", "--account", account, "--stack", "contacts-prod", "--json"]) == 0
        document = json.loads(capsys.readouterr().out)
        assert document["usage_plan_key_id"]

    keys = apigateway.get_api_keys(includeValues=True)["items"]
    plan_keys = apigateway.get_usage_plan_keys(usagePlanId=plan_id)["items"]
    assert sorted(k["value"] for k in keys) == sorted([usage_identifier_key("acme"), usage_identifier_key("acme2")])
    assert {k["id"] for k in plan_keys} == {k["id"] for k in keys}


def test_without_a_usage_plan_a_deployed_key_comes_with_a_warning(
    aws: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["keys", "create", "--account", "acme", "--table", aws["ApiKeysTable"]]) == 0
    assert "CONTACTS_USAGE_PLAN_ID" in capsys.readouterr().err


def test_keys_webhook_secret_shows_a_secret_once_and_stores_only_its_id(
    template: StackTemplate,
    aws: dict[str, str],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from contacts_import.auth.webhook_secrets import WebhookSecretDeriver
    from contacts_import.store.accounts import AccountStore

    key_alias = template.function("ProcessImportFunction").environment["WEBHOOK_SIGNING_KEY_ID"]
    monkeypatch.setenv("CONTACTS_ACCOUNTS_TABLE", aws["AccountsTable"])
    monkeypatch.setenv("CONTACTS_WEBHOOK_SIGNING_KEY", key_alias)

    assert main(["keys", "webhook-secret", "--account", "acme", "--json"]) == 0
    first = json.loads(capsys.readouterr().out)
    assert main(["keys", "webhook-secret", "--account", "acme", "--grace-hours", "2", "--json"]) == 0
    second = json.loads(capsys.readouterr().out)

    table = boto3.resource("dynamodb", region_name=REGION).Table(aws["AccountsTable"])
    item = table.get_item(Key={"account_id": "acme"})["Item"]
    deriver = WebhookSecretDeriver(boto3.client("kms", region_name=REGION), key_alias)
    derived = [deriver.secret("acme", entry["secret_id"]) for entry in item["webhook_secrets"]]

    assert main(["keys", "drop-writer", "--account", "acme", "--allow", "AWS:AROAX:sftp-acme", "--json"]) == 0
    writers = json.loads(capsys.readouterr().out)["drop_writers"]
    store = AccountStore(boto3.resource("dynamodb", region_name=REGION), aws["AccountsTable"])
    assert main(["keys", "drop-writer", "--account", "acme", "--revoke", "AWS:AROAX:sftp-acme"]) == 0
    after = store.drop_writers("acme")
    assert first["secret"].startswith("whsec_") and first["secret"] != second["secret"]
    assert derived == [second["secret"], first["secret"]], "newest first; the one before still verifies"
    assert first["secret"] not in json.dumps(item, default=str) and second["secret"] not in json.dumps(
        item, default=str
    )
    assert item["webhook_secrets"][1]["retires_at"] is not None and item["webhook_secrets"][0]["retires_at"] is None
    assert writers == ["AWS:AROAX:sftp-acme"] and after == set()
