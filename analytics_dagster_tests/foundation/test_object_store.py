import pytest

from analytics_dagster.defs.resources import ObjectStoreResource
from analytics_dagster.lib.object_store import LocalObjectStore, ObjectStore, S3ObjectStore


@pytest.fixture(params=["local", "s3"])
def store(request, tmp_path) -> ObjectStore:
    if request.param == "local":
        return ObjectStoreResource(local_dir=str(tmp_path / "objects")).store()
    endpoint = request.getfixturevalue("moto_endpoint")
    bucket = request.getfixturevalue("s3_bucket")
    from dagster_aws.s3 import S3Resource

    resource = ObjectStoreResource(
        local_dir=str(tmp_path / "unused"),
        s3_bucket=bucket,
        s3_prefix="analytics",
        s3=S3Resource(endpoint_url=endpoint, region_name="us-east-1"),
    )
    return resource.store()


def test_put_get_list_and_stream(store, tmp_path):
    store.put_bytes("raw/a/2026-03-15/x.json.gz", b"one")
    source = tmp_path / "big.bin"
    source.write_bytes(b"x" * (6 * 1024 * 1024))
    store.put_file("raw/a/2026-03-15/big.bin", source)
    assert store.get_bytes("raw/a/2026-03-15/x.json.gz") == b"one"
    assert store.list_keys("raw/a/2026-03-15") == ["raw/a/2026-03-15/big.bin", "raw/a/2026-03-15/x.json.gz"]
    assert store.list_keys("raw/b") == []
    with store.open_read("raw/a/2026-03-15/big.bin") as reader:
        assert len(reader.read(1024)) == 1024
    target = tmp_path / "copy.bin"
    store.download_file("raw/a/2026-03-15/big.bin", target)
    assert target.read_bytes() == source.read_bytes()
    assert store.exists("raw/a/2026-03-15/x.json.gz") and not store.exists("raw/a/2026-03-15/nope")


def test_replace_prefix_is_idempotent_and_drops_stale_objects(store, tmp_path):
    first, second = tmp_path / "1", tmp_path / "2"
    first.write_bytes(b"first")
    second.write_bytes(b"second")
    store.put_bytes("raw/a/2026-03-15/stale.json.gz", b"old")
    store.put_bytes("raw/a/2026-03-16/other-day.json.gz", b"keep")
    for _ in range(2):
        store.replace_prefix(
            "raw/a/2026-03-15", {"f1": first, "f2": second}, commit_name="_manifest.json", commit_data=b"{}"
        )
    assert store.list_keys("raw/a/2026-03-15") == [
        "raw/a/2026-03-15/_manifest.json",
        "raw/a/2026-03-15/f1",
        "raw/a/2026-03-15/f2",
    ]
    assert store.get_bytes("raw/a/2026-03-16/other-day.json.gz") == b"keep"


def test_uris_point_at_the_object(store):
    store.put_bytes("reports/r.html", b"<html></html>")
    uri = store.uri("reports/r.html")
    if isinstance(store, S3ObjectStore):
        assert uri == f"s3://{store.bucket}/analytics/reports/r.html"
        assert store.local_path("reports/r.html") is None
    else:
        assert isinstance(store, LocalObjectStore)
        assert uri.startswith("file://") and store.local_path("reports/r.html").read_bytes() == b"<html></html>"


def test_s3_delete_handles_more_than_one_page(moto_endpoint, s3_bucket, s3_client):
    store = S3ObjectStore(s3_client, s3_bucket)
    for i in range(1100):
        store.put_bytes(f"many/{i:05d}", b"")
    assert len(store.list_keys("many/")) == 1100
    store.delete(store.list_keys("many/"))
    assert store.list_keys("many/") == []


def test_local_keys_cannot_escape_the_root(tmp_path):
    with pytest.raises(ValueError, match="escapes"):
        LocalObjectStore(tmp_path / "root").put_bytes("../outside", b"x")
