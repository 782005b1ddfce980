"""End-to-end tier: HTTP and AWS calls against the real local stack.

The session fixture ``local_stack`` starts ``contacts-import-local`` (the console script of the
venv) on free ports, waits for ``GET /health`` to answer 200, and stops it at the end (SIGINT,
then SIGKILL if it lingers). Its output goes to a log file whose tail is shown when start-up fails.
Its DynamoDB is the run's one DynamoDB Local (``--dynamodb-endpoint``); a stack started with other
parameters has a stack name, and so table names, of its own.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator

import pytest

from contacts_import.auth.keys import ALL_SCOPES
from local_stack.dynamodb_local import DynamoDbLocal
from tests.e2e.stack import LocalStackHandle, OwnAccount, running_stack


@pytest.fixture(scope="session")
def local_stack(tmp_path_factory: pytest.TempPathFactory, dynamodb_local: DynamoDbLocal) -> Iterator[LocalStackHandle]:
    with running_stack(tmp_path_factory.mktemp("local-stack"), dynamodb_endpoint=dynamodb_local.endpoint) as stack:
        yield stack


@pytest.fixture
def make_api_key(local_stack: LocalStackHandle) -> Iterator[Callable[..., str]]:
    """Makes API keys as `contacts-import keys create` does (the hash in the stack's keys table),
    for any account and scopes; they are deleted again after the test."""
    made: list[str] = []

    def make(account_id: str, scopes: tuple[str, ...] = ALL_SCOPES) -> str:
        api_key, key_hash = local_stack.add_api_key(account_id, scopes)
        made.append(key_hash)
        return api_key

    yield make
    for key_hash in made:
        local_stack.remove_api_key(key_hash)


@pytest.fixture
def own_account(make_api_key: Callable[..., str]) -> OwnAccount:
    """An account of the test's own, with a key of every scope: its lists (the default one too)
    start empty, and its imports in flight are its own."""
    account_id = f"e2e-{uuid.uuid4().hex[:12]}"
    return OwnAccount(account_id, make_api_key(account_id))
