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
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd

from analytics_dagster.lib.dwh import quarantine as quarantine_module
from analytics_dagster.lib.dwh.mappings import FieldMappings
from analytics_dagster.lib.dwh.quarantine import QuarantineReport
from analytics_dagster.lib.dwh.sources import (
    SOURCES,
    RawDay,
    RawFile,
    damage_of,
    exact_relation,
    fast_relation,
    load_exact_lines,
    local_raw_day,
)
from analytics_dagster.lib.dwh.sqltext import (
    column_definitions,
    projection,
    quote_identifier,
    render,
    snapshot_context,
    sql_string,
)
from analytics_dagster.lib.dwh.tables import (
    DAILY_TABLES,
    DWH_TABLES,
    EVENT_TABLES,
    LOAD_LOG_TABLE,
    TABLE_KEYS,
    Column,
    bigquery_ddl,
    column_names,
    table_columns,
)
from analytics_dagster.lib.dwh.targets import StageSession, StageSettings, TableLoad, open_session, run_statements
from analytics_dagster.lib.object_store import ObjectStore
from analytics_dagster.lib.warehouse import BigQueryWarehouse, Warehouse

logger = logging.getLogger(__name__)

RECORD_EXTRAS = (
    Column("event_properties", "JSON", False),
    Column("user_properties", "JSON", False),
    Column("line_number", "BIGINT", False),
    Column("raw_line", "VARCHAR", False),
    Column("raw_bytes", "BLOB", False),  # the line's bytes when they are not UTF-8 (raw_line is then NULL)
    Column("problem", "VARCHAR", False),  # why the record is quarantined; NULL: it loads
    Column("field_problems", "VARCHAR[]", False),  # ['<column>: <reason>'] of fields loaded NULL (invalid_fields)
)
# Stored columns the per-partition tables read when they are recomputed from the warehouse.
STORED_RECORD_COLUMNS = (
    "e.uuid", "e.source", "e.partition_date", "e.event_time", "e.user_key", "e.user_id", "e.device_id",
    "e.platform", "e.os_name", "e.os_version", "e.app_version", "e.country", "e.region", "e.city", "e.language",
    "t.installation_id", "t.device_manufacturer", "t.device_model", "t.device_type", "t.carrier",
    "t.connection_type", "t.advertising_id", "u.user_properties",
)
PREVIEW_ROWS = 5
# JSON text that may hold a value some warehouse rejects (validate_values.sql walks only such documents): a NUL
# escape, NaN / Infinity, a number token (ended by a blank , } or ]) of 19+ digits or with a 3-digit exponent; ids
# inside strings (hex, long digit strings) end with a quote instead, so they are rarely suspects.
SUSPECT_JSON_PATTERN = r"\\u0000|NaN|Infinity|\d{19}[\s,}\]]|\d[eE][+-]?\d{3}[\s,}\]]"
# The local tables holding the rows of the tables that are not one row per record.
OUTPUT_RELATIONS = {
    "mobile_devices": "dwh_out_mobile_devices",
    "user_locations": "dwh_out_user_locations",
    "permanent_user_properties": "dwh_out_permanent",
    "changeable_user_properties": "dwh_out_changeable",
}


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


@dataclass
class SourceResult:
    source: str
    origin: str | None  # manifest origin ('demo', 'export_api', ...); None when the day is missing
    files: int = 0
    records: int = 0  # records read (loaded + quarantined + duplicates)
    quarantined: int = 0  # malformed records (the share limit counts these and the repaired ones)
    repaired: int = 0  # records loaded with fields as NULL whose text did not fit their type (invalid_fields)
    conflicting_versions: int = 0  # records dropped because another record of the uuid differs (quarantined)
    duplicates_in_day: int = 0  # exact copies of a record of the day
    duplicates_of_earlier_days: int = 0
    loaded: int = 0

    @property
    def missing(self) -> bool:
        return self.origin is None

    @property
    def is_demo(self) -> bool:
        return self.origin == "demo"


@dataclass
class DayLoadResult:
    partition: str
    sources: dict[str, SourceResult]
    rows: dict[str, int]  # rows written per table by this run
    previews: dict[str, str]  # markdown preview per table
    quarantine: QuarantineReport
    taken_over: int  # events this day took over from later partitions
    recomputed_partitions: list[str]  # later partitions whose history / aggregates were recomputed
    rebuilt_users: int  # users rebuilt from their whole history (their recorded events vanished)
    property_keys: int  # user-property keys over all bags of the day
    mapped_property_keys: int  # ...of which the mappings name
    unmapped_keys: dict[str, int]  # most frequent keys no mapping names -> events carrying them
    timings: dict[str, float]

    @property
    def events(self) -> int:
        return self.rows["events_part"]

    @property
    def is_demo(self) -> bool:
        return any(s.is_demo for s in self.sources.values())


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
        timer = _Timer(log)
        with timer.step("fetch raw files"):
            raw_days = {source: stack.enter_context(local_raw_day(store, source, day, workdir)) for source in SOURCES}
        missing = [source for source in settings.required_sources if raw_days[source].manifest is None]
        if missing:
            raise MissingRawDay(day, missing)
        session = stack.enter_context(open_session(warehouse, workdir, settings.stage))
        return _DayLoad(session, store, day, raw_days, mappings, settings, workdir, timer, log).run()


class _Timer:
    def __init__(self, log: Callable[[str], None]):
        self.log = log
        self.timings: dict[str, float] = {}

    @contextmanager
    def step(self, name: str) -> Iterator[None]:
        started = time.perf_counter()
        yield
        self.timings[name] = round(time.perf_counter() - started, 3)
        self.log(f"{name}: {self.timings[name]:.2f}s")


class _DayLoad:
    def __init__(self, session: StageSession, store: ObjectStore, day: str, raw_days: dict[str, RawDay],
                 mappings: FieldMappings, settings: LoadSettings, workdir: Path, timer: _Timer,
                 log: Callable[[str], None]):
        self.session = session
        self.con = session.local
        self.store = store
        self.day = day
        self.raw_days = raw_days
        self.mappings = mappings
        self.settings = settings
        self.workdir = workdir
        self.timer = timer
        self.log = log
        self.params = {"partition_date": day}
        self.sources = {
            source: SourceResult(source, raw.manifest.origin if raw.manifest else None, len(raw.files))
            for source, raw in raw_days.items()
        }

    def run(self) -> DayLoadResult:
        for source, result in self.sources.items():
            if result.missing:
                self.log(f"No raw {source} data for {self.day} (no manifest): loading it as an empty day")
        with self.timer.step("parse raw files"):
            self._stage_records()
        with self.timer.step("quarantine"):
            report = self._quarantine()
        with self.timer.step("deduplicate"):
            taken_over = self._deduplicate()
        with self.timer.step("user properties"):
            self._snapshots("dwh", "dwh_records")
            rebuilt_users = self._permanent()
            recomputed = self._changeable()
        with self.timer.step("per-partition tables"):
            self._daily_tables()
        loaded = self._source_counts()
        for source, result in self.sources.items():
            result.loaded = loaded.get(source, 0)
        loads = [*self._loads(), self._load_log()]
        with self.timer.step("write warehouse"):
            self.session.apply(loads, self.params)
        with self.timer.step("summaries"):
            keys, mapped, unmapped = self._property_coverage()
            rows = {table: self._count(f"SELECT count(*) FROM {OUTPUT_RELATIONS.get(table, 'dwh_records')}")
                    for table in DWH_TABLES}
            previews = {table: self._preview(table) for table in DWH_TABLES}
        return DayLoadResult(
            partition=self.day, sources=self.sources, rows=rows, previews=previews, quarantine=report,
            taken_over=taken_over, recomputed_partitions=recomputed, rebuilt_users=rebuilt_users,
            property_keys=keys, mapped_property_keys=mapped, unmapped_keys=unmapped, timings=self.timer.timings,
        )

    # --- helpers -----------------------------------------------------------------------------------------------
    def _run(self, sql: str, params: dict[str, Any] | None = None) -> None:
        run_statements(self.con, sql, {**self.params, **(params or {})})

    def _count(self, sql: str) -> int:
        return int(self.con.execute(sql).fetchone()[0])

    def _pull(self, sql: str, into: str, **params: Any) -> None:
        self.session.pull(sql, {**self.params, **params}, into)

    def _key_table(self, name: str) -> None:
        """A small local key table (its rule in sql/dwh/stage/keys/), made visible to warehouse SQL too."""
        self._run(f"CREATE OR REPLACE TEMP TABLE {name} AS {render(f'dwh/stage/keys/{name}.sql')}")
        self.session.push(name)

    # --- parse and validate ----------------------------------------------------------------------------------
    def _stage_records(self) -> None:
        """dwh_records: every record of the day, typed, with `problem` set where it cannot load. The fast path reads
        whole files; files with a problem (or unreadable, or short of their manifest's lines, or holding a version
        of a uuid that conflicts with another) are read again line by line to name each line exactly."""
        self._run(render("dwh/stage/macros.sql"))
        columns = {c.name: c for table in ("events_part", "technical_data") for c in table_columns(table)}
        columns.update({c.name: c for c in RECORD_EXTRAS})
        self.con.execute(f"CREATE OR REPLACE TEMP TABLE dwh_records ({column_definitions(list(columns.values()))})")
        unreadable: dict[str, RawFile] = {}
        with ThreadPoolExecutor(max_workers=2, thread_name_prefix="dwh-checksum") as pool:
            damage = {f.key: (f, pool.submit(damage_of, f)) for raw in self.raw_days.values() for f in raw.files}
            for source, raw in self.raw_days.items():
                for raw_file in self._stage_fast(source, [f for f in raw.files if f.unreadable is None]):
                    unreadable[raw_file.key] = raw_file
                unreadable.update({f.key: f for f in raw.files if f.unreadable is not None})
            damaged = {key: (raw_file, check.result()) for key, (raw_file, check) in damage.items() if check.result()}
        for key, (raw_file, reason) in damaged.items():
            self._quarantine_damaged(raw_file, reason)
            unreadable.pop(key, None)
        self._validate_values()
        needing = {**self._files_needing_line_numbers(), **unreadable}
        for key in damaged:
            needing.pop(key, None)
        for key, raw_file in sorted(needing.items()):
            reason = raw_file.unreadable or "problems found"
            self.log(f"partition {self.day}: {key}: {reason}; reading it again line by line")
            self.con.execute("DELETE FROM dwh_records WHERE raw_file = $key", {"key": key})
            load_exact_lines(self.con, raw_file)
            self._run(render(f"dwh/stage/{raw_file.source}_records.sql", raw=exact_relation(raw_file.source, raw_file)))
        if needing:
            self._validate_values(files=sorted(needing))
            self._run(render("dwh/stage/uuid_copies.sql"))  # the records read again replaced their copies
        for source, count in self._source_counts().items():
            self.sources[source].records = count

    def _quarantine_damaged(self, raw_file: RawFile, reason: str) -> None:
        """A file that is not what the manifest describes loads nothing: one quarantine row per line the manifest
        counts (AppMetrica: one row), since any of its values may have changed."""
        self.log(f"partition {self.day}: {raw_file.key}: {reason}; none of its records are loaded")
        self.con.execute("DELETE FROM dwh_records WHERE raw_file = $key", {"key": raw_file.key})
        self.con.execute(
            "INSERT INTO dwh_records (source, partition_date, raw_file, line_number, problem) "
            "SELECT $source, CAST($day AS DATE), $key, line_number, $problem "
            "FROM range(1, $lines + 1) AS t(line_number)",
            {"source": raw_file.source, "day": self.day, "key": raw_file.key, "lines": max(raw_file.lines or 1, 1),
             "problem": reason},
        )

    def _stage_fast(self, source: str, files: list[RawFile]) -> list[RawFile]:
        """Stages ``files`` by the fast path; returns those DuckDB cannot read at all (a corrupt gzip, an element of
        a Logs API array that is not an object, bytes that are not UTF-8), for the exact path."""
        if not files:
            return []
        try:
            self._run(render(f"dwh/stage/{source}_records.sql", raw=fast_relation(source, files)))
            return []
        except duckdb.Error:  # one of the files: find which, file by file (the failed INSERT left nothing)
            pass
        unreadable = []
        for raw_file in files:
            try:
                self._run(render(f"dwh/stage/{source}_records.sql", raw=fast_relation(source, [raw_file])))
            except duckdb.Error as error:
                unreadable.append(replace(raw_file, unreadable=f"DuckDB cannot read it ({str(error)[:300]})"))
        return unreadable

    def _validate_values(self, files: list[str] | None = None) -> None:
        """Quarantines records holding a value some warehouse would reject (sql/dwh/stage/validate_values.sql),
        over the columns the targets receive, whatever the source."""
        internal = {c.name for c in RECORD_EXTRAS} - {"event_properties", "user_properties"}
        described = self.con.execute("DESCRIBE dwh_records").fetchall()
        scope = "TRUE" if files is None else f"raw_file IN ({', '.join(sql_string(f) for f in files)})"

        def columns(kind: str) -> list[dict[str, str]]:
            return [{"name": name, "sql": quote_identifier(name)}
                    for name, column_type, *_ in described if column_type == kind and name not in internal]

        self._run(render("dwh/stage/validate_values.sql", text_columns=columns("VARCHAR"),
                         double_columns=columns("DOUBLE"), json_columns=columns("JSON"), scope=scope,
                         suspect_pattern=SUSPECT_JSON_PATTERN))

    def _files_needing_line_numbers(self) -> dict[str, RawFile]:
        """Files with a problem record, with fewer records than manifest lines (lines DuckDB skipped), or holding
        a copy of a uuid whose copies differ (to name the lines of the versions the quarantine keeps)."""
        self._run(render("dwh/stage/uuid_copies.sql"))
        stats = {
            key: (rows, problems)
            for key, rows, problems in self.con.execute(
                "SELECT raw_file, count(*), count(problem) FROM dwh_records WHERE line_number IS NULL "
                "GROUP BY raw_file"
            ).fetchall()
        }
        conflicting = {row[0] for row in self.con.execute(
            "SELECT DISTINCT raw_file FROM dwh_uuid_copies WHERE uuid IN "
            "(SELECT uuid FROM dwh_uuid_copies WHERE content <> kept_content) AND line_number IS NULL"
        ).fetchall()}
        needing = {}
        for raw in self.raw_days.values():
            for raw_file in raw.files:
                if raw_file.key not in stats:
                    continue
                rows, problems = stats[raw_file.key]
                if problems or raw_file.key in conflicting or (raw_file.lines is not None and rows != raw_file.lines):
                    needing[raw_file.key] = raw_file
        return needing

    # --- quarantine --------------------------------------------------------------------------------------------
    def _quarantine(self) -> QuarantineReport:
        """Drops the exact duplicates within the day, marks conflicting versions of a uuid, then writes every record
        that does not load to the quarantine and fails above the allowed share (conflicts are not malformed)."""
        before = self._source_counts()
        self._run(render("dwh/stage/within_day_duplicates.sql"))  # over dwh_uuid_copies of _stage_records
        after = self._source_counts()
        for source in self.sources:
            self.sources[source].duplicates_in_day = before.get(source, 0) - after.get(source, 0)
        records = {source: result.records for source, result in self.sources.items() if result.records}
        report, path = quarantine_module.collect_quarantine(self.con, self.day, records, self.workdir)
        for source, result in self.sources.items():
            result.quarantined = report.quarantined.get(source, 0)
            result.conflicting_versions = report.conflicts.get(source, 0)
            result.repaired = report.repaired.get(source, 0)
        quarantine_module.publish_quarantine(self.store, report, path)
        if report.total or report.total_repaired:
            self.log(f"partition {self.day}: quarantined {report.total:,} records ({report.reasons}), loaded "
                     f"{report.total_repaired:,} with fields as NULL ({report.field_problems}); {report.uri}")
        quarantine_module.check_quarantine_share(report, self.settings.max_quarantine_share)
        quarantine_module.drop_quarantined(self.con)
        return report

    # --- one row per uuid --------------------------------------------------------------------------------------
    def _deduplicate(self) -> int:
        """Copies of this day's events stored under other partitions (the day's own duplicates went before)."""
        before = self._source_counts()
        self._key_table("dwh_stage_uuids")
        self._pull(render("dwh/target/uuid_conflicts.sql"), "dwh_conflicts")
        self._run(render("dwh/stage/drop_earlier_duplicates.sql"))
        final = self._source_counts()
        for source in self.sources:
            self.sources[source].duplicates_of_earlier_days = before.get(source, 0) - final.get(source, 0)
        self._key_table("dwh_stage_claimed")
        self._pull(render("dwh/target/partition_events.sql"), "dwh_previous_events")
        self._key_table("dwh_stage_users")
        return self._count("SELECT count(*) FROM dwh_stage_claimed")

    def _source_counts(self) -> dict[str, int]:
        return dict(self.con.execute("SELECT source, count(*) FROM dwh_records GROUP BY source").fetchall())

    # --- user properties ---------------------------------------------------------------------------------------
    def _snapshots(self, prefix: str, records: str) -> None:
        self._run(render("dwh/stage/user_snapshots.sql", prefix=prefix, records=records,
                         **snapshot_context(self.mappings)))

    def _stored_records(self, scope: str, into: str, **params: Any) -> None:
        mapped_fields = {
            m.field
            for source in self.mappings.by_source.values()
            for m in (*source.permanent, *source.changeable)
            if m.origin == "event"
        }
        columns = list(STORED_RECORD_COLUMNS)
        present = {c.split(".", 1)[1] for c in columns}
        events_part = set(column_names("events_part"))
        for name in sorted(mapped_fields - present):
            columns.append(f"{'e' if name in events_part else 't'}.{quote_identifier(name)}")
        self._pull(render("dwh/target/stored_records.sql", columns=columns, scope=scope), into, **params)

    def _permanent(self) -> int:
        columns = self.mappings.permanent_columns
        self._run(render("dwh/stage/permanent_candidates.sql", target="dwh_permanent_candidates",
                         snapshots="dwh_permanent_snapshots", columns=columns))
        self._key_table("dwh_stage_rebuilt_users")
        rebuilt = self._count("SELECT count(*) FROM dwh_stage_rebuilt_users")
        if rebuilt:
            self.log(f"{rebuilt:,} users lost events they had in this partition: rebuilding their permanent rows")
            self._stored_records("rebuilt_users", "dwh_rebuilt_records")
            stored = ", ".join(quote_identifier(c) for c in self._columns_of("dwh_rebuilt_records"))
            self.con.execute(
                f"INSERT INTO dwh_rebuilt_records BY NAME SELECT {stored} FROM dwh_records "
                "WHERE user_key IN (SELECT user_key FROM dwh_stage_rebuilt_users)"
            )
            self._snapshots("dwh_rebuilt", "dwh_rebuilt_records")
            self._run(render("dwh/stage/permanent_candidates.sql", target="dwh_rebuilt_permanent",
                             snapshots="dwh_rebuilt_permanent_snapshots", columns=columns))
        else:
            self.con.execute(
                "CREATE OR REPLACE TEMP TABLE dwh_rebuilt_permanent AS SELECT * FROM dwh_permanent_candidates LIMIT 0"
            )
        self._pull(render("dwh/target/stored_permanent.sql"), "dwh_existing_permanent")
        self._run(render("dwh/stage/permanent_rows.sql", columns=columns))
        self._key_table("dwh_stage_permanent_keys")
        return rebuilt

    def _changeable(self) -> list[str]:
        columns = self.mappings.changeable_columns
        ddl = table_columns("changeable_user_properties")
        self._pull(render("dwh/target/changeable_prior.sql", columns=[quote_identifier(c.name) for c in ddl]),
                   "dwh_changeable_prior")
        self.con.execute(f"CREATE OR REPLACE TEMP TABLE dwh_out_changeable ({column_definitions(list(ddl))})")
        self.con.execute(
            "CREATE OR REPLACE TEMP VIEW dwh_partition_changeable AS SELECT * FROM dwh_changeable_snapshots"
        )
        self._run(render("dwh/stage/changeable_rows.sql", columns=columns))
        self._pull(render("dwh/target/later_partitions.sql"), "dwh_later_partitions")
        later = [str(row[0]) for row in self.con.execute(
            "SELECT partition_date FROM dwh_later_partitions ORDER BY partition_date").fetchall()]
        for partition in later:
            self.log(f"Recomputing the history rows of this day's users in the later partition {partition}")
            self._stored_records("partition", "dwh_stored_records", stored_partition=partition)
            self._snapshots("dwh_stored", "dwh_stored_records")
            self.con.execute(
                "CREATE OR REPLACE TEMP VIEW dwh_partition_changeable AS "
                "SELECT * FROM dwh_stored_changeable_snapshots"
            )
            self._run(render("dwh/stage/changeable_rows.sql", columns=columns), {"partition_date": partition})
        self._key_table("dwh_stage_recomputed")
        return later

    # --- per-partition aggregates ------------------------------------------------------------------------------
    def _daily_tables(self) -> None:
        for table in DAILY_TABLES:
            rows = render(f"dwh/stage/{table}.sql", records="dwh_records")
            self.con.execute(f"CREATE OR REPLACE TEMP TABLE dwh_out_{table} AS {rows}")
        if self._count("SELECT count(*) FROM dwh_stage_claimed"):
            self._stored_records("claimed_partitions", "dwh_claimed_records")
            for table in DAILY_TABLES:
                self.con.execute(
                    f"INSERT INTO dwh_out_{table} {render(f'dwh/stage/{table}.sql', records='dwh_claimed_records')}"
                )

    # --- the transaction ---------------------------------------------------------------------------------------
    def _loads(self) -> list[TableLoad]:
        rows = {table: self._event_rows(table, "dwh_records") for table in EVENT_TABLES}
        for table, relation in OUTPUT_RELATIONS.items():
            rows[table] = projection(table, relation, set(self._columns_of(relation)))
        deletes = {table: render("dwh/target/delete_events.sql", table=table) for table in EVENT_TABLES}
        deletes.update({table: render("dwh/target/delete_daily.sql", table=table) for table in DAILY_TABLES})
        deletes["permanent_user_properties"] = render("dwh/target/delete_permanent.sql")
        deletes["changeable_user_properties"] = render("dwh/target/delete_changeable.sql")
        return [TableLoad(table, (deletes[table],), rows[table]) for table in DWH_TABLES]

    def _load_log(self) -> TableLoad:
        """The partition's row per loaded source in dwh_partition_loads, written in the same transaction."""
        rows = [
            (self.day, source, raw.manifest.origin, raw.manifest.created_at, self.sources[source].records,
             self.sources[source].loaded)
            for source, raw in self.raw_days.items()
            if raw.manifest is not None
        ]
        self.con.execute(
            "CREATE OR REPLACE TEMP TABLE dwh_out_partition_loads (partition_date DATE, source VARCHAR, "
            "origin VARCHAR, raw_created_at VARCHAR, records BIGINT, loaded BIGINT)"
        )
        if rows:
            self.con.executemany("INSERT INTO dwh_out_partition_loads VALUES (?, ?, ?, ?, ?, ?)", rows)
        return TableLoad(
            LOAD_LOG_TABLE,
            (render("dwh/target/delete_partition_loads.sql"),),
            "SELECT partition_date, source, origin, raw_created_at, records, loaded, "
            "CAST(now() AT TIME ZONE 'UTC' AS TIMESTAMP) FROM dwh_out_partition_loads",
        )

    def _event_rows(self, table: str, records: str) -> str:
        if table == "tmp_user_properties":
            mapped = {source: [sql_string(key) for key in sorted(m.user_property_keys)]
                      for source, m in self.mappings.by_source.items()}
            return render("dwh/stage/tmp_user_properties.sql", records=records, mapped_keys=mapped)
        return projection(table, records, set(self._columns_of("dwh_records")))

    def _columns_of(self, relation: str) -> list[str]:
        return [row[0] for row in self.con.execute(f"DESCRIBE {relation}").fetchall()]

    # --- summaries ---------------------------------------------------------------------------------------------
    def _property_coverage(self) -> tuple[int, int, dict[str, int]]:
        keys = mapped = 0
        unmapped: dict[str, int] = {}
        for source, source_mappings in self.mappings.by_source.items():
            rows = self.con.execute(render("dwh/stage/user_property_keys.sql"), {"source": source}).fetchall()
            for key, count in rows:
                keys += count
                if key in source_mappings.user_property_keys:
                    mapped += count
                else:
                    unmapped[f"{source}: {key}"] = unmapped.get(f"{source}: {key}", 0) + count
        top = dict(sorted(unmapped.items(), key=lambda item: (-item[1], item[0]))[:20])
        return keys, mapped, top

    def _preview(self, table: str) -> str:
        """The first rows by key; per-event rows are shaped from the first records only (the bags are large)."""
        order = ", ".join(TABLE_KEYS[table])
        if table in OUTPUT_RELATIONS:
            relation = OUTPUT_RELATIONS[table]
            rows = projection(table, relation, set(self._columns_of(relation)))
        else:
            first = f"(SELECT * FROM dwh_records ORDER BY uuid LIMIT {PREVIEW_ROWS})"
            rows = self._event_rows(table, first)
        return markdown_table(self.con.execute(f"SELECT * FROM ({rows}) ORDER BY {order} LIMIT {PREVIEW_ROWS}").df())


def markdown_table(frame: Any, max_width: int = 60) -> str:
    if frame.empty:
        return "_no rows_"

    def cell(value: Any) -> str:
        text = "" if _missing(value) else str(value)
        text = text.replace("|", "\\|").replace("\n", " ")
        return text if len(text) <= max_width else text[: max_width - 1] + "…"

    header = "| " + " | ".join(frame.columns) + " |"
    rule = "|" + "---|" * len(frame.columns)
    body = ["| " + " | ".join(cell(v) for v in row) + " |" for row in frame.astype(object).itertuples(index=False)]
    return "\n".join([header, rule, *body])


def _missing(value: Any) -> bool:
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):  # lists and other containers
        return False
