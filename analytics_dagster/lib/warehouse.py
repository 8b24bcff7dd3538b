"""Warehouse adapters: DuckDB (embedded default), PostgreSQL and BigQuery behind one small interface.

SQL is written in DuckDB's dialect (files under ``sql/``) and translated by :mod:`analytics_dagster.lib.sql`.
Every write that belongs to a partition goes through :meth:`Warehouse.replace_partition`, which deletes and inserts
in one transaction so reruns never duplicate or lose rows.
"""

from __future__ import annotations

import io
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pandas as pd
from sqlglot import exp

from analytics_dagster.lib.sql import read_sql, translate

WAREHOUSE_KINDS = ("duckdb", "postgres", "bigquery")


class Warehouse(ABC):
    dialect: str

    @abstractmethod
    def execute(self, sql: str, params: Mapping[str, Any] | None = None) -> None:
        """Runs one or more statements written in DuckDB's dialect."""

    @abstractmethod
    def query_df(self, sql: str, params: Mapping[str, Any] | None = None) -> pd.DataFrame: ...

    @abstractmethod
    def replace_partition(self, table: str, df: pd.DataFrame, *, partition_column: str, partition_value: Any) -> int:
        """Replaces the rows of ``table`` where ``partition_column = partition_value`` by ``df`` atomically."""

    def execute_file(self, relative_path: str, params: Mapping[str, Any] | None = None) -> None:
        self.execute(read_sql(relative_path), params)

    def query_file(self, relative_path: str, params: Mapping[str, Any] | None = None) -> pd.DataFrame:
        return self.query_df(read_sql(relative_path), params)

    def table_exists(self, table: str) -> bool:
        found = self.query_df(
            "SELECT count(*) AS n FROM information_schema.tables WHERE table_name = $table", {"table": table}
        )
        return int(found["n"].iloc[0]) > 0

    def row_count(self, table: str, where: str = "TRUE", params: Mapping[str, Any] | None = None) -> int:
        return int(self.query_df(f"SELECT count(*) AS n FROM {table} WHERE {where}", params)["n"].iloc[0])


class DuckDBWarehouse(Warehouse):
    """One DuckDB file. A connection is opened per call, so the file is not held between steps of a run."""

    dialect = "duckdb"

    def __init__(self, path: str | Path):
        self.path = Path(path)

    @contextmanager
    def connect(self) -> Iterator[Any]:
        import duckdb

        self.path.parent.mkdir(parents=True, exist_ok=True)
        con = duckdb.connect(str(self.path))
        try:
            yield con
        finally:
            con.close()

    def execute(self, sql: str, params: Mapping[str, Any] | None = None) -> None:
        with self.connect() as con:
            con.execute(sql, dict(params) if params else None)

    def query_df(self, sql: str, params: Mapping[str, Any] | None = None) -> pd.DataFrame:
        with self.connect() as con:
            return con.execute(sql, dict(params) if params else None).df()

    def replace_partition(self, table, df, *, partition_column, partition_value) -> int:
        with self.connect() as con:
            con.execute("BEGIN TRANSACTION")
            try:
                con.execute(f"DELETE FROM {table} WHERE {partition_column} = $value", {"value": partition_value})
                if len(df):
                    con.register("_incoming", df)
                    columns = quoted_columns(df.columns, "duckdb")
                    con.execute(f"INSERT INTO {table} ({columns}) SELECT {columns} FROM _incoming")
                    con.unregister("_incoming")
                con.execute("COMMIT")
            except BaseException:
                con.execute("ROLLBACK")
                raise
        return len(df)


class PostgresWarehouse(Warehouse):
    """PostgreSQL through psycopg 3; bulk loads use COPY."""

    dialect = "postgres"

    def __init__(self, dsn: str):
        self.dsn = dsn

    @contextmanager
    def connect(self) -> Iterator[Any]:
        import psycopg

        with psycopg.connect(self.dsn) as con:
            yield con

    def execute(self, sql: str, params: Mapping[str, Any] | None = None) -> None:
        with self.connect() as con:
            for statement in translate(sql, "postgres"):
                con.execute(statement, dict(params) if params and "%(" in statement else None)

    def table_exists(self, table: str) -> bool:
        """Whether ``table`` resolves on the search path (information_schema would also list other schemas')."""
        with self.connect() as con:
            return bool(con.execute("SELECT to_regclass(%s) IS NOT NULL", (table,)).fetchone()[0])

    def query_df(self, sql: str, params: Mapping[str, Any] | None = None) -> pd.DataFrame:
        statements = translate(sql, "postgres")
        with self.connect() as con, con.cursor() as cur:
            for statement in statements:
                cur.execute(statement, dict(params) if params and "%(" in statement else None)
            columns = [d.name for d in cur.description] if cur.description else []
            return pd.DataFrame(cur.fetchall(), columns=columns)

    def replace_partition(self, table, df, *, partition_column, partition_value) -> int:
        with self.connect() as con, con.transaction():
            con.execute(f"DELETE FROM {table} WHERE {partition_column} = %s", (partition_value,))
            if len(df):
                copy_dataframe(con, table, df)
        return len(df)


def quoted_columns(columns: Iterable[str], dialect: str) -> str:
    """A comma-separated list of quoted column names in ``dialect`` (sqlglot's quoting)."""
    return ", ".join(exp.to_identifier(str(column), quoted=True).sql(dialect) for column in columns)


def copy_dataframe(con: Any, table: str, df: pd.DataFrame) -> None:
    """Bulk-loads ``df`` into ``table`` with ``COPY ... FROM STDIN`` (CSV), NULLs kept as NULLs."""
    columns = quoted_columns(df.columns, "postgres")
    buffer = io.StringIO()
    df.to_csv(buffer, index=False, header=False, na_rep="\\N")
    with con.cursor().copy(f"COPY {table} ({columns}) FROM STDIN WITH (FORMAT csv, NULL '\\N')") as copy:
        copy.write(buffer.getvalue())


class BigQueryWarehouse(Warehouse):
    """BigQuery through a google-cloud-bigquery ``Client`` (in the code location, the one dagster-gcp's
    ``BigQueryResource`` makes): queries for reads, load jobs for writes."""

    dialect = "bigquery"

    def __init__(self, project_id: str, dataset_id: str, client: Any):
        self.project_id = project_id
        self.dataset_id = dataset_id
        self.client = client

    def _job_config(self, params: Mapping[str, Any] | None) -> Any:
        from google.cloud import bigquery

        return bigquery.QueryJobConfig(
            default_dataset=f"{self.project_id}.{self.dataset_id}",
            query_parameters=[bigquery_parameter(name, value) for name, value in (params or {}).items()],
        )

    def execute(self, sql: str, params: Mapping[str, Any] | None = None) -> None:
        for statement in translate(sql, "bigquery"):
            self.client.query(statement, job_config=self._job_config(params)).result()

    def query_df(self, sql: str, params: Mapping[str, Any] | None = None) -> pd.DataFrame:
        *setup, last = translate(sql, "bigquery")
        for statement in setup:
            self.client.query(statement, job_config=self._job_config(params)).result()
        return self.client.query(last, job_config=self._job_config(params)).to_dataframe()

    def query_arrow(self, sql: str, params: Mapping[str, Any] | None = None) -> Any:
        """Like :meth:`query_df`, as a pyarrow Table (keeps column types when there are no rows)."""
        *setup, last = translate(sql, "bigquery")
        for statement in setup:
            self.client.query(statement, job_config=self._job_config(params)).result()
        return self.client.query(last, job_config=self._job_config(params)).to_arrow()

    def run_script(self, statements: list[str], params: Mapping[str, Any] | None = None) -> None:
        """Runs statements already in BigQuery's dialect as ONE multi-statement job, so a
        ``BEGIN TRANSACTION; ...; COMMIT TRANSACTION`` among them is a real transaction."""
        script = ";\n".join(statement.rstrip("; \n") for statement in statements) + ";"
        self.client.query(script, job_config=self._job_config(params)).result()

    def load_parquet(self, path: str | Path, table: str) -> None:
        """Replaces ``table`` (in the dataset) by the rows of a Parquet file, with a load job."""
        from google.cloud import bigquery

        config = bigquery.LoadJobConfig(
            source_format=bigquery.SourceFormat.PARQUET,
            write_disposition=bigquery.WriteDisposition.WRITE_TRUNCATE,
        )
        with open(path, "rb") as handle:
            self.client.load_table_from_file(handle, self.table_id(table), job_config=config).result()

    def table_id(self, table: str) -> str:
        return f"{self.project_id}.{self.dataset_id}.{table}"

    def replace_partition(self, table, df, *, partition_column, partition_value) -> int:
        from google.cloud import bigquery

        table_id = f"{self.project_id}.{self.dataset_id}.{table}"
        staging_id = f"{table_id}__staging"
        self.client.load_table_from_dataframe(
            df, staging_id, job_config=bigquery.LoadJobConfig(write_disposition="WRITE_TRUNCATE")
        ).result()
        columns = quoted_columns(df.columns, "bigquery")
        # One multi-statement transaction: readers never see the partition empty or doubled.
        script = (
            "BEGIN TRANSACTION;"
            f"DELETE FROM `{table_id}` WHERE {partition_column} = @value;"
            f"INSERT INTO `{table_id}` ({columns}) SELECT {columns} FROM `{staging_id}`;"
            "COMMIT TRANSACTION;"
        )
        self.client.query(script, job_config=self._job_config({"value": partition_value})).result()
        self.client.delete_table(staging_id, not_found_ok=True)
        return len(df)


def bigquery_parameter(name: str, value: Any) -> Any:
    import datetime as dt

    from google.cloud import bigquery

    kind = (
        "BOOL"
        if isinstance(value, bool)
        else "INT64"
        if isinstance(value, int)
        else "FLOAT64"
        if isinstance(value, float)
        else "TIMESTAMP"
        if isinstance(value, dt.datetime)
        else "DATE"
        if isinstance(value, dt.date)
        else "STRING"
    )
    return bigquery.ScalarQueryParameter(name, kind, value)


def make_warehouse(
    kind: str,
    *,
    duckdb_path: str | Path | None = None,
    postgres_dsn: str | None = None,
    bq_project_id: str | None = None,
    bq_dataset_id: str | None = None,
    bq_client: Callable[[], Any] | None = None,
) -> Warehouse:
    """The warehouse of ``kind``; BigQuery's client comes from ``bq_client`` (called only for that kind)."""
    if kind == "duckdb":
        if not duckdb_path:
            raise ValueError("WAREHOUSE=duckdb needs DUCKDB_PATH (defaults to $ANALYTICS_DATA_DIR/warehouse.duckdb)")
        return DuckDBWarehouse(duckdb_path)
    if kind == "postgres":
        if not postgres_dsn:
            raise ValueError("WAREHOUSE=postgres needs POSTGRES_DSN, e.g. postgresql://user@host:5432/db")
        return PostgresWarehouse(postgres_dsn)
    if kind == "bigquery":
        if not (bq_project_id and bq_dataset_id):
            raise ValueError("WAREHOUSE=bigquery needs BQ_PROJECT_ID and BQ_DATASET_ID")
        if bq_client is None:
            raise ValueError("WAREHOUSE=bigquery needs a BigQuery client (bq_client)")
        return BigQueryWarehouse(bq_project_id, bq_dataset_id, bq_client())
    raise ValueError(f"WAREHOUSE={kind!r} is not supported; choose one of {', '.join(WAREHOUSE_KINDS)}")
