"""The eight DWH tables: their DDL files under ``sql/dwh/ddl/`` are the contract, read here with sqlglot."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import sqlglot
from sqlglot import exp

from analytics_dagster.lib.sql import read_sql

# Tables holding one row per event (key: uuid), replaced partition by partition.
EVENT_TABLES = ("events_part", "technical_data", "tmp_event_properties", "tmp_user_properties")
# Tables aggregated per partition from that partition's events.
DAILY_TABLES = ("mobile_devices", "user_locations")
USER_TABLES = ("permanent_user_properties", "changeable_user_properties")
DWH_TABLES = (
    "events_part",
    "mobile_devices",
    "permanent_user_properties",
    "changeable_user_properties",
    "technical_data",
    "tmp_event_properties",
    "tmp_user_properties",
    "user_locations",
)
# Bookkeeping beside the eight tables: which raw upload days each partition loaded (see lib/day_state.py).
LOAD_LOG_TABLE = "dwh_partition_loads"
# The key each asset check verifies to be unique; NULLs in a key compare equal.
TABLE_KEYS: dict[str, tuple[str, ...]] = {
    "events_part": ("uuid",),
    "technical_data": ("uuid",),
    "tmp_event_properties": ("uuid",),
    "tmp_user_properties": ("uuid",),
    "mobile_devices": ("partition_date", "source", "device_id"),
    "user_locations": ("partition_date", "source", "user_key", "country", "region", "city"),
    "permanent_user_properties": ("user_key",),
    "changeable_user_properties": ("user_key", "source", "uuid"),
    LOAD_LOG_TABLE: ("partition_date", "source"),
}
# Columns of the user-property tables that the ETL fills itself; every other column comes from field_mappings/.
PERMANENT_BOOKKEEPING = ("user_key", "updated_at", "value_events")
CHANGEABLE_BOOKKEEPING = ("user_key", "source", "valid_from", "uuid", "partition_date")


@dataclass(frozen=True)
class Column:
    name: str
    type: str  # DuckDB type name as written in the DDL, e.g. 'VARCHAR', 'TIMESTAMP'
    not_null: bool


def ddl_path(table: str) -> str:
    return f"dwh/ddl/{table}.sql"


def bigquery_ddl(table: str) -> str:
    """The table's DDL for BigQuery: translated from the DuckDB file, partitioned by day where the table has a
    partition_date (partition pruning replaces PostgreSQL's indexes) and clustered by its key."""
    statement = sqlglot.parse_one(read_sql(ddl_path(table)), read="duckdb")
    properties = []
    if "partition_date" in column_names(table):
        properties.append(exp.PartitionedByProperty(this=exp.column("partition_date")))
    cluster = [exp.column(c) for c in TABLE_KEYS.get(table, ()) if c != "partition_date"][:4]  # at most four
    if cluster:  # the load log has no key of its own
        properties.append(exp.Cluster(expressions=cluster))
    statement.set("properties", exp.Properties(expressions=properties))
    return statement.sql("bigquery")


@cache
def table_columns(table: str) -> tuple[Column, ...]:
    """The columns of ``table`` in DDL order, parsed from its ``CREATE TABLE`` statement."""
    if table not in (*DWH_TABLES, LOAD_LOG_TABLE):
        raise ValueError(f"{table!r} is not a DWH table; expected one of {', '.join((*DWH_TABLES, LOAD_LOG_TABLE))}")
    statement = sqlglot.parse_one(read_sql(ddl_path(table)), read="duckdb")
    schema = statement.this
    if not isinstance(statement, exp.Create) or not isinstance(schema, exp.Schema) or schema.this.name != table:
        raise ValueError(f"sql/{ddl_path(table)} must hold exactly one CREATE TABLE {table} statement")
    columns = []
    for definition in schema.expressions:
        if isinstance(definition, exp.ColumnDef):
            not_null = any(isinstance(c.kind, exp.NotNullColumnConstraint) for c in definition.constraints)
            columns.append(Column(definition.name, _duckdb_type(definition.args["kind"]), not_null))
    return tuple(columns)


def column_names(table: str) -> tuple[str, ...]:
    return tuple(column.name for column in table_columns(table))


def _duckdb_type(kind: exp.DataType) -> str:
    name = kind.sql("duckdb")
    return "VARCHAR" if name == "TEXT" else name
