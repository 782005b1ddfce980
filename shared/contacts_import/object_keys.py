"""Where files live in the bucket, and what a key says about its job.

- ``uploads/<account>/<job_id>/<file name>``: files sent through the API or a presigned upload;
  the job exists before the file does.
- ``drop/<account>/<list_id>/<name>``: the drop folder; the file starts a job of its own.
- ``results/<account>/<list_id>/<name>.result.json``: a drop-folder job's final status.
- ``results/<account>/_reports/<job_id>-errors.csv``: an error report too large for one answer.

A key that does not fit its pattern is refused, never guessed at.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import unquote_plus

from contacts_import.models import LIST_ID_PATTERN

UPLOADS_PREFIX = "uploads/"
DROP_PREFIX = "drop/"
RESULTS_PREFIX = "results/"
# Matched whole (fullmatch): "$" would let a trailing newline through ("drop/acme\n/...").
ACCOUNT_ID_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")
JOB_ID_PATTERN = re.compile(r"imp_[0-9a-z]{26}")
MAX_NAME_CHARS = 255
_POST_VARIABLE = re.compile(r"\$\{[^}]*\}")


class InvalidObjectKey(ValueError):
    """A key outside the patterns above."""


@dataclass(frozen=True)
class UploadedFile:
    account_id: str
    job_id: str
    file_name: str


@dataclass(frozen=True)
class DroppedFile:
    account_id: str
    list_id: str
    file_name: str


def safe_file_name(name: str | None) -> str:
    """A file name fit to be the last part of a key: no path, no control characters, and no
    ``${filename}``: in a presigned POST's key S3 replaces it with the name the uploader sends, and
    boto3 then loosens the policy from the exact key to its prefix."""
    base = (name or "").replace("\\", "/").rsplit("/", 1)[-1]
    while "${" in base:
        base = _POST_VARIABLE.sub("", base).replace("${", "{")
    base = "".join(ch for ch in base if ch.isprintable()).strip()
    if base in {"", ".", ".."}:
        base = "contacts.csv"
    return base[:MAX_NAME_CHARS]


def upload_key(account_id: str, job_id: str, file_name: str) -> str:
    return f"{UPLOADS_PREFIX}{account_id}/{job_id}/{safe_file_name(file_name)}"


def result_key(dropped: DroppedFile) -> str:
    return f"{RESULTS_PREFIX}{dropped.account_id}/{dropped.list_id}/{dropped.file_name}.result.json"


def report_key(account_id: str, job_id: str) -> str:
    """A job's error report too large to answer inline. ``_reports`` cannot be a list id (those
    start with a letter or digit), so it never meets a drop-folder result."""
    return f"{RESULTS_PREFIX}{account_id}/_reports/{job_id}-errors.csv"


def key_from_event(encoded_key: str) -> str:
    """S3 events carry keys URL-encoded (spaces as '+'), in AWS and in moto alike."""
    return unquote_plus(encoded_key)


def parse_object_key(key: str) -> UploadedFile | DroppedFile:
    parts = key.split("/")
    if any(part in {"", ".", ".."} for part in parts):
        raise InvalidObjectKey(f"empty or relative part in {key!r}")
    if key.startswith(UPLOADS_PREFIX) and len(parts) == 4:
        _, account_id, job_id, file_name = parts
        if (
            ACCOUNT_ID_PATTERN.fullmatch(account_id)
            and JOB_ID_PATTERN.fullmatch(job_id)
            and len(file_name) <= MAX_NAME_CHARS
        ):
            return UploadedFile(account_id, job_id, file_name)
    if key.startswith(DROP_PREFIX) and len(parts) == 4:
        _, account_id, list_id, file_name = parts
        if (
            ACCOUNT_ID_PATTERN.fullmatch(account_id)
            and LIST_ID_PATTERN.fullmatch(list_id)
            and len(file_name) <= MAX_NAME_CHARS
        ):
            return DroppedFile(account_id, list_id, file_name)
    raise InvalidObjectKey(f"{key!r} fits neither uploads/<account>/<job>/<name> nor drop/<account>/<list>/<name>")
