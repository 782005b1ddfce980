"""Each function's environment as a settings model, read once at cold start.

A missing variable fails the cold start loudly, naming it, instead of failing later far away.
A field is read from the variable of its name in capitals (``bucket_name`` from ``BUCKET_NAME``)
and converted by pydantic. pydantic-settings would do the same, and costs a cold start about a
hundred milliseconds of imports for sources (dotenv, secrets, CLI) a Lambda function never has.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import ClassVar, Self

from pydantic import BaseModel, ConfigDict

ONE_GIB = 1024**3
# The most a multipart upload (and so the drop folder and a presigned POST) may bring: S3's own
# limit for one PUT, and what the planner reads within the processor's timeout (docs/performance.md).
FIVE_GIB = 5 * ONE_GIB
# A multipart upload's smallest part (docs/decisions.md): S3 takes 5 MiB at least, 8 MiB is what its
# own clients send; a test lowers it to S3's minimum to upload a few parts of a small file.
MULTIPART_PART_BYTES = 8 * 1024 * 1024


class EnvironmentSettings(BaseModel):
    # defer_build: only the settings class a function reads is ever built.
    model_config = ConfigDict(extra="ignore", frozen=True, defer_build=True)
    # Prepended to each field name, as pydantic-settings' env_prefix.
    env_prefix: ClassVar[str] = ""

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] | None = None) -> Self:
        environ = os.environ if environ is None else environ
        names = {name: (cls.env_prefix + name).upper() for name in cls.model_fields}
        return cls(**{name: environ[variable] for name, variable in names.items() if variable in environ})


class CreateImportSettings(EnvironmentSettings):
    bucket_name: str
    jobs_table: str
    row_errors_table: str
    lists_table: str
    idempotency_table: str
    accounts_table: str
    max_jobs_in_flight: int
    # Browser sessions are stored beside the API keys; saved mappings in their own table.
    api_keys_table: str
    mapping_profiles_table: str
    max_upload_bytes: int = FIVE_GIB
    upload_url_expiry_seconds: int = 900
    multipart_part_bytes: int = MULTIPART_PART_BYTES
    # The shortest session a POST /sessions may ask for (SessionMinTtlSeconds; tests set it low).
    session_min_ttl_seconds: int = 60
    # Set by the local stack as by `sam local`: a webhook_url may then name a receiver on loopback.
    aws_sam_local: bool = False


class PipelineSettings(EnvironmentSettings):
    """What the processor (S3-triggered: plans a file) and the chunk worker (SQS-triggered: maps,
    reduces, prunes) share: every store, the chunk queue, the sizes of the work, and notifications."""

    bucket_name: str
    contacts_table: str
    jobs_table: str
    row_errors_table: str
    lists_table: str
    tasks_table: str
    chunk_queue_url: str
    accounts_table: str
    webhook_signing_key_id: str  # the KMS HMAC key (an alias) webhook secrets are derived with
    max_upload_bytes: int = FIVE_GIB
    row_error_retention_days: int = 30
    # Row errors stored per job (MaxRowErrorsStored): each map task stores its share of them.
    max_row_errors_stored: int = 100_000
    chunk_bytes: int = 4 * 1024 * 1024
    rows_per_range: int = 10_000
    max_ranges: int = 1000
    # The shards of a list that an import makes (template parameter ListShards; docs/architecture.md
    # says why 64). A list keeps the shards it was made with.
    list_shards: int = 64
    # A job's hold on a shard lasts this long from its last renewal: a running task's heartbeat
    # renews it every task_heartbeat_seconds, and a task stops writing once its hold may have run
    # out (LEASE_MARGIN_SECONDS before), so a dead holder's shards are free within this long
    # (store.leases, docs/architecture.md).
    lease_seconds: int = 120
    # A task's message is invisible this long past its worker's last heartbeat, so the task of a
    # worker that died comes back within it; the heartbeat renews both every task_heartbeat_seconds.
    task_visibility_seconds: int = 60
    task_heartbeat_seconds: int = 20
    # A task that failed comes back after a backoff that doubles with its receives, capped, jittered.
    task_retry_base_seconds: float = 2.0
    task_retry_cap_seconds: int = 60
    # The chunk queue's receive limit (ChunkTaskMaxReceives, its redrive policy): a task that fails
    # on its last receive fails its job (task_failed) and its message goes to the dead-letter queue.
    task_max_receives: int = 5
    # The chunk worker's Timeout in the template (a test holds the two equal).
    chunk_task_timeout_seconds: int = 300
    # A task that meets another import's shards comes back after this many seconds, and as many again
    # at most (jitter).
    busy_shard_retry_seconds: int = 15
    event_bus_name: str = "default"
    webhook_inline_attempts: int = 3
    webhook_max_attempts: int = 8
    webhook_base_seconds: float = 2.0
    # Set by the local stack as by `sam local`: webhooks may then go to receivers on loopback (over
    # plain http too), and the stack's own writes into the drop folder import for any account.
    aws_sam_local: bool = False
    # Only the processor reads saved mappings (a drop-folder file takes the one its headers match).
    mapping_profiles_table: str | None = None


class ProcessImportSettings(PipelineSettings):
    mapping_profiles_table: str


class ProcessChunkSettings(PipelineSettings):
    pass


class SweepJobsSettings(PipelineSettings):
    """The sweeper's limits follow from the chunk queue's (docs/architecture.md, "When a worker
    dies"): a task can still run for as long as it may take over all of its receives, so a job is
    quiet enough to resend its missing tasks once no task of it can be running or waiting for a
    retry, and stalled once a resent task, too, would have run through every receive."""

    def task_lifetime_seconds(self) -> int:
        """The longest one receive of a task may keep it from running again: its run, its message's
        visibility after the worker's last heartbeat, and the longest backoff."""
        return self.chunk_task_timeout_seconds + self.task_visibility_seconds + self.task_retry_cap_seconds

    @property
    def resend_after_minutes(self) -> int:
        return -(-self.task_lifetime_seconds() // 60) + 1

    @property
    def stalled_after_minutes(self) -> int:
        return self.resend_after_minutes + -(-self.task_max_receives * self.task_lifetime_seconds() // 60)


class ImportStatusSettings(EnvironmentSettings):
    bucket_name: str
    jobs_table: str
    row_errors_table: str
    lists_table: str
    contacts_table: str
    mapping_profiles_table: str


class AuthorizerSettings(EnvironmentSettings):
    api_keys_table: str


class ApiCorsSettings(EnvironmentSettings):
    """Every API function's: the origin whose browsers may call the API (CorsAllowedOrigin); unset,
    answers carry no CORS headers."""

    cors_allowed_origin: str | None = None


class ImporterPageSettings(EnvironmentSettings):
    """The importer page's function: whom the component may be embedded by (CorsAllowedOrigin), and
    where a browser sends files (the page's connect-src must name the upload's origin)."""

    cors_allowed_origin: str = "*"
    # The bucket's own origins (presigned URLs name one of them), space-separated.
    upload_origins: str = ""
    # Set by the local stack: S3 is then reached, and presigned, at this endpoint.
    aws_endpoint_url: str | None = None
