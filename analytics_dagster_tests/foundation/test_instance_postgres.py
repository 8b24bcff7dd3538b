"""Production instance storage: the project's dagster.postgres.yaml against the local PostgreSQL."""

import shutil
import uuid

import dagster as dg
import psycopg
import pytest

from analytics_dagster.lib.settings import PROJECT_ROOT


@pytest.fixture
def dagster_database(postgres_url):
    name = f"dagster_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(postgres_url, autocommit=True) as con:
        con.execute(f"CREATE DATABASE {name}")
    yield name
    with psycopg.connect(postgres_url, autocommit=True) as con:
        con.execute(f"DROP DATABASE {name} WITH (FORCE)")


def test_runs_and_events_are_stored_in_postgres(tmp_path, monkeypatch, postgres_url, dagster_database):
    info = psycopg.conninfo.conninfo_to_dict(postgres_url)
    monkeypatch.setenv("DAGSTER_PG_HOST", info.get("host", "127.0.0.1"))
    monkeypatch.setenv("DAGSTER_PG_PORT", str(info.get("port", 5432)))
    monkeypatch.setenv("DAGSTER_PG_DB", dagster_database)
    monkeypatch.setenv("DAGSTER_PG_USERNAME", info.get("user", "postgres"))
    monkeypatch.setenv("DAGSTER_PG_PASSWORD", info.get("password", "unused-with-trust-auth"))
    shutil.copy(PROJECT_ROOT / "dagster.postgres.yaml", tmp_path / "dagster.yaml")

    @dg.asset
    def probe() -> int:
        return 1

    with dg.DagsterInstance.from_config(str(tmp_path)) as instance:
        assert type(instance.run_storage).__name__ == "PostgresRunStorage"
        result = dg.materialize([probe], instance=instance)
        assert result.success
        assert instance.get_latest_materialization_event(dg.AssetKey("probe")) is not None

    with psycopg.connect(postgres_url.rsplit("/", 1)[0] + f"/{dagster_database}") as con:
        (runs,) = con.execute("SELECT count(*) FROM runs").fetchone()
        (events,) = con.execute("SELECT count(*) FROM event_logs WHERE asset_key LIKE '%probe%'").fetchone()
    assert runs == 1 and events >= 1
