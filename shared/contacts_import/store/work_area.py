"""A job's working objects in the bucket, under ``work/<account>/<job_id>/``: the chunk plan, the
staged text of a file that cannot be read in ranges (gzip, xlsx, UTF-16), each chunk's run, and
the lists a mirror-mode prune deletes. They are deleted when the job ends, and expire anyway.

Every object has a fixed name, and whatever writes it writes the same bytes every time: a repeated
task overwrites its own output with identical content, which S3 swaps in atomically.
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from typing import Any, BinaryIO

WORK_PREFIX = "work/"
PART_BYTES = 8 * 1024 * 1024  # S3 multipart parts are at least 5 MiB (all but the last)
DELETE_BATCH = 1000


def work_prefix(account_id: str, job_id: str) -> str:
    return f"{WORK_PREFIX}{account_id}/{job_id}/"


class MultipartWriter:
    """A file-like sink that streams into one S3 object, a part at a time."""

    def __init__(self, client: Any, bucket: str, key: str) -> None:
        self._client = client
        self._bucket = bucket
        self.key = key
        self._buffer = bytearray()
        self._upload_id: str | None = None
        self._parts: list[dict[str, Any]] = []
        self.size = 0

    def write(self, data: bytes) -> int:
        self._buffer += data
        self.size += len(data)
        while len(self._buffer) >= PART_BYTES:
            self._send(bytes(self._buffer[:PART_BYTES]))
            del self._buffer[:PART_BYTES]
        return len(data)

    def _send(self, part: bytes) -> None:
        if self._upload_id is None:
            self._upload_id = self._client.create_multipart_upload(Bucket=self._bucket, Key=self.key)["UploadId"]
        number = len(self._parts) + 1
        answer = self._client.upload_part(
            Bucket=self._bucket, Key=self.key, UploadId=self._upload_id, PartNumber=number, Body=part
        )
        self._parts.append({"PartNumber": number, "ETag": answer["ETag"]})

    def close(self) -> None:
        if self._upload_id is None:
            self._client.put_object(Bucket=self._bucket, Key=self.key, Body=bytes(self._buffer))
        else:
            if self._buffer:
                self._send(bytes(self._buffer))
            self._client.complete_multipart_upload(
                Bucket=self._bucket, Key=self.key, UploadId=self._upload_id, MultipartUpload={"Parts": self._parts}
            )
        self._buffer.clear()

    def abort(self) -> None:
        if self._upload_id is not None:
            self._client.abort_multipart_upload(Bucket=self._bucket, Key=self.key, UploadId=self._upload_id)
        self._buffer.clear()


class WorkArea:
    """One job's working objects."""

    def __init__(self, client: Any, bucket: str, account_id: str, job_id: str) -> None:
        self._client = client
        self.bucket = bucket
        self.prefix = work_prefix(account_id, job_id)

    @property
    def staged_key(self) -> str:
        return self.prefix + "staged.csv"

    def staging_writer(self) -> MultipartWriter:
        return MultipartWriter(self._client, self.bucket, self.staged_key)

    def put_plan(self, document: dict[str, Any]) -> None:
        self._put(self.prefix + "plan.json", json.dumps(document, ensure_ascii=False).encode("utf-8"))

    def get_plan(self) -> dict[str, Any]:
        return json.loads(self._get(self.prefix + "plan.json"))

    def put_run(self, number: int, run: bytes) -> None:
        self._put(self._run_key(number), run)

    def read_run(self, number: int, start: int, end: int) -> bytes:
        return self.open_range(self._run_key(number), start, end).read()

    def prune_list_writer(self, number: int, attempt: str) -> MultipartWriter:
        """Where a prune task streams the phones it is to delete, one a line."""
        return MultipartWriter(self._client, self.bucket, f"{self.prefix}prune/{number:06d}-{attempt}.txt")

    def prune_list(self, key: str, skip: int = 0) -> Iterator[str]:
        """The phones of a prune list, streamed, after the first ``skip``."""
        if not key.startswith(self.prefix):
            raise ValueError("a prune list of another job")
        body = self._client.get_object(Bucket=self.bucket, Key=key)["Body"]
        for number, line in enumerate(body.iter_lines()):
            if number >= skip and line:
                yield line.decode("ascii")

    def open_range(self, key: str, start: int, end: int) -> BinaryIO:
        """Bytes ``start`` to ``end`` (exclusive) of any object of the bucket, streamed."""
        if end <= start:
            return io.BytesIO(b"")
        body = self._client.get_object(Bucket=self.bucket, Key=key, Range=f"bytes={start}-{end - 1}")["Body"]
        return body  # type: ignore[no-any-return]

    def delete_all(self) -> int:
        """Delete every working object of the job; how many there were."""
        deleted = 0
        paginator = self._client.get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=self.bucket, Prefix=self.prefix):
            keys = [{"Key": item["Key"]} for item in page.get("Contents", [])]
            for start in range(0, len(keys), DELETE_BATCH):
                batch = keys[start : start + DELETE_BATCH]
                self._client.delete_objects(Bucket=self.bucket, Delete={"Objects": batch, "Quiet": True})
                deleted += len(batch)
        return deleted

    def _run_key(self, number: int) -> str:
        return f"{self.prefix}runs/{number:06d}.jsonl"

    def _put(self, key: str, body: bytes) -> None:
        self._client.put_object(Bucket=self.bucket, Key=key, Body=body)

    def _get(self, key: str) -> bytes:
        return self._client.get_object(Bucket=self.bucket, Key=key)["Body"].read()  # type: ignore[no-any-return]
