"""Object store for raw data and reports: a local folder by default, S3 (or any S3-compatible endpoint) when configured.

Keys are '/'-separated paths relative to the store root, e.g. ``raw/amplitude/2026-03-15/_manifest.json``.
"""

from __future__ import annotations

import os
import shutil
import uuid
from abc import ABC, abstractmethod
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any


class ObjectStore(ABC):
    @abstractmethod
    def put_bytes(self, key: str, data: bytes) -> None: ...

    @abstractmethod
    def put_file(self, key: str, path: str | os.PathLike) -> None:
        """Uploads a local file (streamed, never read whole into memory)."""

    @abstractmethod
    def get_bytes(self, key: str) -> bytes: ...

    @abstractmethod
    def download_file(self, key: str, path: str | os.PathLike) -> None: ...

    @abstractmethod
    def open_read(self, key: str) -> IO[bytes]:
        """A streaming binary reader; the caller closes it."""

    @abstractmethod
    def list_keys(self, prefix: str) -> list[str]:
        """All keys under ``prefix`` (recursively), sorted."""

    @abstractmethod
    def exists(self, key: str) -> bool: ...

    @abstractmethod
    def delete(self, keys: list[str]) -> None: ...

    @abstractmethod
    def uri(self, key: str) -> str:
        """Where a person or another tool finds the object (file:// or s3://)."""

    def local_path(self, key: str) -> Path | None:
        """The object's path on local disk when the store is local, else None."""
        return None

    def replace_prefix(self, prefix: str, files: dict[str, Path], *, commit_name: str, commit_data: bytes) -> list[str]:
        """Publishes ``files`` (name under prefix -> local path) plus a commit object as the whole of ``prefix``.

        Idempotent and safe to rerun: every new object is written first, then the commit object (so a reader that
        trusts it never sees a half-written set), then objects under the prefix that are not in the new set are
        deleted. Returns the written keys.
        """
        prefix = prefix.rstrip("/") + "/"
        written = []
        for name, path in sorted(files.items()):
            self.put_file(prefix + name, path)
            written.append(prefix + name)
        self.put_bytes(prefix + commit_name, commit_data)
        written.append(prefix + commit_name)
        keep = set(written)
        stale = [key for key in self.list_keys(prefix) if key not in keep]
        if stale:
            self.delete(stale)
        return written


class LocalObjectStore(ObjectStore):
    def __init__(self, root: str | os.PathLike):
        self.root = Path(root).resolve()

    def _path(self, key: str) -> Path:
        path = (self.root / key).resolve()
        if self.root not in path.parents and path != self.root:
            raise ValueError(f"object key {key!r} escapes the store root {self.root}")
        return path

    @contextmanager
    def _atomic_target(self, key: str) -> Iterator[Path]:
        target = self._path(key)
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(f".{target.name}.{uuid.uuid4().hex}.tmp")
        try:
            yield tmp
            os.replace(tmp, target)
        finally:
            tmp.unlink(missing_ok=True)

    def put_bytes(self, key: str, data: bytes) -> None:
        with self._atomic_target(key) as tmp:
            tmp.write_bytes(data)

    def put_file(self, key: str, path: str | os.PathLike) -> None:
        with self._atomic_target(key) as tmp:
            shutil.copyfile(path, tmp)

    def get_bytes(self, key: str) -> bytes:
        return self._path(key).read_bytes()

    def download_file(self, key: str, path: str | os.PathLike) -> None:
        shutil.copyfile(self._path(key), path)

    def open_read(self, key: str) -> IO[bytes]:
        return open(self._path(key), "rb")

    def list_keys(self, prefix: str) -> list[str]:
        base = self._path(prefix) if prefix else self.root
        if base.is_file():
            return [prefix]
        if not base.exists():
            return []
        return sorted(
            p.relative_to(self.root).as_posix()
            for p in base.rglob("*")
            if p.is_file() and not p.name.endswith(".tmp")
        )

    def exists(self, key: str) -> bool:
        return self._path(key).is_file()

    def delete(self, keys: list[str]) -> None:
        for key in keys:
            self._path(key).unlink(missing_ok=True)

    def uri(self, key: str) -> str:
        return self._path(key).as_uri()

    def local_path(self, key: str) -> Path | None:
        return self._path(key)


class S3ObjectStore(ObjectStore):
    """S3 through a boto3 client (dagster-aws's ``S3Resource`` builds it in the Dagster layer)."""

    _DELETE_BATCH = 1000  # DeleteObjects accepts at most 1,000 keys per call

    def __init__(self, client: Any, bucket: str, prefix: str = ""):
        self.client = client
        self.bucket = bucket
        self.prefix = prefix.strip("/")

    def _key(self, key: str) -> str:
        return f"{self.prefix}/{key}" if self.prefix else key

    def _relative(self, full_key: str) -> str:
        return full_key[len(self.prefix) + 1 :] if self.prefix else full_key

    def put_bytes(self, key: str, data: bytes) -> None:
        self.client.put_object(Bucket=self.bucket, Key=self._key(key), Body=data)

    def put_file(self, key: str, path: str | os.PathLike) -> None:
        self.client.upload_file(str(path), self.bucket, self._key(key))

    def get_bytes(self, key: str) -> bytes:
        return self.client.get_object(Bucket=self.bucket, Key=self._key(key))["Body"].read()

    def download_file(self, key: str, path: str | os.PathLike) -> None:
        self.client.download_file(self.bucket, self._key(key), str(path))

    def open_read(self, key: str) -> IO[bytes]:
        return self.client.get_object(Bucket=self.bucket, Key=self._key(key))["Body"]

    def list_keys(self, prefix: str) -> list[str]:
        paginator = self.client.get_paginator("list_objects_v2")
        keys = []
        for page in paginator.paginate(Bucket=self.bucket, Prefix=self._key(prefix)):
            keys.extend(self._relative(obj["Key"]) for obj in page.get("Contents", []))
        return sorted(keys)

    def exists(self, key: str) -> bool:
        from botocore.exceptions import ClientError

        try:
            self.client.head_object(Bucket=self.bucket, Key=self._key(key))
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                return False
            raise
        return True

    def delete(self, keys: list[str]) -> None:
        for start in range(0, len(keys), self._DELETE_BATCH):
            batch = keys[start : start + self._DELETE_BATCH]
            self.client.delete_objects(
                Bucket=self.bucket, Delete={"Objects": [{"Key": self._key(k)} for k in batch], "Quiet": True}
            )

    def uri(self, key: str) -> str:
        return f"s3://{self.bucket}/{self._key(key)}"
