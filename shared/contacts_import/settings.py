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


class ProcessImportSettings(_Settings):
    bucket_name: str
    contacts_table: str
    jobs_table: str
    row_errors_table: str
    lists_table: str
    max_upload_bytes: int = ONE_GIB
    row_error_retention_days: int = 30


class ImportStatusSettings(_Settings):
    bucket_name: str
    jobs_table: str
    row_errors_table: str
    lists_table: str
    contacts_table: str


class AuthorizerSettings(_Settings):
    api_keys_table: str
