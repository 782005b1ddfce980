"""Fixtures every tier may use.

``dynamodb_local``: one DynamoDB Local for the whole test run, started by the first test that asks
for it and stopped when the run ends (and, should the run be killed, by its parent's death: see
``local_stack.dynamodb_local``). Tests keep to tables of their own (tests/dynamodb.py); the local
stacks of the e2e tier serve their DynamoDB from it under stack names of their own.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from local_stack.dynamodb_local import DynamoDbLocal, DynamoDbLocalError


@pytest.fixture(scope="session")
def dynamodb_local() -> Iterator[DynamoDbLocal]:
    engine = DynamoDbLocal()
    try:
        engine.start()
    except DynamoDbLocalError as exc:
        pytest.fail(str(exc), pytrace=False)
    try:
        yield engine
    finally:
        engine.stop()
