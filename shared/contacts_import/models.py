"""Models at the boundaries: import options, counts, row errors, jobs and contacts."""

from __future__ import annotations

import json
import re
from typing import Any, Literal

import phonenumbers
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from contacts_import.compatible_names import with_our_names
from contacts_import.errors import InvalidOptions
from contacts_import.pipeline.fields import parse_target

LIST_ID_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:@-]{0,127}$")
MAX_TAGS = 50
MAX_TAG_LENGTH = 100

JobState = Literal["awaiting_upload", "queued", "processing", "completed", "failed", "cancelled"]
JobSource = Literal["api", "upload", "drop_folder"]
ENDED_STATES: frozenset[str] = frozenset({"completed", "failed", "cancelled"})


def _json_if_string(value: Any) -> Any:
    if isinstance(value, str):
        text = value.strip()
        if text.startswith(("{", "[")):
            try:
                return json.loads(text)
            except json.JSONDecodeError as error:
                raise ValueError(f"is not valid JSON: {error.msg}") from error
    return value


class _Model(BaseModel):
    # A model's validator is built on its first use, not at import: each function uses a few of
    # these, and building the others cost every cold start.
    model_config = ConfigDict(defer_build=True)


class ImportOptions(_Model):
    """Every option of ``POST /imports`` (contract §4), from query, form fields or JSON alike."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    list_id: str = "default"
    mapping: dict[str, str] | None = None
    has_header: bool = True
    on_existing: Literal["skip", "update"] = "skip"
    default_region: str = "US"
    phone_validation: Literal["strict", "possible"] = "strict"
    tags: tuple[str, ...] = ()
    delimiter: str | None = None
    encoding: str | None = None
    headers: tuple[str, ...] | None = None
    dry_run: bool = False
    replace_list: bool = False
    wait: bool = False
    webhook_url: str | None = None

    @model_validator(mode="before")
    @classmethod
    def _their_names(cls, data: Any) -> Any:
        # The names other import APIs give our options (folder_id, overwrite_existing, ...): one table.
        return with_our_names(data) if isinstance(data, dict) else data

    @field_validator("list_id")
    @classmethod
    def _list_id(cls, value: str) -> str:
        if not LIST_ID_PATTERN.match(value):
            raise ValueError(
                "must be 1-128 characters of letters, digits and _ . : @ -, starting with a letter or digit"
            )
        return value

    @field_validator("mapping", mode="before")
    @classmethod
    def _mapping(cls, value: Any) -> Any:
        value = _json_if_string(value)
        if value is None or value == "":
            return None
        if not isinstance(value, dict):
            raise ValueError("must be a JSON object of CSV header -> field")
        checked: dict[str, str] = {}
        for column, target in value.items():
            canonical = parse_target(str(target)) if isinstance(target, str) else None
            if canonical is None:
                raise ValueError(f"column {column!r} maps to unknown field {target!r}")
            checked[str(column)] = canonical
        return checked

    @field_validator("headers", mode="before")
    @classmethod
    def _headers(cls, value: Any) -> Any:
        value = _json_if_string(value)
        if value is None or value == "":
            return None
        if isinstance(value, str):
            value = [part for part in value.split(",")]
        if not isinstance(value, list | tuple):
            raise ValueError("must be a list of field names, one per column")
        checked = []
        for position, target in enumerate(value):
            canonical = parse_target(str(target)) if target is not None else None
            if canonical is None:
                raise ValueError(f"column {position} names unknown field {target!r}")
            checked.append(canonical)
        return tuple(checked)

    @field_validator("tags", mode="before")
    @classmethod
    def _tags(cls, value: Any) -> Any:
        value = _json_if_string(value)
        if value is None:
            return ()
        if isinstance(value, str):
            value = value.split(",")
        if not isinstance(value, list | tuple):
            raise ValueError("must be a list of strings or a comma-separated string")
        tags = []
        for tag in value:
            text = str(tag).strip()
            if text:
                if len(text) > MAX_TAG_LENGTH:
                    raise ValueError(f"tag {text[:20]!r}... is longer than {MAX_TAG_LENGTH} characters")
                tags.append(text)
        if len(tags) > MAX_TAGS:
            raise ValueError(f"at most {MAX_TAGS} tags")
        return tuple(dict.fromkeys(tags))

    @field_validator("default_region")
    @classmethod
    def _region(cls, value: str) -> str:
        region = value.strip().upper()
        if region not in phonenumbers.SUPPORTED_REGIONS:
            raise ValueError(f"{value!r} is not an ISO 3166 alpha-2 region known to phonenumbers")
        return region

    @field_validator("delimiter", mode="before")
    @classmethod
    def _delimiter(cls, value: Any) -> Any:
        if value is None or value == "":
            return None
        named = {"tab": "\t", "\\t": "\t", "comma": ",", "semicolon": ";", "pipe": "|"}
        text = named.get(str(value).lower(), str(value))
        if len(text) != 1 or text in {'"', "\r", "\n"}:
            raise ValueError("must be one character (or tab, comma, semicolon, pipe)")
        return text

    @field_validator("encoding")
    @classmethod
    def _encoding(cls, value: str | None) -> str | None:
        if not value:
            return None
        import codecs

        try:
            return codecs.lookup(value).name
        except LookupError as error:
            raise ValueError(f"unknown encoding {value!r}") from error

    @field_validator("webhook_url")
    @classmethod
    def _webhook(cls, value: str | None) -> str | None:
        if value and not re.match(r"^https?://[^\s/]+", value):
            raise ValueError("must be an http(s) URL")
        return value or None

    @classmethod
    def parse(cls, raw: dict[str, Any]) -> ImportOptions:
        """Options from a request, or InvalidOptions naming every bad one."""
        try:
            return cls.model_validate(raw)
        except ValidationError as error:
            problems = [
                {"option": ".".join(str(p) for p in e["loc"]) or "body", "problem": e["msg"]}
                for e in error.errors(include_url=False, include_context=False, include_input=False)
            ]
            message = "; ".join(f"{p['option']}: {p['problem']}" for p in problems)
            raise InvalidOptions(f"Invalid options: {message}", details={"errors": problems}) from None


class Counts(_Model):
    total_rows: int = 0
    processed_rows: int = 0
    created: int = 0
    updated: int = 0
    skipped_existing: int = 0
    skipped_duplicates: int = 0
    invalid: int = 0
    deleted: int = 0


class RowError(_Model):
    row: int
    code: str
    message: str
    column: str | None = None
    value: str | None = None


class Failure(_Model):
    code: str
    message: str


class Consumption(_Model):
    """What a job's tasks cost in AWS so far: DynamoDB capacity units as DynamoDB reported them
    consumed, and S3 requests, each task's counted once (its first recorded run)."""

    write_units: float = 0.0
    read_units: float = 0.0
    s3_requests: int = 0


class JobSummary(_Model):
    """A job in ``GET /imports``: its status document without the row errors."""

    job_id: str
    status: JobState
    source: JobSource
    list_id: str
    file_name: str | None
    dry_run: bool
    counts: Counts
    consumed: Consumption = Field(default_factory=Consumption)
    progress: float = Field(ge=0.0, le=1.0)
    error_count: int
    errors_url: str
    failure: Failure | None
    total_contacts: int | None
    created_at: str
    started_at: str | None
    completed_at: str | None


class JobStatus(JobSummary):
    """The status document of ``GET /imports/{job_id}``, also the drop folder's result file."""

    errors: list[RowError]  # the first 100


class JobAccepted(_Model):
    job_id: str
    status: JobState
    status_url: str


class UploadInstructions(_Model):
    method: Literal["PUT", "POST"]
    url: str
    headers: dict[str, str]
    fields: dict[str, str]
    expires_at: str
    max_bytes: int


class UploadAccepted(_Model):
    job_id: str
    status: JobState
    status_url: str
    upload: UploadInstructions


class ContactOut(_Model):
    list_id: str
    phone: str
    phone_extension: str | None = None
    name: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    email: str | None = None
    company: str | None = None
    tags: list[str] = []
    custom_fields: dict[str, str] = {}
    created_at: str
    updated_at: str
    import_job_id: str


class ReportLink(_Model):
    """Where an error report too large for one answer can be fetched (303 See Other)."""

    url: str
    expires_at: str
    size_bytes: int


class ListOut(_Model):
    list_id: str
    total_contacts: int
