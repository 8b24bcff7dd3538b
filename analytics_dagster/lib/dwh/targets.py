"""Where a staged day goes: DuckDB, PostgreSQL or BigQuery, each written in one transaction.

A :class:`StageSession` pairs the DuckDB connection that parses and shapes the day (``local``) with the warehouse:

* ``pull(sql, into)`` runs a query of ``sql/dwh/target/`` in the warehouse and lands its rows in a local table;
* ``push(table)`` makes a small local key table visible to warehouse SQL under the same name;
* ``apply(loads)`` replaces rows of the eight tables in ONE transaction: each :class:`TableLoad`'s DELETEs, then its
  rows, for every table, then commit. A failure anywhere rolls everything back, so nothing is half-written.

DuckDB stages in the warehouse file itself (temp tables), so its pulls and pushes are local. PostgreSQL stages in an
in-memory DuckDB and loads with ``COPY ... FROM STDIN`` (CSV written by DuckDB, streamed by psycopg). BigQuery
loads Parquet files into scratch tables with load jobs and swaps them in with one multi-statement transaction.
SQL is written once in DuckDB's dialect and translated by sqlglot for the other two.
"""

from __future__ import annotations

import datetime as dt
import decimal
import errno
import json
import os
import threading
import uuid as uuid_module
from abc import ABC, abstractmethod
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import sqlglot

from analytics_dagster.lib.dwh.tables import table_columns
from analytics_dagster.lib.sql import translate
from analytics_dagster.lib.warehouse import BigQueryWarehouse, DuckDBWarehouse, PostgresWarehouse, Warehouse

_COPY_CHUNK = 1 << 20


@dataclass(frozen=True)
class TableLoad:
    table: str
    deletes: tuple[str, ...]  # DELETE statements (DuckDB dialect, `$name` parameters) run before the insert
    rows: str  # a local DuckDB SELECT yielding the new rows in the table's column order


@dataclass(frozen=True)
class StageSettings:
    memory_limit: str = "1GB"  # DuckDB's limit while parsing; it spills to the work directory beyond it


class StageSession(ABC):
    dialect: str

    def __init__(self, local: Any):
        self.local = local

    @abstractmethod
    def pull(self, sql: str, params: Mapping[str, Any], into: str) -> None:
        """Runs ``sql`` (DuckDB dialect) in the warehouse; its rows become the local temp table ``into``."""

    @abstractmethod
    def push(self, table: str) -> None:
        """Makes the local table ``table`` readable by warehouse SQL under the same name."""

    @abstractmethod
    def apply(self, loads: Sequence[TableLoad], params: Mapping[str, Any]) -> None:
        """All ``loads`` in one transaction."""

    @abstractmethod
    def insert_rows(self, load: TableLoad) -> None:
        """Writes one load's rows as part of :meth:`apply`."""


def configure_local(con: Any, workdir: Path, settings: StageSettings) -> None:
    con.execute(f"SET memory_limit = '{settings.memory_limit}'")
    con.execute(f"SET temp_directory = '{workdir / 'duckdb-spill'}'")
    con.execute("SET preserve_insertion_order = false")  # lets read_json and inserts run fully parallel
    con.execute("SET TimeZone = 'UTC'")  # texts without an offset are UTC (Amplitude's are)


@contextmanager
def open_session(warehouse: Warehouse, workdir: Path, settings: StageSettings) -> Iterator[StageSession]:
    if isinstance(warehouse, DuckDBWarehouse):
        with warehouse.connect() as con:
            configure_local(con, workdir, settings)
            yield DuckDBSession(con)
        return
    local = duckdb.connect()
    try:
        configure_local(local, workdir, settings)
        if isinstance(warehouse, PostgresWarehouse):
            with warehouse.connect() as pg:
                yield PostgresSession(local, pg, workdir)
        elif isinstance(warehouse, BigQueryWarehouse):
            session = BigQuerySession(local, warehouse, workdir)
            try:
                yield session
            finally:
                session.drop_scratch_tables()
        else:
            raise TypeError(f"no DWH loader for {type(warehouse).__name__}")
    finally:
        local.close()


def run_statements(con: Any, sql: str, params: Mapping[str, Any] | None = None) -> None:
    """Runs every statement of ``sql`` on a DuckDB connection, passing only the parameters each one uses."""
    for statement in con.extract_statements(sql):
        names = statement.named_parameters
        con.execute(statement, {k: v for k, v in (params or {}).items() if k in names} or None)


class DuckDBSession(StageSession):
    dialect = "duckdb"

    def pull(self, sql, params, into):
        used = {k: v for k, v in params.items() if f"${k}" in sql}
        self.local.execute(f"CREATE OR REPLACE TEMP TABLE {into} AS {sql}", used or None)

    def push(self, table):
        """Local temp tables are already in the warehouse's connection."""

    def apply(self, loads, params):
        self.local.execute("BEGIN TRANSACTION")
        try:
            for load in loads:
                for statement in load.deletes:
                    run_statements(self.local, statement, params)
                write_rows(self, load)
            self.local.execute("COMMIT")
        except BaseException:
            self.local.execute("ROLLBACK")
            raise

    def insert_rows(self, load):
        columns = ", ".join(f'"{c.name}"' for c in table_columns(load.table))
        self.local.execute(f"INSERT INTO {load.table} ({columns}) {load.rows}")


def write_rows(session: StageSession, load: TableLoad) -> None:
    """Writes a load's rows inside the open transaction (one function, so a test can make it fail midway)."""
    session.insert_rows(load)


class PostgresSession(StageSession):
    dialect = "postgres"

    def __init__(self, local: Any, pg: Any, workdir: Path):
        super().__init__(local)
        self.pg = pg
        self.workdir = workdir

    def pull(self, sql, params, into):
        with self.pg.cursor() as cur:
            statements = translate(sql, "postgres")
            for statement in statements:
                cur.execute(statement, dict(params) if "%(" in statement else None)
            rows = cur.fetchall()
            schema = pa.schema([(d.name, _arrow_type_of_oid(d.type_code)) for d in cur.description])
        _land_rows(self.local, into, rows, schema)
        self.pg.commit()  # ends the read transaction; apply() opens its own

    def push(self, table):
        columns = self.local.execute(f"DESCRIBE {table}").fetchall()
        definitions = ", ".join(f'"{name}" {_postgres_type(kind)}' for name, kind, *_ in columns)
        with self.pg.cursor() as cur:
            cur.execute(f"DROP TABLE IF EXISTS {table}")
            cur.execute(f"CREATE TEMP TABLE {table} ({definitions})")
            self._copy(cur, table, [name for name, *_ in columns], f"SELECT * FROM {table}")
        self.pg.commit()

    def apply(self, loads, params):
        with self.pg.transaction(), self.pg.cursor() as cur:
            for load in loads:
                for statement in load.deletes:
                    for translated in translate(statement, "postgres"):
                        cur.execute(translated, dict(params) if "%(" in translated else None)
                write_rows(self, load)

    def insert_rows(self, load: TableLoad) -> None:
        with self.pg.cursor() as cur:
            self._copy(cur, load.table, [c.name for c in table_columns(load.table)], load.rows)

    def _copy(self, cur: Any, table: str, columns: list[str], rows_sql: str) -> None:
        """COPY FROM STDIN of a local SELECT. DuckDB writes the CSV (in parallel) into a named pipe that a thread
        streams to PostgreSQL, so DuckDB's export and PostgreSQL's ingest overlap instead of taking turns."""
        pipe = self.workdir / f"{table}.csv.pipe"
        os.mkfifo(pipe)
        column_list = ", ".join(f'"{c}"' for c in columns)
        failures: list[BaseException] = []

        def stream() -> None:
            try:
                # Open the pipe first: DuckDB's open for writing waits for a reader, and a failing COPY below must
                # close it so that DuckDB gets a broken pipe instead of waiting forever.
                with (
                    open(pipe, "rb") as handle,
                    cur.copy(f"COPY {table} ({column_list}) FROM STDIN WITH (FORMAT csv)") as copy,
                ):
                    while chunk := handle.read(_COPY_CHUNK):
                        copy.write(chunk)
            except BaseException as error:  # re-raised in the caller's thread
                failures.append(error)

        streamer = threading.Thread(target=stream, name=f"copy-{table}", daemon=True)
        streamer.start()
        try:
            self.local.execute(f"COPY ({rows_sql}) TO '{pipe}' (FORMAT csv, HEADER false)")
        except BaseException as error:
            _release_pipe_reader(pipe, streamer)
            streamer.join()
            if failures:
                raise failures[0] from error
            raise
        finally:
            streamer.join()
            pipe.unlink(missing_ok=True)
        if failures:
            raise failures[0]


def _release_pipe_reader(pipe: Path, reader: threading.Thread) -> None:
    """Ends a reader waiting on an unused pipe (DuckDB failed before opening it): a writer that opens and closes
    the pipe gives the reader end-of-file."""
    while reader.is_alive():
        try:
            os.close(os.open(pipe, os.O_WRONLY | os.O_NONBLOCK))
        except OSError as error:
            if error.errno != errno.ENXIO:  # ENXIO: the reader has not opened its end yet
                raise
        reader.join(timeout=0.01)


class BigQuerySession(StageSession):
    dialect = "bigquery"
    scratch_prefix = "dwh_load_"

    def __init__(self, local: Any, warehouse: BigQueryWarehouse, workdir: Path):
        super().__init__(local)
        self.warehouse = warehouse
        self.workdir = workdir
        self.scratch_tables: list[str] = []

    def pull(self, sql, params, into):
        self.local.register("dwh_pulled", self.warehouse.query_arrow(sql, params))
        self.local.execute(f"CREATE OR REPLACE TEMP TABLE {into} AS SELECT * FROM dwh_pulled")
        self.local.unregister("dwh_pulled")

    def push(self, table):
        self._load_parquet(table, f"SELECT * FROM {table}")

    def apply(self, loads, params):
        for load in loads:
            write_rows(self, load)
        script = ["BEGIN TRANSACTION"]
        for load in loads:
            for statement in load.deletes:
                script.extend(translate(statement, "bigquery"))
            script.append(_bigquery_insert(load.table, self.scratch_prefix + load.table))
        script.append("COMMIT TRANSACTION")
        self.warehouse.run_script(script, params)

    def insert_rows(self, load: TableLoad) -> None:
        """Loads the rows into a scratch table; the transaction in apply() moves them into the real one. The rows
        come in the table's column order; naming them after its columns lets the insert select them by name."""
        names = ", ".join(f'"{c.name}"' for c in table_columns(load.table))
        self._load_parquet(self.scratch_prefix + load.table, f"SELECT * FROM ({load.rows}) AS table_rows({names})")

    def _load_parquet(self, name: str, rows_sql: str) -> None:
        path = self.workdir / f"{name}.parquet"
        self.local.execute(f"COPY ({rows_sql}) TO '{path}' (FORMAT parquet)")
        try:
            self.warehouse.load_parquet(path, name)
        finally:
            path.unlink(missing_ok=True)
        self.scratch_tables.append(name)

    def drop_scratch_tables(self) -> None:
        for name in dict.fromkeys(self.scratch_tables):
            self.warehouse.client.delete_table(self.warehouse.table_id(name), not_found_ok=True)
        self.scratch_tables.clear()


def _bigquery_insert(table: str, scratch: str) -> str:
    """INSERT ... SELECT from a Parquet-loaded scratch table, converting what Parquet cannot carry (JSON arrives as
    STRING, timestamps as TIMESTAMP where the table has DATETIME)."""
    columns = table_columns(table)
    converted = ", ".join(f'json("{c.name}")' if c.type == "JSON" else f'CAST("{c.name}" AS {c.type})' for c in columns)
    names = ", ".join(f'"{c.name}"' for c in columns)
    (statement,) = translate(f"INSERT INTO {table} ({names}) SELECT {converted} FROM {scratch}", "bigquery")
    return statement


def _postgres_type(duckdb_type: str) -> str:
    return sqlglot.exp.DataType.build(duckdb_type, dialect="duckdb").sql("postgres")


# psycopg type OIDs of the columns pulled from PostgreSQL -> Arrow types for DuckDB.
_ARROW_OF_OID = {
    16: pa.bool_(),
    20: pa.int64(),
    21: pa.int16(),
    23: pa.int32(),
    700: pa.float32(),
    701: pa.float64(),
    1082: pa.date32(),
    1114: pa.timestamp("us"),
    1184: pa.timestamp("us", tz="UTC"),
    114: pa.string(),
    3802: pa.string(),
    25: pa.string(),
    1043: pa.string(),
    2950: pa.string(),
}


def _arrow_type_of_oid(oid: int) -> pa.DataType:
    return _ARROW_OF_OID.get(oid, pa.string())


def _land_rows(con: Any, into: str, rows: list[tuple], schema: pa.Schema) -> None:
    columns = list(zip(*rows, strict=True)) if rows else [[] for _ in schema]
    arrays = [
        pa.array([_plain(v) for v in values], type=field.type) for values, field in zip(columns, schema, strict=True)
    ]
    con.register("dwh_pulled", pa.Table.from_arrays(arrays, schema=schema))
    con.execute(f"CREATE OR REPLACE TEMP TABLE {into} AS SELECT * FROM dwh_pulled")
    con.unregister("dwh_pulled")


def _plain(value: Any) -> Any:
    """psycopg returns json columns parsed and uuid columns as UUID objects; DuckDB gets them as text."""
    if isinstance(value, (dict, list)):
        return json.dumps(value)
    if isinstance(value, (uuid_module.UUID, decimal.Decimal)):
        return str(value)
    if isinstance(value, dt.datetime) and value.tzinfo is not None:
        return value.astimezone(dt.UTC).replace(tzinfo=None)
    return value
