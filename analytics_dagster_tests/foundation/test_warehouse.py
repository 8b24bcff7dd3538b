import datetime as dt

import pandas as pd
import pytest

from analytics_dagster.defs.resources import WarehouseResource, warehouse_from_env
from analytics_dagster.lib.sql import translate

DDL = "CREATE TABLE IF NOT EXISTS daily (partition_date DATE NOT NULL, name VARCHAR, n BIGINT, share DOUBLE)"


@pytest.fixture(params=["duckdb", "postgres"])
def warehouse(request):
    resource: WarehouseResource = request.getfixturevalue(f"{request.param}_resource")
    return resource.get()


def frame(day: str, names: list[str]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "partition_date": [dt.date.fromisoformat(day)] * len(names),
            "name": names,
            "n": range(len(names)),
            "share": [None if i == 0 else i / 10 for i in range(len(names))],
        }
    )


def replace_day(warehouse, day: str, rows: pd.DataFrame) -> None:
    """Replaces the day's partition of ``daily`` with ``rows``."""
    warehouse.replace_partition(
        "daily", rows, partition_column="partition_date", partition_value=dt.date.fromisoformat(day)
    )


def test_replace_partition_is_idempotent_and_touches_only_its_partition(warehouse):
    warehouse.execute(DDL)
    replace_day(warehouse, "2026-03-15", frame("2026-03-15", ["a", "b"]))
    replace_day(warehouse, "2026-03-16", frame("2026-03-16", ["c"]))
    for _ in range(2):
        replace_day(warehouse, "2026-03-15", frame("2026-03-15", ["x", "y", "z"]))
    rows = warehouse.query_df("SELECT CAST(partition_date AS VARCHAR) AS d, name, share FROM daily ORDER BY d, name")
    assert rows[["d", "name"]].values.tolist() == [
        ["2026-03-15", "x"],
        ["2026-03-15", "y"],
        ["2026-03-15", "z"],
        ["2026-03-16", "c"],
    ]
    assert rows["share"].isna().sum() == 2  # NULLs stay NULLs through the bulk path


def test_a_failed_replace_leaves_the_partition_as_it_was(warehouse):
    warehouse.execute(DDL)
    replace_day(warehouse, "2026-03-15", frame("2026-03-15", ["a"]))
    broken = frame("2026-03-15", ["b"]).assign(n=["not a number"])
    with pytest.raises(Exception):  # noqa: B017 - each backend's driver raises its own conversion error
        replace_day(warehouse, "2026-03-15", broken)
    assert warehouse.query_df("SELECT name FROM daily")["name"].tolist() == ["a"]


def test_parameters_work_in_every_dialect(warehouse):
    warehouse.execute(DDL)
    replace_day(warehouse, "2026-03-15", frame("2026-03-15", ["a", "b"]))
    found = warehouse.query_df(
        "SELECT count(*) AS c FROM daily WHERE name = $name AND partition_date = $day",
        {"name": "b", "day": dt.date(2026, 3, 15)},
    )
    assert int(found["c"].iloc[0]) == 1
    assert warehouse.table_exists("daily") and not warehouse.table_exists("nope")


def test_sql_translates_parameters_per_dialect():
    (pg,) = translate("SELECT * FROM t WHERE d = $day", "postgres")
    (bq,) = translate("SELECT * FROM t WHERE d = $day", "bigquery")
    assert "%(day)s" in pg and "@day" in bq


def test_warehouse_choice_is_validated(monkeypatch):
    monkeypatch.setenv("WAREHOUSE", "oracle")
    with pytest.raises(ValueError, match="WAREHOUSE='oracle'"):
        warehouse_from_env()
    monkeypatch.setenv("WAREHOUSE", "postgres")
    monkeypatch.delenv("POSTGRES_DSN", raising=False)
    with pytest.raises(ValueError, match="POSTGRES_DSN"):
        warehouse_from_env().get()
