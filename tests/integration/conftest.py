"""Integration tier: the real handlers, called with events from events/, against DynamoDB Local
(Amazon's own engine, one process for the run) and moto in-process for S3, SQS and EventBridge.

Tables, queues and the bucket are created from template.yaml by the same code the local stack uses,
afresh for every test, and each function sees the environment the template gives it. The stack's
name is this tier's own, so its tables never meet those of a local stack that shares the engine.
"""

from __future__ import annotations

import importlib.util
import os
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import boto3
import pytest

from contacts_import.api import imports_read, imports_write, mapping_profiles, sessions
from contacts_import.auth.keys import record_for_key
from contacts_import.store.api_keys import ApiKeyStore
from local_stack.dynamodb_local import DynamoDbLocal
from local_stack.moto_fidelity import serialize_moto_requests
from local_stack.resources import create_stack_resources
from local_stack.template import LocalAccount, StackTemplate, load_template
from tests.dynamodb import moto_beside, tables_of_this_test
from tests.sample_events import s3_event, sqs_event

ROOT = Path(__file__).resolve().parents[2]
INTEGRATION_STACK_NAME = "contacts-import-it"
FUNCTION_DIRS = {
    "CreateImportFunction": "create_import",
    "ProcessImportFunction": "process_import",
    "ProcessChunkFunction": "process_chunk",
    "SweepJobsFunction": "sweep_jobs",
    "ImportStatusFunction": "import_status",
    "AuthorizerFunction": "authorizer",
    "ImporterPageFunction": "importer_page",
}


@pytest.fixture(scope="session")
def template() -> StackTemplate:
    return load_template(ROOT / "template.yaml", account=LocalAccount(stack_name=INTEGRATION_STACK_NAME))


def _load_handler_module(logical_id: str, template: StackTemplate) -> ModuleType:
    spec_ = template.function(logical_id)
    module_name = f"handler_{FUNCTION_DIRS[logical_id]}"
    spec = importlib.util.spec_from_file_location(module_name, spec_.handler_file)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    spec.loader.exec_module(module)
    return module


class FakeContext:
    function_name = "test"
    function_version = "$LATEST"
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:test"
    memory_limit_in_mb = 512
    aws_request_id = "test-request"
    log_group_name = "/aws/lambda/test"
    log_stream_name = "test"

    def get_remaining_time_in_millis(self) -> int:
        return 30_000


@dataclass
class Stack:
    """The functions of the template, each called as Lambda would, against moto."""

    template: StackTemplate
    modules: dict[str, ModuleType]
    bucket: str

    def invoke(self, logical_id: str, event: dict[str, Any]) -> Any:
        function = self.template.function(logical_id)
        saved = dict(os.environ)
        os.environ.update(function.environment)
        try:
            return self.modules[logical_id].lambda_handler(event, FakeContext())
        finally:
            os.environ.clear()
            os.environ.update(saved)

    def s3(self) -> Any:
        return boto3.client("s3", region_name="us-east-1")

    def deliver_s3(
        self, key: str, event_name: str = "s3_put_upload.json", sequencer: str = "01", *, run_tasks: bool = True
    ) -> Any:
        """What the bucket notification would do: invoke the processor for the object at ``key``;
        then, as the chunk queue's event source would, the chunk worker for every task it sent."""
        head = self.s3().head_object(Bucket=self.bucket, Key=key)
        event = s3_event(
            event_name,
            bucket=self.bucket,
            key=key,
            size=head["ContentLength"],
            etag=head["ETag"],
            sequencer=sequencer,
        )
        answer = self.invoke("ProcessImportFunction", event)
        if run_tasks:
            self.run_tasks()
        return answer

    def chunk_queue(self) -> str:
        return self.template.function("ProcessChunkFunction").environment["CHUNK_QUEUE_URL"]

    def receive_tasks(self, limit: int = 10) -> list[dict[str, Any]]:
        sqs = boto3.client("sqs", region_name="us-east-1")
        answer = sqs.receive_message(
            QueueUrl=self.chunk_queue(), MaxNumberOfMessages=min(limit, 10), MessageSystemAttributeNames=["All"]
        )
        return answer.get("Messages", [])

    def invoke_tasks(self, messages: list[dict[str, Any]]) -> Any:
        """One invocation of the chunk worker with these messages, as its SQS event source sends
        them; the messages it does not report as failed are deleted."""
        event = sqs_event(messages, queue_arn=self.template.queues["ChunkQueue"].arn)
        answer = self.invoke("ProcessChunkFunction", event)
        failed = {f["itemIdentifier"] for f in answer.get("batchItemFailures", [])}
        sqs = boto3.client("sqs", region_name="us-east-1")
        for message in messages:
            if message["MessageId"] not in failed:
                sqs.delete_message(QueueUrl=self.chunk_queue(), ReceiptHandle=message["ReceiptHandle"])
        return answer

    def run_tasks(self, limit: int = 10_000) -> list[Any]:
        """Run the chunk queue's tasks one per invocation (its BatchSize) until none is visible;
        the chunk worker's answers."""
        answers: list[Any] = []
        while len(answers) < limit:
            messages = self.receive_tasks(1)
            if not messages:
                return answers
            answers.append(self.invoke_tasks(messages))
        raise AssertionError(f"more than {limit} tasks: a job that never ends?")

    def pending_uploads(self) -> list[str]:
        listing = self.s3().list_objects_v2(Bucket=self.bucket, Prefix="uploads/")
        return [o["Key"] for o in listing.get("Contents", [])]


@pytest.fixture
def stack(template: StackTemplate, dynamodb_local: DynamoDbLocal, monkeypatch: pytest.MonkeyPatch) -> Iterator[Stack]:
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "POWERTOOLS_TRACE_DISABLED": "true",
        "POWERTOOLS_METRICS_NAMESPACE": "ContactsImportTests",
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    monkeypatch.setenv("AWS_ENDPOINT_URL_DYNAMODB", dynamodb_local.endpoint)
    # Adapters are cached per cold start; every test is a fresh cold start against fresh resources.
    imports_write.deps.cache_clear()
    imports_write.idempotent_create.cache_clear()
    imports_read.deps.cache_clear()
    mapping_profiles.store.cache_clear()
    sessions.settings.cache_clear()
    sessions.key_store.cache_clear()
    serialize_moto_requests()  # SQS and object replacement hold under workers in threads, as in AWS
    with moto_beside(dynamodb_local.endpoint), tables_of_this_test(template, dynamodb_local.endpoint):
        created = create_stack_resources(template, boto3.session.Session())
        keys_table = boto3.resource("dynamodb", region_name="us-east-1").Table(created.tables["ApiKeysTable"])
        ApiKeyStore(keys_table).put(record_for_key("local-dev-key", "local"))
        modules = {logical_id: _load_handler_module(logical_id, template) for logical_id in FUNCTION_DIRS}
        yield Stack(template=template, modules=modules, bucket=created.buckets["ImportsBucket"])
