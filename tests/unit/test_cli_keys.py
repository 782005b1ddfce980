"""`contacts-import keys create`: which table a key goes to, and what is refused before any call.

Storing the key is tested against moto in tests/integration/test_cli_keys.py.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from contacts_import_cli.keys import LOCAL_AWS_ENDPOINT, locate_keys_table
from contacts_import_cli.main import main
from local_stack.template import load_template

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def no_aws_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.chdir(ROOT)


@pytest.mark.usefixtures("no_aws_environment")
def test_table_flag_then_environment_then_local_stack() -> None:
    environ = {"CONTACTS_API_KEYS_TABLE": "from-env"}

    assert locate_keys_table(table="from-flag", stack=None, environ=environ).name == "from-flag"
    from_env = locate_keys_table(table=None, stack=None, environ=environ)
    assert (from_env.name, from_env.endpoint_url, from_env.local) == ("from-env", None, False)
    local = locate_keys_table(table=None, stack=None, environ={})
    assert local.local


@pytest.mark.usefixtures("no_aws_environment")
def test_local_stack_table_is_the_templates_at_the_local_endpoint_with_fake_credentials() -> None:
    template = load_template(ROOT / "template.yaml")

    target = locate_keys_table(table=None, stack=None, environ={})

    assert target.name == template.tables["ApiKeysTable"].name
    assert target.endpoint_url == LOCAL_AWS_ENDPOINT == "http://127.0.0.1:4566"
    assert target.session.region_name == template.account.region
    credentials = target.session.get_credentials()
    assert (credentials.access_key, credentials.secret_key) == ("testing", "testing")


@pytest.mark.usefixtures("no_aws_environment")
def test_local_stack_endpoint_and_credentials_from_the_environment() -> None:
    environ = {
        "AWS_ENDPOINT_URL": "http://127.0.0.1:5000",
        "AWS_ACCESS_KEY_ID": "id",
        "AWS_SECRET_ACCESS_KEY": "secret",
    }

    target = locate_keys_table(table=None, stack=None, environ=environ)

    assert target.endpoint_url == "http://127.0.0.1:5000"
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
