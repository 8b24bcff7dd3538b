import gzip
import zipfile

import pytest

from analytics_dagster.lib.object_store import LocalObjectStore
from analytics_dagster.lib.raw_store import (
    CorruptRawFileError,
    describe_gzip_file,
    extract_export_zip,
    publish_day,
    read_manifest,
)


def gz_lines(n: int) -> bytes:
    return gzip.compress(b"".join(b'{"uuid": "%d"}\n' % i for i in range(n)))


def test_describe_counts_lines_across_concatenated_members(tmp_path):
    path = tmp_path / "a.json.gz"
    path.write_bytes(gz_lines(10) + gz_lines(5))
    described = describe_gzip_file(path)
    assert described.lines == 15 and described.bytes == path.stat().st_size and len(described.sha256) == 64


@pytest.mark.parametrize("damage", ["truncate", "flip", "empty"])
def test_damaged_gzip_is_rejected(tmp_path, damage):
    data = bytearray(gz_lines(1000))
    if damage == "truncate":
        data = data[: len(data) // 2]
    elif damage == "flip":
        data[len(data) // 2] ^= 0xFF
    else:
        data = bytearray()
    path = tmp_path / "bad.json.gz"
    path.write_bytes(bytes(data))
    with pytest.raises(CorruptRawFileError, match="bad.json.gz"):
        describe_gzip_file(path)


def test_zip_members_are_extracted_flat_and_a_truncated_zip_is_rejected(tmp_path):
    archive = tmp_path / "export.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("100001/100001_2026-03-14_21#0.json.gz", gz_lines(3))
        zf.writestr("100001/100001_2026-03-15_0#0.json.gz", gz_lines(4))
    files = extract_export_zip(archive, tmp_path / "out")
    assert [f.name for f in files] == ["100001_2026-03-14_21#0.json.gz", "100001_2026-03-15_0#0.json.gz"]
    cut = tmp_path / "cut.zip"
    cut.write_bytes(archive.read_bytes()[:-40])
    with pytest.raises(CorruptRawFileError, match="cut.zip"):
        extract_export_zip(cut, tmp_path / "out2")


def test_publish_writes_manifest_and_replaces_the_day(tmp_path):
    store = LocalObjectStore(tmp_path / "objects")
    first = tmp_path / "a.json.gz"
    first.write_bytes(gz_lines(7))
    publish_day(store, "amplitude", "2026-03-15", [first], origin="demo")
    manifest = read_manifest(store, "amplitude", "2026-03-15")
    assert manifest.total_lines == 7 and manifest.is_demo
    second = tmp_path / "b.json.gz"
    second.write_bytes(gz_lines(2))
    publish_day(store, "amplitude", "2026-03-15", [second], origin="export_api")
    assert store.list_keys("raw/amplitude/2026-03-15") == [
        "raw/amplitude/2026-03-15/_manifest.json",
        "raw/amplitude/2026-03-15/b.json.gz",
    ]
    assert read_manifest(store, "amplitude", "2026-03-15").total_lines == 2
    assert read_manifest(store, "amplitude", "2026-03-16") is None


def test_corrupt_file_is_never_published(tmp_path):
    store = LocalObjectStore(tmp_path / "objects")
    bad = tmp_path / "bad.json.gz"
    bad.write_bytes(gz_lines(100)[:-10])
    with pytest.raises(CorruptRawFileError):
        publish_day(store, "amplitude", "2026-03-15", [bad], origin="export_api")
    assert store.list_keys("raw/amplitude") == []
