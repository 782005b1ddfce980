"""``keys create``: a new API key for an account, stored as its hash in the stack's keys table.

Which table, first match wins:

1. ``--table NAME``, or ``--stack NAME`` (the ``ApiKeysTableName`` output of a deployed
   CloudFormation stack). Endpoint, region and credentials are boto3's usual ones
   (``AWS_PROFILE``, ``AWS_REGION``, ``AWS_ENDPOINT_URL``, ...).
2. ``CONTACTS_API_KEYS_TABLE``, reached the same way.
3. The local stack, found as a deployed stack is: its AWS endpoint (``AWS_ENDPOINT_URL`` or
   ``http://127.0.0.1:4566``) answers CloudFormation ``DescribeStacks`` for the stack
   ``contacts-import-local`` with the template's outputs, and the stack id names its region. The
   credentials are the environment's, or the fake ``testing`` when none are set there.

The key itself is never stored; it is shown once.

``keys webhook-secret`` and ``keys drop-writer`` set what the accounts table holds for an account
(``store.accounts``): a new webhook signing secret (its id stored, the secret derived with the
stack's KMS HMAC key and shown once), and the principals whose drop-folder objects import into
it. They find the table and the key as ``keys create`` finds its table: ``--stack NAME`` (the
``AccountsTableName`` and ``WebhookSigningKeyAlias`` outputs), ``CONTACTS_ACCOUNTS_TABLE`` with
``CONTACTS_WEBHOOK_SIGNING_KEY``, else the local stack's outputs.

Deployed, API Gateway also throttles each account through a usage plan, by a usage identifier the
authorizer derives from the account (``usage_identifier_key``). That identifier must be one of the
plan's API Gateway keys, so for a deployed stack (``--stack``: its ``AccountUsagePlanId`` output;
with ``--table``: ``CONTACTS_USAGE_PLAN_ID``) the account's identifier is registered in the plan
too, once per account. The local stack needs no registration.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    EndpointConnectionError,
    NoCredentialsError,
    NoRegionError,
)

from contacts_import.auth.keys import ApiKeyRecord, new_api_key, record_for_key, usage_identifier_key
from contacts_import.auth.webhook_secrets import WebhookSecretDeriver, new_secret_id
from contacts_import.store.accounts import AccountStore
from contacts_import.store.api_keys import ApiKeyStore
from contacts_import_cli.errors import CliError, ExitCode, Unreachable

KEYS_TABLE_OUTPUT = "ApiKeysTableName"  # the template output that names it in a deployed stack
KEYS_TABLE_ENV = "CONTACTS_API_KEYS_TABLE"
USAGE_PLAN_OUTPUT = "AccountUsagePlanId"  # the template output that names the per-account usage plan
USAGE_PLAN_ENV = "CONTACTS_USAGE_PLAN_ID"
ACCOUNTS_TABLE_OUTPUT = "AccountsTableName"
SIGNING_KEY_OUTPUT = "WebhookSigningKeyAlias"
ACCOUNTS_TABLE_ENV = "CONTACTS_ACCOUNTS_TABLE"
SIGNING_KEY_ENV = "CONTACTS_WEBHOOK_SIGNING_KEY"
# The local stack's name (``LocalAccount`` in local/local_stack/template.py).
LOCAL_STACK_NAME = "contacts-import-local"
LOCAL_AWS_ENDPOINT = "http://127.0.0.1:4566"  # the local stack's AWS endpoint (the README: The two commands)
LOCAL_FAKE_CREDENTIAL = "testing"


@dataclass(frozen=True)
class KeysTable:
    """Where a key goes: a table name, and the boto3 session and endpoint that reach it."""

    name: str
    session: Any  # boto3.session.Session
    endpoint_url: str | None  # None: boto3 decides (AWS, or AWS_ENDPOINT_URL)
    where: str  # for people: "local stack at http://127.0.0.1:4566", "stack prod (eu-west-1)"
    local: bool = False
    usage_plan_id: str | None = None  # where the account's usage identifier is registered (deployed)


def locate_keys_table(*, table: str | None, stack: str | None, environ: Mapping[str, str]) -> KeysTable:
    usage_plan = environ.get(USAGE_PLAN_ENV) or None
    if table:
        return KeysTable(table, boto3.session.Session(), None, "--table", usage_plan_id=usage_plan)
    if stack:
        return _deployed_stack_table(stack)
    if environ.get(KEYS_TABLE_ENV):
        session = boto3.session.Session()
        return KeysTable(environ[KEYS_TABLE_ENV], session, None, KEYS_TABLE_ENV, usage_plan_id=usage_plan)
    return _local_stack_table(environ)


def _deployed_stack_table(stack: str) -> KeysTable:
    session = boto3.session.Session()
    outputs = _stack_outputs(session, stack)
    if KEYS_TABLE_OUTPUT not in outputs:
        raise CliError(f"stack {stack} has no output {KEYS_TABLE_OUTPUT}: is it this project's stack?")
    return KeysTable(
        outputs[KEYS_TABLE_OUTPUT],
        session,
        None,
        f"stack {stack} ({session.region_name})",
        usage_plan_id=outputs.get(USAGE_PLAN_OUTPUT),
    )


def _local_stack_table(environ: Mapping[str, str]) -> KeysTable:
    outputs, session, endpoint = _local_stack(environ, f"pass --table NAME, --stack NAME or set {KEYS_TABLE_ENV}")
    if KEYS_TABLE_OUTPUT not in outputs:
        raise CliError(f"the local stack at {endpoint} has no output {KEYS_TABLE_OUTPUT}")
    return KeysTable(outputs[KEYS_TABLE_OUTPUT], session, endpoint, f"local stack at {endpoint}", local=True)


def _local_stack(environ: Mapping[str, str], hint: str) -> tuple[dict[str, str], Any, str]:
    """The local stack's outputs, a session in its region for its endpoint, and the endpoint."""
    endpoint = environ.get("AWS_ENDPOINT_URL") or LOCAL_AWS_ENDPOINT

    def session_in(region: str) -> Any:
        # The local endpoint takes any credentials, but boto3 will not sign without some. Only
        # the environment's are used: looking further (profiles, SSO, instance metadata) is slow
        # or interactive, and real credentials buy nothing against a local endpoint.
        return boto3.session.Session(
            aws_access_key_id=environ.get("AWS_ACCESS_KEY_ID") or LOCAL_FAKE_CREDENTIAL,
            aws_secret_access_key=environ.get("AWS_SECRET_ACCESS_KEY") or LOCAL_FAKE_CREDENTIAL,
            aws_session_token=environ.get("AWS_SESSION_TOKEN") or None,
            region_name=region,
        )

    asking = session_in(environ.get("AWS_REGION") or environ.get("AWS_DEFAULT_REGION") or "us-east-1")
    try:
        client = asking.client("cloudformation", endpoint_url=endpoint)
        stacks = client.describe_stacks(StackName=LOCAL_STACK_NAME)["Stacks"]
    except (ClientError, BotoCoreError) as error:
        problem = _aws_problem(error, f"the local stack at {endpoint}", local=True)
        raise type(problem)(f"{problem}; {hint}") from None
    stack = stacks[0]
    region = str(stack["StackId"]).split(":")[3]  # arn:aws:cloudformation:<region>:<account>:stack/...
    outputs = {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}
    return outputs, session_in(region), endpoint


# ------------------------------------------------------------------------------ the accounts table


@dataclass(frozen=True)
class AccountsTarget:
    """Where an account's settings go: the accounts table, the signing key, and how to reach them."""

    table: str
    signing_key: str
    session: Any
    endpoint_url: str | None
    where: str
    local: bool = False

    def store(self) -> AccountStore:
        return AccountStore(self.session.resource("dynamodb", endpoint_url=self.endpoint_url), self.table)

    def deriver(self) -> WebhookSecretDeriver:
        return WebhookSecretDeriver(self.session.client("kms", endpoint_url=self.endpoint_url), self.signing_key)


def locate_accounts(*, stack: str | None, environ: Mapping[str, str]) -> AccountsTarget:
    if stack:
        session = boto3.session.Session()
        outputs = _stack_outputs(session, stack)
        if ACCOUNTS_TABLE_OUTPUT not in outputs or SIGNING_KEY_OUTPUT not in outputs:
            raise CliError(f"stack {stack} has no outputs {ACCOUNTS_TABLE_OUTPUT} and {SIGNING_KEY_OUTPUT}")
        where = f"stack {stack} ({session.region_name})"
        return AccountsTarget(outputs[ACCOUNTS_TABLE_OUTPUT], outputs[SIGNING_KEY_OUTPUT], session, None, where)
    if environ.get(ACCOUNTS_TABLE_ENV) and environ.get(SIGNING_KEY_ENV):
        session = boto3.session.Session()
        return AccountsTarget(environ[ACCOUNTS_TABLE_ENV], environ[SIGNING_KEY_ENV], session, None, ACCOUNTS_TABLE_ENV)
    hint = f"pass --stack NAME or set {ACCOUNTS_TABLE_ENV} and {SIGNING_KEY_ENV}"
    outputs, session, endpoint = _local_stack(environ, hint)
    if ACCOUNTS_TABLE_OUTPUT not in outputs or SIGNING_KEY_OUTPUT not in outputs:
        raise CliError(f"the local stack has no outputs {ACCOUNTS_TABLE_OUTPUT} and {SIGNING_KEY_OUTPUT}; {hint}")
    table, key = outputs[ACCOUNTS_TABLE_OUTPUT], outputs[SIGNING_KEY_OUTPUT]
    return AccountsTarget(table, key, session, endpoint, f"local stack at {endpoint}", local=True)


def _stack_outputs(session: Any, stack: str) -> dict[str, str]:
    try:
        described = session.client("cloudformation").describe_stacks(StackName=stack)
    except (ClientError, BotoCoreError) as error:
        raise _aws_problem(error, f"stack {stack}") from None
    return {o["OutputKey"]: o["OutputValue"] for s in described["Stacks"] for o in s.get("Outputs", [])}


def new_webhook_secret(target: AccountsTarget, account_id: str, grace: timedelta) -> tuple[str, str]:
    """A new signing secret for the account (the ones before verify for ``grace`` more): the
    secret, shown once, and its id, stored."""
    secret_id = new_secret_id()
    try:
        secret = target.deriver().secret(account_id, secret_id)  # first: no id is stored without its secret
        target.store().add_webhook_secret(account_id, secret_id, datetime.now(UTC), grace)
    except (ClientError, BotoCoreError) as error:
        raise _aws_problem(
            error, f"{target.table} and {target.signing_key} ({target.where})", local=target.local
        ) from None
    return secret, secret_id


def change_drop_writers(
    target: AccountsTarget, account_id: str, *, allow: Sequence[str] = (), revoke: Sequence[str] = ()
) -> set[str]:
    """Allow and revoke writers of the account's drop folder; the writers it has then."""
    store = target.store()
    try:
        for principal in allow:
            store.allow_drop_writer(account_id, principal)
        for principal in revoke:
            store.revoke_drop_writer(account_id, principal)
        return store.drop_writers(account_id)
    except (ClientError, BotoCoreError) as error:
        raise _aws_problem(error, f"table {target.table} ({target.where})", local=target.local) from None


def create_key(target: KeysTable, account_id: str, scopes: Sequence[str]) -> tuple[str, ApiKeyRecord]:
    """A new key for ``account_id``: its hash stored in ``target``, the key answered (once)."""
    api_key = new_api_key()
    record = record_for_key(api_key, account_id, tuple(scopes))
    try:
        table = target.session.resource("dynamodb", endpoint_url=target.endpoint_url).Table(target.name)
        ApiKeyStore(table).put(record)
    except (ClientError, BotoCoreError) as error:
        raise _aws_problem(error, f"table {target.name} ({target.where})", local=target.local) from None
    return api_key, record


def register_usage_key(target: KeysTable, account_id: str) -> str | None:
    """Makes the account's usage identifier a key of the deployed stack's usage plan (nothing to
    do when it already is); the API Gateway key's id, or None when the target names no plan."""
    if target.usage_plan_id is None:
        return None
    name, value = f"contacts-import-account-{account_id}", usage_identifier_key(account_id)
    try:
        client = target.session.client("apigateway", endpoint_url=target.endpoint_url)
        # nameQuery matches by prefix: the value tells this account's key from acme2's.
        found = client.get_api_keys(nameQuery=name, includeValues=True).get("items", [])
        key = next((k for k in found if k.get("value") == value), None)
        if key is None:
            key = client.create_api_key(
                name=name,
                value=value,
                enabled=True,
                description="Usage identifier of a contacts-import account; its Lambda authorizer names it.",
            )
        try:
            client.create_usage_plan_key(usagePlanId=target.usage_plan_id, keyId=key["id"], keyType="API_KEY")
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") != "ConflictException":  # already in the plan
                raise
    except (ClientError, BotoCoreError) as error:
        raise _aws_problem(error, f"usage plan {target.usage_plan_id} ({target.where})") from None
    return str(key["id"])


def _aws_problem(error: ClientError | BotoCoreError, what: str, *, local: bool = False) -> CliError:
    if isinstance(error, EndpointConnectionError):
        hint = ": is `make local` running?" if local else ""
        return Unreachable(f"no AWS endpoint at {error.kwargs.get('endpoint_url')}{hint}")
    if isinstance(error, NoCredentialsError):
        return CliError("no AWS credentials: set AWS_PROFILE or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY")
    if isinstance(error, NoRegionError):
        return CliError("no AWS region: set AWS_REGION (or AWS_DEFAULT_REGION)", exit_code=ExitCode.REFUSED)
    if isinstance(error, ClientError):
        code = error.response.get("Error", {}).get("Code", "")
        message = error.response.get("Error", {}).get("Message", str(error))
        if code == "ResourceNotFoundException":
            return CliError(f"{what} does not exist: {message}")
        return CliError(f"{what}: {code}: {message}")
    return CliError(f"{what}: {error}")
