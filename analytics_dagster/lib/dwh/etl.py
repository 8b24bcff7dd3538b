"""One Moscow day of raw events (both sources) into the eight DWH tables, in one pass and one transaction.

The rules (docs/dwh.md explains why):

* DuckDB parses every raw file once (``read_json`` straight from the gzip files, all fields as text, typed in SQL);
  one validation pass, the same for every source and warehouse, decides per record: load, load with a field as NULL
  (its text kept in ``invalid_fields`` and counted), or quarantine (malformed, or holding a value a warehouse would
  reject: NUL, NaN/Infinity, an integer beyond int64/uint64, bytes that are not UTF-8). Quarantined records are kept
  with partition, file and line, and the run stops before writing anything when they (with the repaired ones)
  exceed ``max_quarantine_share`` of a source's records.
* One row per uuid: duplicates within the day are dropped, and an event belongs to the EARLIEST partition it was
  uploaded in — a copy already stored under an earlier partition makes this day's copy a duplicate, a copy under a
  later partition is taken over (removed there, and that partition's aggregates and history recomputed).
  So whatever order days are loaded or reloaded in, the tables end up the same.
* permanent_user_properties: per user and column, the value of the newest (``keep: latest``) or oldest
  (``keep: first``) event carrying it; the event is recorded in ``value_events``, merges compare events, and users
  whose recorded events disappeared with a changed partition are rebuilt from all their stored events.
* changeable_user_properties: partitions are folded in upload order; a row is written where a user's values (per
  source) differ from the previous event's; events older than the user's latest row never rewind the history.
  A partition's rows depend on the partitions before it, so loading a day recomputes the touched users' rows of
  the later days (there are none in daily operation).
* Everything the run writes goes to the warehouse in one transaction (DELETE + insert per table).
"""

from __future__ import annotations

import logging
import tempfile
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path

from analytics_dagster.lib.dwh.day_load import DayLoad, StepTimer
from analytics_dagster.lib.dwh.mappings import FieldMappings
from analytics_dagster.lib.dwh.results import DayLoadResult
from analytics_dagster.lib.dwh.sources import SOURCES, local_raw_day
from analytics_dagster.lib.dwh.sqltext import quote_identifier
from analytics_dagster.lib.dwh.tables import DWH_TABLES, LOAD_LOG_TABLE, bigquery_ddl, table_columns
from analytics_dagster.lib.dwh.targets import StageSettings, open_session
from analytics_dagster.lib.object_store import ObjectStore
from analytics_dagster.lib.warehouse import BigQueryWarehouse, Warehouse

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class LoadSettings:
    max_quarantine_share: float = 0.01  # a source's share of malformed records above which the run fails
    stage: StageSettings = field(default_factory=StageSettings)
    workdir: str | None = None  # parent of the run's scratch directory (default: the system temp dir)
    required_sources: tuple[str, ...] = ()  # sources whose raw day must exist: the load fails without it


class MissingRawDay(RuntimeError):
    """A configured source has no raw data for the day: loading would store the day without it."""

    def __init__(self, day: str, sources: list[str]):
        self.day = day
        self.sources = sources
        names = ", ".join(f"{source}_raw_events" for source in sources)
        super().__init__(
            f"partition {day}: no raw {' or '.join(sources)} data (never ingested, or its ingest failed); "
            f"materialize {names} for {day} first, or leave the source out of ANALYTICS_SOURCES"
        )


def ensure_tables(warehouse: Warehouse) -> None:
    """Creates the eight tables (and, on PostgreSQL, their indexes) when missing, and adds the columns a DDL file
    gained since a table was created (columns are only ever added)."""
    _create_tables(warehouse, (*DWH_TABLES, LOAD_LOG_TABLE))
    _add_missing_columns(warehouse, DWH_TABLES)
    if warehouse.dialect == "postgres":
        warehouse.execute_file("dwh/ddl/postgres_indexes.sql")


def _add_missing_columns(warehouse: Warehouse, tables: tuple[str, ...]) -> None:
    for table in tables:
        present = set(warehouse.query_df(f"SELECT * FROM {table} LIMIT 0").columns)
        for column in table_columns(table):
            if column.name not in present:
                logger.info(f"{table}: adding the column {column.name} {column.type} of its DDL")
                warehouse.execute(f"ALTER TABLE {table} ADD COLUMN {quote_identifier(column.name)} {column.type}")


def ensure_load_log(warehouse: Warehouse) -> None:
    """Creates dwh_partition_loads when missing (metrics read it before any DWH load may have run)."""
    _create_tables(warehouse, (LOAD_LOG_TABLE,))


def _create_tables(warehouse: Warehouse, tables: tuple[str, ...]) -> None:
    if isinstance(warehouse, BigQueryWarehouse):
        warehouse.run_script([bigquery_ddl(table) for table in tables])
        return
    for table in tables:
        warehouse.execute_file(f"dwh/ddl/{table}.sql")


def load_day(
    store: ObjectStore,
    warehouse: Warehouse,
    day: str,
    mappings: FieldMappings,
    settings: LoadSettings | None = None,
    log: Callable[[str], None] = logger.info,
) -> DayLoadResult:
    """Loads partition ``day`` (YYYY-MM-DD) from the raw store into the warehouse; see the module docstring."""
    settings = settings or LoadSettings()
    ensure_tables(warehouse)
    with tempfile.TemporaryDirectory(prefix=f"dwh-{day}-", dir=settings.workdir) as scratch, ExitStack() as stack:
        workdir = Path(scratch)
        timer = StepTimer(log)
        with timer.step("fetch raw files"):
            raw_days = {source: stack.enter_context(local_raw_day(store, source, day, workdir)) for source in SOURCES}
        missing = [source for source in settings.required_sources if raw_days[source].manifest is None]
        if missing:
            raise MissingRawDay(day, missing)
        session = stack.enter_context(open_session(warehouse, workdir, settings.stage))
        return DayLoad(
            session, store, day, raw_days, mappings, settings.max_quarantine_share, workdir, timer, log
        ).run()
