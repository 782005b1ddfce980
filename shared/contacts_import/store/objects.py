"""The imports bucket: raw files in, presigned uploads out, result documents written back."""

from __future__ import annotations

import json
import tempfile
from collections.abc import Iterable
from typing import Any, BinaryIO

import boto3
from aws_lambda_powertools.utilities.streaming import S3Object
from botocore.config import Config
from botocore.exceptions import ClientError

from contacts_import.store.metering import count_requests

SPOOL_IN_MEMORY_BYTES = 8 * 1024 * 1024
BOTO_CONFIG = Config(retries={"mode": "standard", "max_attempts": 8}, signature_version="s3v4")


def s3_client() -> Any:
    return count_requests(boto3.client("s3", config=BOTO_CONFIG), "s3")


class ObjectStore:
    def __init__(self, client: Any, bucket: str) -> None:
        self._client = client
        self.bucket = bucket

    def put_file(self, key: str, body: bytes, content_type: str = "text/csv") -> None:
        self._client.put_object(Bucket=self.bucket, Key=key, Body=body, ContentType=content_type)

    def put_json(self, key: str, document: Any) -> None:
        body = json.dumps(document, ensure_ascii=False, indent=2).encode("utf-8")
        self._client.put_object(Bucket=self.bucket, Key=key, Body=body, ContentType="application/json")

    def put_stream(self, key: str, chunks: Iterable[bytes], content_type: str) -> int:
        """Store what ``chunks`` yield, however large, holding at most a few MiB in memory (the rest
        spills to /tmp); the number of bytes stored."""
        with tempfile.SpooledTemporaryFile(max_size=SPOOL_IN_MEMORY_BYTES) as spool:
            for chunk in chunks:
                spool.write(chunk)
            size = spool.tell()
            spool.seek(0)
            self._client.upload_fileobj(spool, self.bucket, key, ExtraArgs={"ContentType": content_type})
        return size

    def presigned_get(self, key: str, *, expires_in: int, download_name: str) -> str:
        """A URL that reads one object for ``expires_in`` seconds, offered as a download."""
        return str(
            self._client.generate_presigned_url(
                "get_object",
                Params={
                    "Bucket": self.bucket,
                    "Key": key,
                    "ResponseContentDisposition": f'attachment; filename="{download_name}"',
                },
                ExpiresIn=expires_in,
            )
        )

    def size(self, key: str) -> int:
        return int(self._client.head_object(Bucket=self.bucket, Key=key)["ContentLength"])

    def exists(self, key: str) -> bool:
        try:
            self._client.head_object(Bucket=self.bucket, Key=key)
            return True
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") in {"404", "NoSuchKey", "NotFound"}:
                return False
            raise

    def open(self, key: str) -> BinaryIO:
        """A stream over the object: read sequentially with ranged GETs, never held whole."""
        return S3Object(bucket=self.bucket, key=key, boto3_client=self._client)  # type: ignore[return-value]

    def presigned_post(self, key: str, *, max_bytes: int, expires_in: int) -> dict[str, Any]:
        """A form POST bound to one key and a size range. AWS enforces the policy; moto does not,
        so the processor checks the size again."""
        return self._client.generate_presigned_post(
            Bucket=self.bucket,
            Key=key,
            Conditions=[["content-length-range", 1, max_bytes]],
            ExpiresIn=expires_in,
        )

    # ---- multipart uploads (docs/api.md, Resumable uploads): the client sends the parts to
    # presigned UploadPart URLs; this role creates, lists, completes and aborts them.

    def create_multipart(self, key: str, content_type: str = "text/csv") -> str:
        """A new multipart upload of ``key``: its upload id."""
        response = self._client.create_multipart_upload(Bucket=self.bucket, Key=key, ContentType=content_type)
        return str(response["UploadId"])

    def presigned_part(self, key: str, upload_id: str, part_number: int, *, expires_in: int) -> str:
        """A URL that PUTs one part of a multipart upload for ``expires_in`` seconds."""
        return str(
            self._client.generate_presigned_url(
                "upload_part",
                Params={"Bucket": self.bucket, "Key": key, "UploadId": upload_id, "PartNumber": part_number},
                ExpiresIn=expires_in,
                HttpMethod="PUT",
            )
        )

    def list_parts(self, key: str, upload_id: str) -> dict[int, tuple[str, int]] | None:
        """The parts S3 holds, part number -> (ETag, size); None when the upload no longer exists
        (completed, aborted, or removed by the bucket's lifecycle rule)."""
        held: dict[int, tuple[str, int]] = {}
        marker = 0
        while True:
            try:
                response = self._client.list_parts(
                    Bucket=self.bucket, Key=key, UploadId=upload_id, PartNumberMarker=marker, MaxParts=1000
                )
            except ClientError as error:
                if error.response.get("Error", {}).get("Code") in {"NoSuchUpload", "404"}:
                    return None
                raise
            for part in response.get("Parts", []):
                held[int(part["PartNumber"])] = (str(part["ETag"]), int(part["Size"]))
            if not response.get("IsTruncated"):
                return held
            marker = int(response["NextPartNumberMarker"])

    def complete_multipart(self, key: str, upload_id: str, parts: list[tuple[int, str]]) -> None:
        """Join the parts (number, ETag) into the object: S3 then sends its ObjectCreated event."""
        self._client.complete_multipart_upload(
            Bucket=self.bucket,
            Key=key,
            UploadId=upload_id,
            MultipartUpload={"Parts": [{"PartNumber": n, "ETag": etag} for n, etag in parts]},
        )

    def abort_multipart(self, key: str, upload_id: str) -> None:
        """Drop the upload and every part it holds; nothing when it is already gone."""
        try:
            self._client.abort_multipart_upload(Bucket=self.bucket, Key=key, UploadId=upload_id)
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") not in {"NoSuchUpload", "404"}:
                raise
