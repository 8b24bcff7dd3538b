"""The raw store: one folder per source and Moscow day in the object store, plus a manifest written last.

Layout (downstream stages read only this, whichever way the data arrived):

    raw/amplitude/<YYYY-MM-DD>/<projectId>_<UTC date>_<UTC hour>#<n>.json.gz  Export API members, S3 export objects
    raw/amplitude/<YYYY-MM-DD>/_manifest.json
    raw/appmetrica/<YYYY-MM-DD>/events.json.gz                                 gzip of the Logs API body {"data": [...]}
    raw/appmetrica/<YYYY-MM-DD>/_manifest.json

The manifest lists every file with its size, line count and sha256; a day without a manifest is not there yet.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import zipfile
import zlib
from dataclasses import asdict, dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from analytics_dagster.lib.object_store import ObjectStore

MANIFEST_NAME = "_manifest.json"
_CHUNK = 1 << 20


class CorruptRawFileError(ValueError):
    """A downloaded file is truncated or corrupt; it must be fetched again, never stored."""


@dataclass(frozen=True)
class RawFile:
    name: str
    bytes: int
    lines: int
    sha256: str


@dataclass
class Manifest:
    source: str
    partition: str
    origin: str  # 'demo', 'export_api', 'logs_api', 's3_export'
    files: list[RawFile]
    created_at: str = field(default_factory=lambda: dt.datetime.now(dt.UTC).isoformat(timespec="seconds"))
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def is_demo(self) -> bool:
        return self.origin == "demo"

    @property
    def total_bytes(self) -> int:
        return sum(f.bytes for f in self.files)

    @property
    def total_lines(self) -> int:
        return sum(f.lines for f in self.files)

    def to_json(self) -> bytes:
        return json.dumps(asdict(self), indent=2, sort_keys=True).encode()

    @classmethod
    def from_json(cls, data: bytes) -> Manifest:
        raw = json.loads(data)
        raw["files"] = [RawFile(**f) for f in raw["files"]]
        return cls(**raw)


def day_prefix(source: str, day: dt.date | str) -> str:
    return f"raw/{source}/{day}"


def manifest_key(source: str, day: dt.date | str) -> str:
    return f"{day_prefix(source, day)}/{MANIFEST_NAME}"


def read_manifest(store: ObjectStore, source: str, day: dt.date | str) -> Manifest | None:
    key = manifest_key(source, day)
    if not store.exists(key):
        return None
    return Manifest.from_json(store.get_bytes(key))


def describe_gzip_file(path: Path) -> RawFile:
    """Size, sha256 and line count of a gzip file, verifying every member decompresses to its end marker.

    Raises :class:`CorruptRawFileError` on a truncated file or a corrupt member (bad CRC, bad deflate data).
    """
    digest = hashlib.sha256()
    size = lines = 0
    decompressor = zlib.decompressobj(wbits=zlib.MAX_WBITS | 16)
    inside_member = False
    try:
        with open(path, "rb") as handle:
            while chunk := handle.read(_CHUNK):
                digest.update(chunk)
                size += len(chunk)
                while chunk:
                    inside_member = True
                    lines += decompressor.decompress(chunk).count(b"\n")
                    chunk = b""
                    if decompressor.eof:  # concatenated gzip members are valid gzip: start the next one
                        chunk = decompressor.unused_data
                        decompressor = zlib.decompressobj(wbits=zlib.MAX_WBITS | 16)
                        inside_member = False
    except zlib.error as error:
        raise CorruptRawFileError(f"{path.name}: corrupt gzip data ({error})") from error
    if size == 0:
        raise CorruptRawFileError(f"{path.name}: empty file")
    if inside_member:
        raise CorruptRawFileError(f"{path.name}: gzip data ends before the end of its last member (truncated)")
    return RawFile(name=path.name, bytes=size, lines=lines, sha256=digest.hexdigest())


def extract_export_zip(zip_path: Path, out_dir: Path) -> list[Path]:
    """Extracts an Amplitude Export API ZIP, streaming, checking each member's CRC and gzip integrity.

    Members are written flat (``<projectId>_<date>_<hour>#<n>.json.gz``) into ``out_dir``. A truncated ZIP or a
    corrupt member raises :class:`CorruptRawFileError`.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    try:
        with zipfile.ZipFile(zip_path) as archive:
            for info in archive.infolist():
                if info.is_dir():
                    continue
                name = PurePosixPath(info.filename).name
                if not name.endswith(".json.gz"):
                    continue
                target = out_dir / name
                with archive.open(info) as src, open(target, "wb") as dst:
                    while chunk := src.read(_CHUNK):
                        dst.write(chunk)
                written.append(target)
    except (zipfile.BadZipFile, EOFError, zlib.error) as error:
        raise CorruptRawFileError(f"{zip_path.name}: truncated or corrupt ZIP archive ({error})") from error
    return sorted(written)


def publish_day(
    store: ObjectStore,
    source: str,
    day: dt.date | str,
    files: list[Path],
    *,
    origin: str,
    details: dict[str, Any] | None = None,
) -> Manifest:
    """Verifies ``files`` and makes them the whole raw content of (source, day), the manifest written last."""
    names = [path.name for path in files]
    if len(set(names)) != len(names) or MANIFEST_NAME in names:
        raise ValueError(f"raw files for {source} {day} must have distinct names other than {MANIFEST_NAME}")
    manifest = Manifest(
        source=source,
        partition=str(day),
        origin=origin,
        files=[describe_gzip_file(path) for path in files],
        details=details or {},
    )
    store.replace_prefix(
        day_prefix(source, day),
        {path.name: path for path in files},
        commit_name=MANIFEST_NAME,
        commit_data=manifest.to_json(),
    )
    return manifest


def publish_day_merged(
    store: ObjectStore,
    source: str,
    day: dt.date | str,
    files: list[Path],
    *,
    keep: list[RawFile],
    origin: str,
    details: dict[str, Any] | None = None,
) -> Manifest:
    """Like :func:`publish_day`, but also keeps ``keep`` — entries of the day's current manifest — in place.

    Only ``files`` are verified and uploaded; a new file replaces a kept one of the same name. The new files are
    written first, then the manifest, then every other key under the day is deleted, so a reader that trusts the
    manifest never sees a half-written day.
    """
    names = [path.name for path in files]
    if len(set(names)) != len(names) or MANIFEST_NAME in names:
        raise ValueError(f"raw files for {source} {day} must have distinct names other than {MANIFEST_NAME}")
    described = [describe_gzip_file(path) for path in files]
    replaced = set(names)
    kept = [f for f in keep if f.name not in replaced]
    prefix = day_prefix(source, day) + "/"
    missing = [f.name for f in kept if not store.exists(prefix + f.name)]
    if missing:
        raise ValueError(f"cannot keep {source} {day} files that are not in the store: {', '.join(missing)}")
    manifest = Manifest(
        source=source,
        partition=str(day),
        origin=origin,
        files=sorted(kept + described, key=lambda f: f.name),
        details=details or {},
    )
    for path in files:
        store.put_file(prefix + path.name, path)
    store.put_bytes(prefix + MANIFEST_NAME, manifest.to_json())
    wanted = {prefix + f.name for f in manifest.files} | {prefix + MANIFEST_NAME}
    stale = [key for key in store.list_keys(prefix) if key not in wanted]
    if stale:
        store.delete(stale)
    return manifest
