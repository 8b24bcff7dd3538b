"""The BigQuery target, tested by translation (no BigQuery is reachable here).

A stand-in for ``google.cloud.bigquery.Client`` translates every BigQuery statement it receives back to DuckDB
(sqlglot) and runs it on a DuckDB database playing the dataset; load jobs read the Parquet file they are given.
So the whole BigQuery path runs — DDL, load jobs, pulls, the multi-statement transaction — and its tables can be
compared with a direct DuckDB load of the same days. Every statement sent is also checked to be valid BigQuery.
"""

from __future__ import annotations

import contextlib
import logging
import re
from pathlib import Path
from types import SimpleNamespace

import duckdb
import pytest
import sqlglot

from analytics_dagster.defs.resources import WarehouseResource
from analytics_dagster.lib.dwh import targets
from analytics_dagster.lib.dwh.etl import load_day
from analytics_dagster.lib.dwh.tables import DWH_TABLES, LOAD_LOG_TABLE, bigquery_ddl
from analytics_dagster.lib.warehouse import BigQueryWarehouse, DuckDBWarehouse
from analytics_dagster_tests.dwh.conftest import DAYS, table_state
from analytics_dagster_tests.google_credentials import write_service_account_key

logging.getLogger("sqlglot").setLevel(logging.ERROR)  # DuckDB has no PARTITION BY: dropped, as intended


class DuckDBBackedBigQueryClient:
    def __init__(self, path: Path):
        self.con = duckdb.connect(str(path))
        self.calls: list[tuple[str, str]] = []

    def query(self, sql: str, job_config=None):
        self.calls.append(("query", sql))
        params = {p.name: p.value for p in job_config.query_parameters} if job_config else {}
        result = None
        try:
            for statement in sqlglot.transpile(sql, read="bigquery", write="duckdb"):
                used = {k: v for k, v in params.items() if f"${k}" in statement}
                result = self.con.execute(statement, used or None)
        except duckdb.Error:
            with contextlib.suppress(duckdb.Error):  # the failure came outside a transaction
                self.con.execute("ROLLBACK")  # BigQuery rolls a failed transaction back
            raise
        arrow = result.fetch_arrow_table() if result is not None and result.description else None
        return SimpleNamespace(result=lambda: None, to_arrow=lambda: arrow, to_dataframe=lambda: arrow.to_pandas())

    def load_table_from_file(self, handle, table_id: str, job_config=None):
        name = table_id.split(".")[-1]
        self.calls.append(("load", name))
        assert job_config.source_format == "PARQUET" and job_config.write_disposition == "WRITE_TRUNCATE"
        self.con.execute(f"CREATE OR REPLACE TABLE {name} AS SELECT * FROM read_parquet('{handle.name}')")
        return SimpleNamespace(result=lambda: None)

    def delete_table(self, table_id: str, not_found_ok: bool = False):
        name = table_id.split(".")[-1]
        self.calls.append(("delete", name))
        self.con.execute(f"DROP TABLE IF EXISTS {name}")


@pytest.fixture
def bigquery(tmp_path):
    client = DuckDBBackedBigQueryClient(tmp_path / "bigquery.duckdb")
    return BigQueryWarehouse("analytics-project", "dwh", client=client), client


def test_ddl_is_partitioned_bigquery():
    for table in DWH_TABLES:
        ddl = bigquery_ddl(table)
        sqlglot.parse_one(ddl, read="bigquery")
        code = re.sub(r"/\*.*?\*/", "", ddl)
        assert not re.search(r"\b(VARCHAR|BIGINT|DOUBLE|TIMESTAMP)\b", code), code  # DuckDB types translated
        assert ("PARTITION BY partition_date" in code) == (table != "permanent_user_properties")
        assert "CLUSTER BY" in code


def test_a_bigquery_load_matches_a_duckdb_load(publish_demo, store, mappings, bigquery, tmp_path):
    warehouse, client = bigquery
    publish_demo(days=DAYS[:2])
    reference = DuckDBWarehouse(tmp_path / "reference.duckdb")
    for day in (DAYS[1], DAYS[0]):  # out of order: exercises the recomputation of later partitions too
        load_day(store, reference, day, mappings)
        client.calls.clear()
        load_day(store, warehouse, day, mappings)
        sent = [sql for kind, sql in client.calls if kind == "query"]
        for sql in sent:
            sqlglot.parse(sql, read="bigquery")
            assert "$partition_date" not in sql and "::" not in sql
        scripts = [sql for sql in sent if sql.startswith("BEGIN TRANSACTION")]
        assert len(scripts) == 1 and scripts[0].rstrip().endswith("COMMIT TRANSACTION;")
        kinds = [kind for kind, _ in client.calls]
        script_at = kinds.index("query", max(i for i, k in enumerate(kinds) if k == "load"))
        assert client.calls[script_at][1] is scripts[0]  # every load job ran before the transaction
        loaded = {name for kind, name in client.calls if kind == "load"}
        assert {f"dwh_load_{table}" for table in DWH_TABLES} <= loaded
        assert {name for kind, name in client.calls if kind == "delete"} == loaded  # scratch tables removed
    assert table_state(warehouse) == table_state(reference)


def test_a_failed_transaction_leaves_bigquery_tables_unchanged(publish_demo, store, mappings, bigquery, monkeypatch):
    warehouse, client = bigquery
    publish_demo(days=DAYS[:1])
    load_day(store, warehouse, DAYS[0], mappings)
    before = table_state(warehouse)
    original = targets._bigquery_insert
    monkeypatch.setattr(
        targets,
        "_bigquery_insert",
        lambda table, scratch: (
            "SELECT ERROR('simulated failure')" if table == "tmp_event_properties" else original(table, scratch)
        ),
    )
    with pytest.raises(duckdb.Error, match="simulated failure"):
        load_day(store, warehouse, DAYS[0], mappings)
    assert table_state(warehouse) == before
    scratch = [
        name
        for (name,) in client.con.execute("SHOW TABLES").fetchall()
        if name.startswith("dwh_") and name != LOAD_LOG_TABLE
    ]
    assert not scratch


def test_the_warehouse_resource_gets_its_bigquery_client_from_dagster_gcp(tmp_path, monkeypatch):
    key = write_service_account_key(tmp_path / "bigquery-key.json", "https://oauth2.googleapis.com/token", "warehouse")
    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(key))
    warehouse = WarehouseResource(kind="bigquery", bq_project_id="analytics-project", bq_dataset_id="dwh").get()
    assert isinstance(warehouse, BigQueryWarehouse)
    assert warehouse.client.project == "analytics-project"
    assert warehouse.client._credentials.service_account_email == "reports@warehouse.iam.gserviceaccount.com"
    assert warehouse.table_id("events_part") == "analytics-project.dwh.events_part"
