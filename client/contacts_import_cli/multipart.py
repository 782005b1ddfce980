"""Big files in parts (docs/api.md, Resumable uploads): sent in parallel, resumed after a break.

A file of at least ``CONTACTS_MULTIPART_THRESHOLD`` bytes (64 MiB unless set) is sent as an S3
multipart upload: each part PUT to its presigned URL by one of a few threads, streamed from disk
(a thread holds 1 MiB at a time, never a whole part). Before the first byte goes, a resume record
is written under ``$XDG_CACHE_HOME/contacts-import/uploads/`` (``~/.cache`` without it), one JSON
file per job naming the file, its size and modification time, and the API it went to; after an
interruption (Ctrl-C, a network error, a killed process) ``upload FILE --resume [JOB_ID]`` asks
the API which parts S3 holds and sends only the others. The record is removed once the upload is
completed. A part URL that has expired (they live 15 minutes) is replaced by asking again.
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_EXCEPTION, Future, ThreadPoolExecutor, wait
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import requests

from contacts_import_cli.api import ApiClient, job_path
from contacts_import_cli.errors import CliError, ExitCode, Unreachable
from contacts_import_cli.upload import CHUNK_BYTES, UPLOAD_TIMEOUT, BytesCallback, FileChanged, storage_error

MULTIPART_THRESHOLD = 64 * 1024 * 1024
PARALLEL_PARTS = 4
# A part that meets a dropped connection or a 5xx is sent again this many times before giving up.
PART_ATTEMPTS = 3


class Interrupted(CliError):
    """The upload stopped part-way; what S3 holds stays there for ``--resume``."""


def cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "contacts-import" / "uploads"


@dataclass(frozen=True)
class ResumeRecord:
    job_id: str
    path: str
    size: int
    mtime_ns: int
    api_url: str

    @classmethod
    def of(cls, job_id: str, path: Path, api_url: str) -> ResumeRecord:
        stat = path.stat()
        return cls(job_id, str(path.resolve()), stat.st_size, stat.st_mtime_ns, api_url)

    def save(self) -> Path:
        where = cache_dir() / f"{self.job_id}.json"
        where.parent.mkdir(parents=True, exist_ok=True)
        where.write_text(json.dumps(asdict(self)), encoding="utf-8")
        return where

    def forget(self) -> None:
        (cache_dir() / f"{self.job_id}.json").unlink(missing_ok=True)

    def matches(self, path: Path) -> bool:
        stat = path.stat()
        return self.path == str(path.resolve()) and (self.size, self.mtime_ns) == (stat.st_size, stat.st_mtime_ns)


def load_record(job_id: str) -> ResumeRecord | None:
    try:
        return ResumeRecord(**json.loads((cache_dir() / f"{job_id}.json").read_text(encoding="utf-8")))
    except (OSError, ValueError, TypeError):
        return None


def record_for_file(path: Path, api_url: str) -> ResumeRecord | None:
    """The newest resume record of this very file (same path, size and mtime) sent to this API."""
    found = [r for r in (load_record(p.stem) for p in sorted(cache_dir().glob("imp_*.json"))) if r]
    mine = [r for r in found if r.api_url == api_url and r.matches(path)]
    return mine[-1] if mine else None


class RateLimit:
    """At most ``bytes_per_second`` over every thread's chunks (``--limit-rate``, as curl's): an
    upload that leaves the rest of a link to its other users."""

    def __init__(self, bytes_per_second: int | None) -> None:
        self.rate = bytes_per_second
        self._lock = threading.Lock()
        self._next = time.monotonic()

    def take(self, count: int) -> None:
        if not self.rate:
            return
        with self._lock:
            now = time.monotonic()
            start = max(self._next, now)
            self._next = start + count / self.rate
        if start > now:
            time.sleep(start - now)


class FileRange:
    """Bytes ``offset`` to ``offset + length`` of a file as a request body with a Content-Length,
    read 1 MiB at a time; ``stop`` set ends it between chunks (the request then fails)."""

    def __init__(
        self, path: Path, offset: int, length: int, on_bytes: BytesCallback, stop: threading.Event, rate: RateLimit
    ) -> None:
        self.path, self.offset, self.length = path, offset, length
        self._on_bytes, self._stop, self._rate = on_bytes, stop, rate
        self.sent = 0

    def __len__(self) -> int:
        return self.length

    def __iter__(self) -> Iterator[bytes]:
        with self.path.open("rb") as stream:
            stream.seek(self.offset)
            while self.sent < self.length:
                if self._stop.is_set():
                    raise Interrupted("stopped")
                chunk = stream.read(min(CHUNK_BYTES, self.length - self.sent))
                self._rate.take(len(chunk))
                if not chunk:
                    raise FileChanged(f"{self.path} is shorter than when its upload began")
                self.sent += len(chunk)
                self._on_bytes(len(chunk))
                yield chunk


class PartSender:
    """Sends the parts S3 lacks, ``parallel`` at a time; answers every part's ETag."""

    def __init__(
        self,
        client: ApiClient,
        job_id: str,
        path: Path,
        on_bytes: BytesCallback,
        parallel: int = PARALLEL_PARTS,
        limit_rate: int | None = None,
    ) -> None:
        self.client, self.job_id, self.path = client, job_id, path
        self._rate = RateLimit(limit_rate)
        self.held_at_start = 0
        self._on_bytes = on_bytes
        self.parallel = max(1, parallel)
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._urls: dict[int, str] = {}

    def refresh(self) -> dict[str, Any]:
        """``GET /imports/{id}/upload``: remember the fresh URLs; the state as answered."""
        state = self.client.data(job_path(self.job_id, "/upload"))
        with self._lock:
            self._urls |= {p["part_number"]: p["url"] for p in state["parts"] if "url" in p}
        return dict(state)

    def send(self, state: dict[str, Any], counted: Callable[[int], None] | None = None) -> list[dict[str, Any]]:
        part_size, size = int(state["part_size"]), int(state["size"])
        if self.path.stat().st_size != size:
            raise FileChanged(f"{self.path} is {self.path.stat().st_size} bytes; its upload was begun for {size}")
        with self._lock:
            self._urls |= {p["part_number"]: p["url"] for p in state["parts"] if "url" in p}
        done = {p["part_number"]: p["etag"] for p in state["parts"] if "etag" in p}
        if counted:
            counted(sum(int(p.get("size", 0)) for p in state["parts"] if "etag" in p))
        wanted = [p["part_number"] for p in state["parts"] if "etag" not in p]
        self.held_at_start = len(done)
        pool = ThreadPoolExecutor(max_workers=self.parallel, thread_name_prefix="part")
        futures: dict[Future[str], int] = {
            pool.submit(self._send_part, n, (n - 1) * part_size, min(part_size, size - (n - 1) * part_size)): n
            for n in wanted
        }
        try:
            finished, _ = wait(futures, return_when=FIRST_EXCEPTION)
            for future in finished:
                done[futures[future]] = future.result()  # the first failure, raised
        except BaseException:
            self._stop.set()
            pool.shutdown(wait=True, cancel_futures=True)
            raise
        pool.shutdown()
        return [{"part_number": n, "etag": done[n]} for n in sorted(done)]

    def _send_part(self, number: int, offset: int, length: int) -> str:
        for attempt in range(1, PART_ATTEMPTS + 1):
            body = FileRange(self.path, offset, length, self._on_bytes, self._stop, self._rate)
            with self._lock:
                url = self._urls[number]
            try:
                response = requests.put(url, data=body, timeout=UPLOAD_TIMEOUT)
            except (requests.ConnectionError, requests.Timeout):
                if self._stop.is_set():
                    raise Interrupted("stopped") from None
                self._on_bytes(-body.sent)
                if attempt == PART_ATTEMPTS:
                    raise Unreachable(f"part {number} could not be sent after {PART_ATTEMPTS} tries") from None
                continue
            if response.status_code < 300:
                return str(response.headers["ETag"])
            self._on_bytes(-body.sent)
            if response.status_code == 403 and attempt < PART_ATTEMPTS:
                self.refresh()  # the URL expired: ask for fresh ones
                continue
            if response.status_code >= 500 and attempt < PART_ATTEMPTS:
                continue
            raise storage_error(response)
        raise AssertionError("unreachable")


def begin(client: ApiClient, body: dict[str, Any], path: Path) -> tuple[str, dict[str, Any]]:
    """``POST /imports/uploads`` with multipart: the job id and the state to send from."""
    accepted = client.post("/imports/uploads", {**body, "multipart": True, "size": path.stat().st_size})
    return str(accepted["job_id"]), dict(accepted["upload"])


def complete(client: ApiClient, job_id: str, parts: list[dict[str, Any]]) -> dict[str, Any]:
    return dict(client.post(job_path(job_id, "/upload/complete"), {"parts": parts}))


def interrupted(
    job_id: str, path: Path, exit_code: ExitCode = ExitCode.INTERRUPTED, reason: str = "interrupted"
) -> Interrupted:
    return Interrupted(
        f"upload {reason}; what S3 holds stays a day: contacts-import upload '{path}' --resume {job_id}",
        exit_code=exit_code,
    )
