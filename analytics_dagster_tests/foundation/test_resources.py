import dagster as dg

from analytics_dagster.defs.resources import object_store_from_env, warehouse_from_env
from analytics_dagster.lib.object_store import LocalObjectStore, S3ObjectStore


def test_defaults_are_local_folder_and_duckdb_under_the_data_dir(monkeypatch, tmp_path):
    for name in ("S3_BUCKET", "WAREHOUSE", "DUCKDB_PATH"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("ANALYTICS_DATA_DIR", str(tmp_path))
    store = object_store_from_env().store()
    assert isinstance(store, LocalObjectStore) and store.root == tmp_path / "objects"
    assert warehouse_from_env().get().path == tmp_path / "warehouse.duckdb"


def test_s3_bucket_switches_to_s3_with_secrets_from_env_vars(monkeypatch, moto_endpoint, s3_bucket):
    monkeypatch.setenv("S3_BUCKET", s3_bucket)
    monkeypatch.setenv("S3_PREFIX", "team")
    monkeypatch.setenv("S3_ENDPOINT_URL", moto_endpoint)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "super-secret-value")
    resource = object_store_from_env()
    # The secret reaches the resource as an EnvVar: the UI shows its name, never its value.
    assert resource.s3.aws_secret_access_key == dg.EnvVar("AWS_SECRET_ACCESS_KEY")
    with dg.build_resources({"object_store": resource}) as built:
        store = built.object_store.store()
        assert isinstance(store, S3ObjectStore)
        store.put_bytes("probe.txt", b"hello")
        assert store.uri("probe.txt") == f"s3://{s3_bucket}/team/probe.txt"
        assert store.get_bytes("probe.txt") == b"hello"


def test_postgres_dsn_is_a_secret(monkeypatch):
    monkeypatch.setenv("WAREHOUSE", "postgres")
    monkeypatch.setenv("POSTGRES_DSN", "postgresql://u:pw@host/db")
    assert warehouse_from_env().postgres_dsn == dg.EnvVar("POSTGRES_DSN")
