"""Each function's environment as a settings model, read once at cold start.

A missing variable fails the cold start loudly, naming it, instead of failing later far away.
"""

from __future__ import annotations

from pydantic_settings import BaseSettings, SettingsConfigDict

ONE_GIB = 1024**3


class _Settings(BaseSettings):
    model_config = SettingsConfigDict(case_sensitive=False, extra="ignore", frozen=True)


class CreateImportSettings(_Settings):
    bucket_name: str
    jobs_table: str
    row_errors_table: str
    lists_table: str
    idempotency_table: str
    max_jobs_in_flight: int
    max_upload_bytes: int = ONE_GIB
    upload_url_expiry_seconds: int = 900


class PipelineSettings(_Settings):
    """What the processor (S3-triggered: plans a file) and the chunk worker (SQS-triggered: maps,
    reduces, prunes) share: every store, the chunk queue, the sizes of the work, and notifications."""

    bucket_name: str
    contacts_table: str
    jobs_table: str
    row_errors_table: str
    lists_table: str
    tasks_table: str
    chunk_queue_url: str
    max_upload_bytes: int = ONE_GIB
    row_error_retention_days: int = 30
    chunk_bytes: int = 4 * 1024 * 1024
    rows_per_range: int = 10_000
    max_ranges: int = 1000
    event_bus_name: str = "default"
    webhook_inline_attempts: int = 3
    webhook_max_attempts: int = 8
    webhook_base_seconds: float = 2.0
    # Set by the local stack as by `sam local`: webhooks may then go to plain http on 127.0.0.1.
    aws_sam_local: bool = False

    @property
    def webhook_allow_private(self) -> bool:
        return self.aws_sam_local


class ProcessImportSettings(PipelineSettings):
    pass


class ProcessChunkSettings(PipelineSettings):
    pass


class SweepJobsSettings(PipelineSettings):
    # A job with no progress for this long is failed as `stalled`; after the first part of it, its
    # missing tasks are sent again (a message lost with a worker that died at the wrong moment).
    stalled_after_minutes: int = 60
    resend_after_minutes: int = 35


class ImportStatusSettings(_Settings):
    bucket_name: str
    jobs_table: str
    row_errors_table: str
    lists_table: str
    contacts_table: str


class AuthorizerSettings(_Settings):
    api_keys_table: str
