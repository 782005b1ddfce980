"""DynamoDB for the tests: DynamoDB Local, Amazon's own engine, one process for the whole run (the
``dynamodb_local`` fixture of tests/conftest.py), with the template's tables created per test;
moto, in process, for S3, SQS, EventBridge and the rest.

Under ``moto_beside(endpoint)`` every boto3 client that reaches DynamoDB (``AWS_ENDPOINT_URL_DYNAMODB``
points them there) talks to DynamoDB Local over HTTP, and every other client to moto.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import boto3
from botocore.exceptions import ClientError
from moto import mock_aws

from local_stack.template import StackTemplate

FAKE_CREDENTIALS = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}


def moto_beside(dynamodb_endpoint: str) -> Any:
    """``mock_aws`` that lets requests to ``dynamodb_endpoint`` through to it."""
    core = {
        "mock_credentials": True,
        "passthrough": {"urls": [re.escape(dynamodb_endpoint) + r"(/.*)?$"], "services": []},
        "reset_boto3_session": True,
        "service_whitelist": None,
    }
    return mock_aws(config={"core": core})  # type: ignore[arg-type]


def dynamodb_client(endpoint: str, region: str = "us-east-1") -> Any:
    return boto3.client("dynamodb", endpoint_url=endpoint, region_name=region, **FAKE_CREDENTIALS)


def delete_tables(template: StackTemplate, endpoint: str) -> None:
    """Deletes the template's tables in the engine at ``endpoint``, those that exist."""
    client = dynamodb_client(endpoint, template.account.region)
    for table in template.tables.values():
        try:
            client.delete_table(TableName=table.name)
        except ClientError as error:
            if error.response["Error"]["Code"] != "ResourceNotFoundException":
                raise


@contextmanager
def tables_of_this_test(template: StackTemplate, endpoint: str) -> Iterator[None]:
    """The template's tables are the caller's alone while it runs (created inside, by whoever
    creates the stack's resources) and gone afterwards, whatever a test before left."""
    delete_tables(template, endpoint)
    try:
        yield
    finally:
        delete_tables(template, endpoint)
