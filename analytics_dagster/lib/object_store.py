"""Object store for raw data and reports: a local folder by default, S3 (or any S3-compatible endpoint) when configured.

Keys are '/'-separated paths relative to the store root, e.g. ``raw/amplitude/2026-03-15/_manifest.json``.

Every object also has a ``public_url``: an http(s) link a browser opens from the Dagster UI. On S3 it is a presigned
GET URL; for the local folder it points at the read-only report server (``analytics_dagster.report_server``, which
``make dev`` starts beside the UI).
"""

from __future__ import annotations

import mimetypes
import os
import shutil
import uuid
from abc import ABC, abstractmethod
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any
from urllib.parse import quote

# Where ``make dev`` serves the local object-store folder (REPORTS_BASE_URL overrides it, e.g. behind a proxy).
LOCAL_REPORTS_BASE_URL = "http://127.0.0.1:3030"
# SigV4 presigned URLs live at most 7 days.
MAX_PRESIGNED_URL_SECONDS = 7 * 24 * 3600
# Shown as text in the browser rather than downloaded (Chromium downloads text/markdown).
_PLAIN_TEXT_SUFFIXES = (".md", ".ndjson", ".jsonl", ".log")
# Python's built-in table only, so a type does not depend on the machine's /etc/mime.types; plus what it lacks.
_MIME_TYPES = mimetypes.MimeTypes(filenames=())
_MIME_TYPES.add_type("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", ".xlsx")
_MIME_TYPES.add_type("application/vnd.apache.parquet", ".parquet")


def content_type(key: str) -> str:
    """The Content-Type that makes a browser show the object: HTML renders, Markdown and JSON read as text,
    compressed files download as what they are (``x.json.gz`` is gzip, not JSON)."""
    name = key.rsplit("/", 1)[-1].lower()
    if name.endswith(_PLAIN_TEXT_SUFFIXES):
        return "text/plain; charset=utf-8"
    kind, encoding = _MIME_TYPES.guess_type(name)
    if encoding == "gzip":
        return "application/gzip"
    if encoding or kind is None:
        return "application/octet-stream"
    return f"{kind}; charset=utf-8" if kind.startswith("text/") or kind == "application/json" else kind


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

    @abstractmethod
    def public_url(self, key: str) -> str:
        """An http(s) URL a browser opens (asset metadata links): presigned on S3, the report server locally."""

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
    def __init__(self, root: str | os.PathLike, public_base_url: str = LOCAL_REPORTS_BASE_URL):
        self.root = Path(root).resolve()
        if not public_base_url.startswith(("http://", "https://")):
            raise ValueError(f"the reports base URL (REPORTS_BASE_URL) must be an http(s) URL, not {public_base_url!r}")
        self.public_base_url = public_base_url.rstrip("/")

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
            p.relative_to(self.root).as_posix() for p in base.rglob("*") if p.is_file() and not p.name.endswith(".tmp")
        )

    def exists(self, key: str) -> bool:
        return self._path(key).is_file()

    def delete(self, keys: list[str]) -> None:
        for key in keys:
            self._path(key).unlink(missing_ok=True)

    def uri(self, key: str) -> str:
        return self._path(key).as_uri()

    def public_url(self, key: str) -> str:
        relative = self._path(key).relative_to(self.root).as_posix()
        return f"{self.public_base_url}/{quote(relative)}"

    def local_path(self, key: str) -> Path | None:
        return self._path(key)


def _presign_with_sigv4(signature_version: str, **_: Any) -> str | None:
    """botocore presigns with legacy SigV2 in the regions that still accept it (us-east-1 among them) unless the
    client sets a signature version, which dagster-aws's ``S3Resource`` cannot; SigV4 works in every region."""
    return "s3v4-query" if signature_version in ("v4-query", "s3-query") else None


class S3ObjectStore(ObjectStore):
    """S3 through a boto3 client (dagster-aws's ``S3Resource`` builds it in the Dagster layer)."""

    _DELETE_BATCH = 1000  # DeleteObjects accepts at most 1,000 keys per call

    def __init__(self, client: Any, bucket: str, prefix: str = "", url_expiry_seconds: int = MAX_PRESIGNED_URL_SECONDS):
        if not 1 <= url_expiry_seconds <= MAX_PRESIGNED_URL_SECONDS:
            raise ValueError(
                f"presigned URLs live between 1 s and {MAX_PRESIGNED_URL_SECONDS} s (7 days, S3's limit for SigV4); "
                f"got {url_expiry_seconds}"
            )
        self.client = client
        self.bucket = bucket
        self.prefix = prefix.strip("/")
        self.url_expiry_seconds = url_expiry_seconds
        client.meta.events.register_first(
            "choose-signer.s3.GetObject", _presign_with_sigv4, unique_id="analytics_dagster.presign_with_sigv4"
        )

    def _key(self, key: str) -> str:
        return f"{self.prefix}/{key}" if self.prefix else key

    def _relative(self, full_key: str) -> str:
        return full_key[len(self.prefix) + 1 :] if self.prefix else full_key

    def put_bytes(self, key: str, data: bytes) -> None:
        self.client.put_object(Bucket=self.bucket, Key=self._key(key), Body=data, ContentType=content_type(key))

    def put_file(self, key: str, path: str | os.PathLike) -> None:
        self.client.upload_file(str(path), self.bucket, self._key(key), ExtraArgs={"ContentType": content_type(key)})

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

    def public_url(self, key: str) -> str:
        # The response type is part of the signature, so objects stored before uploads carried a Content-Type
        # (S3 then answers binary/octet-stream and the browser downloads the dashboard) open in the browser too.
        return self.client.generate_presigned_url(
            "get_object",
            Params={"Bucket": self.bucket, "Key": self._key(key), "ResponseContentType": content_type(key)},
            ExpiresIn=self.url_expiry_seconds,
        )
