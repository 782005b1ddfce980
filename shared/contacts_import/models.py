"""Models at the boundaries: import options, counts, row errors, jobs and contacts."""

from __future__ import annotations

import codecs
import json
import re
from typing import Any, Literal

import phonenumbers
from pydantic import BaseModel, ConfigDict, Field, StrictBool, ValidationError, field_validator, model_validator
from typing_extensions import TypedDict

from contacts_import.compatible_names import with_our_names
from contacts_import.errors import InvalidOptions
from contacts_import.pipeline.fields import IGNORE, KNOWN_FIELDS, parse_target

# Matched whole (fullmatch): "$" would let a trailing newline through ("tour\n").
LIST_ID_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:@-]{0,127}")
# A webhook URL as the OpenAPI document describes it (and as it must be to be called: https, a
# host name with a top-level domain, for TLS to check its certificate against, port 443 or none,
# no credentials). Where the name leads is checked too, when the import is created and before
# every call (service.notifications).
# A host name: labels, and a top-level domain that starts with a letter, so that no address in any
# notation ("0", "2130706433", "127.1") passes for a name.
HOST_NAME_PATTERN = r"(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
WEBHOOK_URL_PATTERN = rf"^https://{HOST_NAME_PATTERN}(?::443)?(?:/[!-~]*)?$"
MAX_TAGS = 50
# A mapping profile's name: it is a path segment of /mapping-profiles/{name}.
PROFILE_NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$"
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


# What a query parameter or form field may say for a boolean option (JSON members are booleans).
BOOLEAN_WORDS: dict[str, bool] = {"true": True, "false": False, "True": True, "False": False, "1": True, "0": False}
BOOLEAN_OPTIONS = frozenset({"has_header", "dry_run", "replace_list", "wait", "update_existing", "overwrite_existing"})
LIST_OPTIONS = frozenset({"tags", "headers"})
NAMED_DELIMITERS: dict[str, str] = {"tab": "\t", "\\t": "\t", "comma": ",", "semicolon": ";", "pipe": "|"}
# The encodings the encoding option takes, spelled as it takes them (OpenAPI lists the same).
ENCODINGS: tuple[str, ...] = tuple(
    spelling
    for name in (
        "utf-8", "utf-8-sig", "utf-16", "utf-16-le", "utf-16-be", "ascii", "cp1252", "windows-1252", "latin-1",
        "iso-8859-1", "iso-8859-15", "cp1250", "cp1251", "cp850", "mac-roman", "koi8-r", "shift_jis", "cp932",
        "euc-jp", "gb18030", "gbk", "big5", "euc-kr", "cp500",
    )
    for spelling in (name, name.upper())
)  # fmt: skip
_CODEC_NAMES = frozenset(codecs.lookup(spelling).name for spelling in ENCODINGS)
REGIONS: tuple[str, ...] = tuple(
    sorted({*phonenumbers.SUPPORTED_REGIONS, *map(str.lower, phonenumbers.SUPPORTED_REGIONS)})
)
MAPPING_TARGETS: tuple[str, ...] = (*KNOWN_FIELDS, IGNORE)
# A target as the OpenAPI document describes it (custom:<key> besides the names above).
CUSTOM_TARGET_PATTERN = r"^custom:[^\s\"\\\x00-\x1f][^\"\\\x00-\x1f]*$"


def options_from_text(values: dict[str, Any]) -> dict[str, Any]:
    """Options as query parameters and form fields give them (strings), as the JSON members they
    stand for: booleans from their words, lists from commas (or a repeated parameter), the mapping
    from its JSON. A value that says nothing it could mean is left as it is, for the model to refuse."""
    decoded: dict[str, Any] = {}
    for name, value in values.items():
        if name in BOOLEAN_OPTIONS and isinstance(value, str) and value in BOOLEAN_WORDS:
            value = BOOLEAN_WORDS[value]
        elif name in LIST_OPTIONS and isinstance(value, str | list):
            # A repeated parameter (or a form field beside a query parameter) adds its items.
            items = [value] if isinstance(value, str) else value
            value = [part for item in items if isinstance(item, str) and item for part in item.split(",")]
        elif name == "mapping" and isinstance(value, str):
            value = _json_if_string(value) if value else None
        elif name in ("delimiter", "encoding", "webhook_url") and value == "":
            value = None
        decoded[name] = value
    return decoded


class ImportOptions(_Model):
    """Every option of ``POST /imports`` (docs/api.md), from query, form fields or JSON alike.

    Each accepts exactly what the OpenAPI document says it accepts (``api.docs``): booleans are
    booleans (``options_from_text`` reads the words of a query), regions and encodings come from
    their lists, and so on, so that the document and the behaviour agree."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    list_id: str = Field("default", pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:@-]{0,127}$")
    mapping: dict[str, str] | None = None
    has_header: StrictBool = True
    on_existing: Literal["skip", "update"] = "skip"
    # On update, what a blank cell does to the stored value: keep it, or clear it (docs/api.md).
    on_blank: Literal["keep", "clear"] = "keep"
    default_region: str = Field("US", json_schema_extra={"enum": list(REGIONS)})
    phone_validation: Literal["strict", "possible"] = "strict"
    tags: tuple[str, ...] = ()
    delimiter: str | None = None
    encoding: str | None = Field(None, json_schema_extra={"enum": [*ENCODINGS, None]})
    headers: tuple[str, ...] | None = None
    dry_run: StrictBool = False
    replace_list: StrictBool = False
    wait: StrictBool = False
    # The pattern is the document's; service.notifications.check_webhook_url enforces it (the local
    # stack also takes receivers on loopback) when the import is created.
    webhook_url: str | None = Field(None, json_schema_extra={"pattern": WEBHOOK_URL_PATTERN})
    # A saved mapping of the account (contacts_import.profiles): resolved when the import is created.
    mapping_profile: str | None = Field(None, pattern=PROFILE_NAME_PATTERN)

    @model_validator(mode="before")
    @classmethod
    def _their_names(cls, data: Any) -> Any:
        # The names other import APIs give our options (folder_id, overwrite_existing, ...): one table.
        return with_our_names(data) if isinstance(data, dict) else data

    @field_validator("list_id")
    @classmethod
    def _list_id(cls, value: str) -> str:
        if not LIST_ID_PATTERN.fullmatch(value):
            raise ValueError(
                "must be 1-128 characters of letters, digits and _ . : @ -, starting with a letter or digit"
            )
        return value

    @field_validator("mapping", mode="before")
    @classmethod
    def _mapping(cls, value: Any) -> Any:
        if value is None:
            return None
        if not isinstance(value, dict):
            raise ValueError("must be a JSON object of CSV header -> field")
        checked: dict[str, str] = {}
        for column, target in value.items():
            if not column:
                raise ValueError("a column is named by its header (or 0-based number): never an empty string")
            canonical = parse_target(target) if isinstance(target, str) else None
            if canonical is None:
                raise ValueError(f"column {column!r} maps to unknown field {target!r}")
            checked[str(column)] = canonical
        return checked

    @field_validator("headers", mode="before")
    @classmethod
    def _headers(cls, value: Any) -> Any:
        if value is None or value == "" or value == []:
            return None  # names no column: the header row (or column numbers) decides, as when left out
        if isinstance(value, str):
            value = value.split(",")
        if not isinstance(value, list | tuple):
            raise ValueError("must be a list of field names, one per column")
        checked = []
        for position, target in enumerate(value):
            canonical = parse_target(target) if isinstance(target, str) else None
            if canonical is None:
                raise ValueError(f"column {position} names unknown field {target!r}")
            checked.append(canonical)
        return tuple(checked)

    @field_validator("tags", mode="before")
    @classmethod
    def _tags(cls, value: Any) -> Any:
        if value is None:
            return ()
        if isinstance(value, str):
            value = value.split(",") if value else []
        if not isinstance(value, list | tuple) or not all(isinstance(tag, str) for tag in value):
            raise ValueError("must be a list of strings or a comma-separated string")
        if len(value) > MAX_TAGS:
            raise ValueError(f"at most {MAX_TAGS} tags")
        for tag in value:
            if len(tag) > MAX_TAG_LENGTH:
                raise ValueError(f"tag {tag[:20]!r}... is longer than {MAX_TAG_LENGTH} characters")
        return tuple(dict.fromkeys(text for text in (tag.strip() for tag in value) if text))

    @field_validator("default_region")
    @classmethod
    def _region(cls, value: str) -> str:
        if value not in REGIONS:
            raise ValueError(f"{value!r} is not an ISO 3166 alpha-2 region known to phonenumbers")
        return value.upper()

    @field_validator("delimiter", mode="before")
    @classmethod
    def _delimiter(cls, value: Any) -> Any:
        if value is None:
            return None
        text = NAMED_DELIMITERS.get(value, value) if isinstance(value, str) else None
        if text is None or len(text) != 1 or text in {'"', "\r", "\n"}:
            raise ValueError("must be one character (or tab, comma, semicolon, pipe)")
        return text

    @field_validator("encoding")
    @classmethod
    def _encoding(cls, value: str | None) -> str | None:
        if value is None:
            return None
        # A stored job holds the codec's own name (latin-1 is kept as iso8859-1), read here again.
        if value not in ENCODINGS and value not in _CODEC_NAMES:
            raise ValueError(f"{value!r} is not one of the encodings this option takes: {', '.join(ENCODINGS[::2])}")
        return codecs.lookup(value).name

    @field_validator("webhook_url")
    @classmethod
    def _webhook_url(cls, value: str | None) -> str | None:
        # An empty query parameter means none (options_from_text); an empty JSON string is no URL.
        if value == "":
            raise ValueError("is empty: leave webhook_url out (or null) for no webhook")
        return value

    @classmethod
    def parse(cls, raw: dict[str, Any], *, text: dict[str, Any] | None = None) -> ImportOptions:
        """Options from a request (JSON members in ``raw``, query parameters and form fields in
        ``text``), or InvalidOptions naming every bad one."""
        try:
            # Their names first (a column_mappings form field is read as mapping is), then the words.
            texts = options_from_text(with_our_names(text or {}, words=True))
        except ValueError as error:
            raise InvalidOptions(f"Invalid options: {error}", details={"errors": [{"problem": str(error)}]}) from None
        try:
            return cls.model_validate({**texts, **raw})
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
    unchanged: int = 0
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


# One field an update changes: its stored value and its new one (None: empty). A TypedDict, as
# "from" is a Python keyword.
FieldChange = TypedDict("FieldChange", {"from": str | list[str] | None, "to": str | list[str] | None})


class PlanRow(_Model):
    """A row of a dry run's plan (``GET /imports/{id}/plan``): its outcome, an update's changes by
    field (``custom:<key>`` for a custom field), an invalid row's error code."""

    row: int
    phone: str | None
    outcome: Literal["created", "updated", "unchanged", "skipped_existing", "skipped_duplicates", "invalid"]
    changes: dict[str, FieldChange] | None = None
    code: str | None = None


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
    errors_stored: int = 0  # how many of them the error report holds (MaxRowErrorsStored a job)
    errors_truncated: bool = False  # the report holds fewer errors than error_count: it was cut
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


class PartUrl(_Model):
    """Where to PUT one part of a multipart upload (its body: the file's bytes of that part)."""

    part_number: int = Field(ge=1, le=10_000)
    url: str


class MultipartInstructions(_Model):
    """``POST /imports/uploads`` with ``"multipart": true``: PUT part n (1-based) with the file's
    bytes from ``(n - 1) * part_size``, keep each answer's ETag, then complete the upload."""

    method: Literal["MULTIPART"]
    upload_id: str
    part_size: int
    size: int
    parts: list[PartUrl]
    expires_at: str
    max_bytes: int


class UploadAccepted(_Model):
    job_id: str
    status: JobState
    status_url: str
    upload: UploadInstructions | MultipartInstructions


class PartHeld(_Model):
    """A part S3 holds: its ETag (as S3 gives it, in double quotes) and size."""

    part_number: int = Field(ge=1, le=10_000)
    etag: str
    size: int


class MultipartState(_Model):
    """``GET /imports/{job_id}/upload``: the parts S3 holds, and a fresh URL for each it lacks."""

    job_id: str
    upload_id: str
    part_size: int
    size: int
    parts: list[PartHeld | PartUrl]
    expires_at: str


class PartDone(_Model):
    model_config = ConfigDict(extra="forbid", frozen=True)

    part_number: int = Field(ge=1, le=10_000)
    etag: str = Field(min_length=1, max_length=1024)


class CompleteUpload(_Model):
    """``POST /imports/{job_id}/upload/complete``: every part, with the ETag its PUT answered."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    parts: list[PartDone] = Field(min_length=1, max_length=10_000)


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
