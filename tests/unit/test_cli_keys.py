"""`contacts-import keys create`: which table a key goes to, and what is refused before any call.

Storing the key is tested against moto in tests/integration/test_cli_keys.py.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from contacts_import_cli.keys import LOCAL_STACK_NAME, locate_accounts, locate_keys_table
from contacts_import_cli.main import main
from local_stack.aws_endpoint import AwsEndpoint
from local_stack.stack import describe_local_stack
from local_stack.stack_description import LocalStackDescription
from local_stack.template import LocalAccount, load_template
from tests.wsgi_server import serving

ROOT = Path(__file__).resolve().parents[2]
# A region of its own, so that the test shows the client takes the region from the stack's id.
STACK_REGION = "eu-west-2"


def _nothing_else(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    start_response("404 Not Found", [("Content-Length", "0")])
    return []


@pytest.fixture
def local_endpoint() -> Iterator[tuple[str, LocalStackDescription]]:
    """An AWS endpoint that describes the local stack, as the local stack's does; its URL."""
    template = load_template(ROOT / "template.yaml", account=LocalAccount(region=STACK_REGION))
    description = describe_local_stack(template)
    with serving(AwsEndpoint(_nothing_else, None, description)) as url:
        yield url, description


@pytest.fixture
def no_aws_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.chdir(ROOT)


@pytest.mark.usefixtures("no_aws_environment")
def test_table_flag_then_environment_then_local_stack(local_endpoint: tuple[str, LocalStackDescription]) -> None:
    url, _ = local_endpoint
    environ = {"CONTACTS_API_KEYS_TABLE": "from-env"}

    assert locate_keys_table(table="from-flag", stack=None, environ=environ).name == "from-flag"
    from_env = locate_keys_table(table=None, stack=None, environ=environ)
    assert (from_env.name, from_env.endpoint_url, from_env.local) == ("from-env", None, False)
    local = locate_keys_table(table=None, stack=None, environ={"AWS_ENDPOINT_URL": url})
    assert local.local


@pytest.mark.usefixtures("no_aws_environment")
def test_the_local_stack_is_found_by_its_outputs_in_its_region_with_fake_credentials(
    local_endpoint: tuple[str, LocalStackDescription],
) -> None:
    url, description = local_endpoint
    assert description.stack_name == LOCAL_STACK_NAME

    target = locate_keys_table(table=None, stack=None, environ={"AWS_ENDPOINT_URL": url})

    assert target.name == description.outputs["ApiKeysTableName"]
    assert target.endpoint_url == url
    assert target.session.region_name == STACK_REGION
    credentials = target.session.get_credentials()
    assert (credentials.access_key, credentials.secret_key) == ("testing", "testing")
    accounts = locate_accounts(stack=None, environ={"AWS_ENDPOINT_URL": url})
    assert (accounts.table, accounts.signing_key) == (
        description.outputs["AccountsTableName"],
        description.outputs["WebhookSigningKeyAlias"],
    )
    assert accounts.signing_key == f"alias/{LOCAL_STACK_NAME}-webhook-signing"


@pytest.mark.usefixtures("no_aws_environment")
def test_local_stack_credentials_from_the_environment(local_endpoint: tuple[str, LocalStackDescription]) -> None:
    url, _ = local_endpoint
    environ = {"AWS_ENDPOINT_URL": url, "AWS_ACCESS_KEY_ID": "id", "AWS_SECRET_ACCESS_KEY": "secret"}

    target = locate_keys_table(table=None, stack=None, environ=environ)

    assert target.session.get_credentials().access_key == "id"


@pytest.mark.parametrize("account", ["", "has space", "-leading-dash", "a" * 65, "slash/y"])
def test_an_account_id_the_service_would_not_take_is_refused(account: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["keys", "create", f"--account={account}", "--table", "t"]) == 2
    assert "--account" in capsys.readouterr().err


def test_unknown_scope_is_a_usage_error() -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["keys", "create", "--account", "acme", "--scopes", "admin"])
    assert exit_.value.code == 2


def test_table_and_stack_exclude_each_other() -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["keys", "create", "--account", "acme", "--table", "t", "--stack", "s"])
    assert exit_.value.code == 2
