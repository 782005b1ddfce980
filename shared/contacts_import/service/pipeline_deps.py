"""The adapters the import pipeline's functions share (processor, chunk worker, sweeper), built
once per cold start from the function's settings."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from contacts_import.auth.webhook_secrets import WebhookSecretDeriver
from contacts_import.settings import PipelineSettings
from contacts_import.store.accounts import AccountStore
from contacts_import.store.change_journal import ChangeJournalStore
from contacts_import.store.contacts import ContactStore
from contacts_import.store.jobs import JobStore
from contacts_import.store.leases import ShardLeases
from contacts_import.store.lists import ListStore
from contacts_import.store.objects import ObjectStore
from contacts_import.store.row_errors import RowErrorReader, RowErrorWriter
from contacts_import.store.task_queue import TaskQueue
from contacts_import.store.tasks import TaskStore
from contacts_import.store.work_area import WorkArea


@dataclass(frozen=True)
class PipelineDeps:
    settings: PipelineSettings
    dynamodb: Any
    dynamodb_client: Any
    s3: Any
    events: Any
    objects: ObjectStore
    jobs: JobStore
    lists: ListStore
    leases: ShardLeases
    tasks: TaskStore
    row_errors: RowErrorReader
    queue: TaskQueue
    accounts: AccountStore
    webhook_secrets: WebhookSecretDeriver

    def work(self, account_id: str, job_id: str) -> WorkArea:
        return WorkArea(self.s3, self.settings.bucket_name, account_id, job_id)

    def contacts(
        self, account_id: str, list_id: str, *, shards: int, assume_absent: frozenset[int] = frozenset()
    ) -> ContactStore:
        return ContactStore(
            self.dynamodb,
            self.settings.contacts_table,
            account_id,
            list_id,
            self.dynamodb_client,
            shards=shards,
            assume_absent=assume_absent,
        )

    def journal(self, account_id: str, job_id: str) -> ChangeJournalStore:
        """The job's change journal (``store.change_journal``): its plan, or its before-images."""
        return ChangeJournalStore(
            self.dynamodb_client,
            self.settings.row_errors_table,
            account_id,
            job_id,
            self.settings.row_error_retention_days,
        )

    def error_writer(self, account_id: str, job_id: str, limit: int | None = None) -> RowErrorWriter:
        return RowErrorWriter(
            self.dynamodb,
            self.settings.row_errors_table,
            account_id,
            job_id,
            self.settings.row_error_retention_days,
            self.dynamodb_client,
            limit=limit,
        )


def pipeline_deps(settings: PipelineSettings) -> PipelineDeps:
    import boto3

    from contacts_import.store.dynamo import dynamodb_fast_client, dynamodb_resource
    from contacts_import.store.objects import s3_client
    from contacts_import.store.task_queue import BOTO_CONFIG, sqs_client

    dynamodb = dynamodb_resource()
    s3 = s3_client()
    return PipelineDeps(
        settings=settings,
        dynamodb=dynamodb,
        dynamodb_client=dynamodb_fast_client(),
        s3=s3,
        events=boto3.client("events", config=BOTO_CONFIG),
        objects=ObjectStore(s3, settings.bucket_name),
        jobs=JobStore(dynamodb, settings.jobs_table, settings.lists_table),
        lists=ListStore(dynamodb, settings.lists_table),
        leases=ShardLeases(dynamodb, settings.lists_table),
        tasks=TaskStore(dynamodb, settings.tasks_table, settings.row_error_retention_days),
        row_errors=RowErrorReader(dynamodb, settings.row_errors_table),
        queue=TaskQueue(sqs_client(), settings.chunk_queue_url),
        accounts=AccountStore(dynamodb, settings.accounts_table),
        webhook_secrets=WebhookSecretDeriver(boto3.client("kms", config=BOTO_CONFIG), settings.webhook_signing_key_id),
    )
