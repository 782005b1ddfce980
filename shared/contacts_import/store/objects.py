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
