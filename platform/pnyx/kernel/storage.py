"""File storage: a local folder (embedded default) or an S3 bucket through boto3."""

from __future__ import annotations

import mimetypes
from pathlib import Path, PurePosixPath
from typing import Protocol


class Storage(Protocol):
    def put(self, key: str, data: bytes, content_type: str | None = None) -> str: ...
    def get(self, key: str) -> bytes: ...
    def delete(self, key: str) -> None: ...
    def url(self, key: str) -> str: ...


def _safe_key(key: str) -> str:
    path = PurePosixPath(key)
    if path.is_absolute() or ".." in path.parts or not key:
        raise ValueError(f"unsafe storage key {key!r}")
    return str(path)


class LocalStorage:
    def __init__(self, root: Path, public_prefix: str = "/files/") -> None:
        self.root = Path(root)
        self.public_prefix = public_prefix

    def path(self, key: str) -> Path:
        """Where ``key`` lives on disk; ``ValueError`` for a key that would leave the root."""
        return self.root / _safe_key(key)

    def put(self, key: str, data: bytes, content_type: str | None = None) -> str:
        path = self.path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(path.suffix + ".part")
        tmp.write_bytes(data)
        tmp.replace(path)
        return key

    def get(self, key: str) -> bytes:
        return self.path(key).read_bytes()

    def delete(self, key: str) -> None:
        self.path(key).unlink(missing_ok=True)

    def url(self, key: str) -> str:
        return self.public_prefix + _safe_key(key)


class S3Storage:
    def __init__(self, bucket: str, endpoint_url: str | None = None, public_url: str | None = None):
        import boto3

        self.bucket = bucket
        self.client = boto3.client("s3", endpoint_url=endpoint_url)
        self.public_url = (public_url or f"https://{bucket}.s3.amazonaws.com").rstrip("/")

    def put(self, key: str, data: bytes, content_type: str | None = None) -> str:
        content_type = content_type or mimetypes.guess_type(key)[0] or "application/octet-stream"
        self.client.put_object(
            Bucket=self.bucket, Key=_safe_key(key), Body=data, ContentType=content_type
        )
        return key

    def get(self, key: str) -> bytes:
        return self.client.get_object(Bucket=self.bucket, Key=_safe_key(key))["Body"].read()

    def delete(self, key: str) -> None:
        self.client.delete_object(Bucket=self.bucket, Key=_safe_key(key))

    def url(self, key: str) -> str:
        return f"{self.public_url}/{_safe_key(key)}"


def make_storage(config) -> Storage:
    if config.s3_bucket:
        return S3Storage(config.s3_bucket, config.s3_endpoint_url, config.s3_public_url)
    return LocalStorage(config.storage_root)
