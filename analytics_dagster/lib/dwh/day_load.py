"""The steps of a day's load after staging: quarantine, one row per uuid, user properties, per-partition
aggregates, the warehouse transaction and the summaries (the rules are in :mod:`analytics_dagster.lib.dwh.etl`)."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from analytics_dagster.lib.dwh import quarantine as quarantine_module
from analytics_dagster.lib.dwh.mappings import FieldMappings
from analytics_dagster.lib.dwh.quarantine import QuarantineReport
from analytics_dagster.lib.dwh.results import DayLoadResult, SourceResult
from analytics_dagster.lib.dwh.sources import RawDay
from analytics_dagster.lib.dwh.sqltext import (
    column_definitions,
    projection,
    quote_identifier,
    render,
    snapshot_context,
    sql_string,
)
from analytics_dagster.lib.dwh.staging import RecordStaging, source_counts
from analytics_dagster.lib.dwh.tables import (
    DAILY_TABLES,
    DWH_TABLES,
    EVENT_TABLES,
    LOAD_LOG_TABLE,
    TABLE_KEYS,
    column_names,
    table_columns,
)
from analytics_dagster.lib.dwh.targets import StageSession, TableLoad, run_statements
from analytics_dagster.lib.markdown import markdown_table
from analytics_dagster.lib.object_store import ObjectStore

# Stored columns the per-partition tables read when they are recomputed from the warehouse.
STORED_RECORD_COLUMNS = (
    "e.uuid",
    "e.source",
    "e.partition_date",
    "e.event_time",
    "e.user_key",
    "e.user_id",
    "e.device_id",
    "e.platform",
    "e.os_name",
    "e.os_version",
    "e.app_version",
    "e.country",
    "e.region",
    "e.city",
    "e.language",
    "t.installation_id",
    "t.device_manufacturer",
    "t.device_model",
    "t.device_type",
    "t.carrier",
    "t.connection_type",
    "t.advertising_id",
    "u.user_properties",
)
PREVIEW_ROWS = 5
# The local tables holding the rows of the tables that are not one row per record.
OUTPUT_RELATIONS = {
    "mobile_devices": "dwh_out_mobile_devices",
    "user_locations": "dwh_out_user_locations",
    "permanent_user_properties": "dwh_out_permanent",
    "changeable_user_properties": "dwh_out_changeable",
}


class StepTimer:
    """Times the steps of a load and logs each one's duration."""

    def __init__(self, log: Callable[[str], None]):
        self.log = log
        self.timings: dict[str, float] = {}

    @contextmanager
    def step(self, name: str) -> Iterator[None]:
        started = time.perf_counter()
        yield
        self.timings[name] = round(time.perf_counter() - started, 3)
        self.log(f"{name}: {self.timings[name]:.2f}s")


class DayLoad:
    """The steps after staging, over one open :class:`StageSession`; :meth:`run` returns the day's result."""

    def __init__(
        self,
        session: StageSession,
        store: ObjectStore,
        day: str,
        raw_days: dict[str, RawDay],
        mappings: FieldMappings,
        max_quarantine_share: float,
        workdir: Path,
        timer: StepTimer,
        log: Callable[[str], None],
    ):
        self.session = session
        self.con = session.local
        self.store = store
        self.day = day
        self.raw_days = raw_days
        self.mappings = mappings
        self.max_quarantine_share = max_quarantine_share
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
            staged = RecordStaging(self.con, self.day, self.raw_days, self.log).stage()
        for source, count in staged.items():
            self.sources[source].records = count
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
        loaded = source_counts(self.con)
        for source, result in self.sources.items():
            result.loaded = loaded.get(source, 0)
        loads = [*self._loads(), self._load_log()]
        with self.timer.step("write warehouse"):
            self.session.apply(loads, self.params)
        with self.timer.step("summaries"):
            keys, mapped, unmapped = self._property_coverage()
            rows = {
                table: self._count(f"SELECT count(*) FROM {OUTPUT_RELATIONS.get(table, 'dwh_records')}")
                for table in DWH_TABLES
            }
            previews = {table: self._preview(table) for table in DWH_TABLES}
        return DayLoadResult(
            partition=self.day,
            sources=self.sources,
            rows=rows,
            previews=previews,
            quarantine=report,
            taken_over=taken_over,
            recomputed_partitions=recomputed,
            rebuilt_users=rebuilt_users,
            property_keys=keys,
            mapped_property_keys=mapped,
            unmapped_keys=unmapped,
            timings=self.timer.timings,
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

    # --- quarantine --------------------------------------------------------------------------------------------
    def _quarantine(self) -> QuarantineReport:
        """Drops the exact duplicates within the day, marks conflicting versions of a uuid, then writes every record
        that does not load to the quarantine and fails above the allowed share (conflicts are not malformed)."""
        before = source_counts(self.con)
        self._run(render("dwh/stage/within_day_duplicates.sql"))  # over dwh_uuid_copies of the staging
        after = source_counts(self.con)
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
            self.log(
                f"partition {self.day}: quarantined {report.total:,} records ({report.reasons}), loaded "
                f"{report.total_repaired:,} with fields as NULL ({report.field_problems}); {report.uri}"
            )
        quarantine_module.check_quarantine_share(report, self.max_quarantine_share)
        quarantine_module.drop_quarantined(self.con)
        return report

    # --- one row per uuid --------------------------------------------------------------------------------------
    def _deduplicate(self) -> int:
        """Copies of this day's events stored under other partitions (the day's own duplicates went before)."""
        before = source_counts(self.con)
        self._key_table("dwh_stage_uuids")
        self._pull(render("dwh/target/uuid_conflicts.sql"), "dwh_conflicts")
        self._run(render("dwh/stage/drop_earlier_duplicates.sql"))
        final = source_counts(self.con)
        for source in self.sources:
            self.sources[source].duplicates_of_earlier_days = before.get(source, 0) - final.get(source, 0)
        self._key_table("dwh_stage_claimed")
        self._pull(render("dwh/target/partition_events.sql"), "dwh_previous_events")
        self._key_table("dwh_stage_users")
        return self._count("SELECT count(*) FROM dwh_stage_claimed")

    # --- user properties ---------------------------------------------------------------------------------------
    def _snapshots(self, prefix: str, records: str) -> None:
        self._run(
            render("dwh/stage/user_snapshots.sql", prefix=prefix, records=records, **snapshot_context(self.mappings))
        )

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
        self._run(
            render(
                "dwh/stage/permanent_candidates.sql",
                target="dwh_permanent_candidates",
                snapshots="dwh_permanent_snapshots",
                columns=columns,
            )
        )
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
            self._run(
                render(
                    "dwh/stage/permanent_candidates.sql",
                    target="dwh_rebuilt_permanent",
                    snapshots="dwh_rebuilt_permanent_snapshots",
                    columns=columns,
                )
            )
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
        self._pull(
            render("dwh/target/changeable_prior.sql", columns=[quote_identifier(c.name) for c in ddl]),
            "dwh_changeable_prior",
        )
        self.con.execute(f"CREATE OR REPLACE TEMP TABLE dwh_out_changeable ({column_definitions(list(ddl))})")
        self.con.execute(
            "CREATE OR REPLACE TEMP VIEW dwh_partition_changeable AS SELECT * FROM dwh_changeable_snapshots"
        )
        self._run(render("dwh/stage/changeable_rows.sql", columns=columns))
        self._pull(render("dwh/target/later_partitions.sql"), "dwh_later_partitions")
        later = [
            str(row[0])
            for row in self.con.execute(
                "SELECT partition_date FROM dwh_later_partitions ORDER BY partition_date"
            ).fetchall()
        ]
        for partition in later:
            self.log(f"Recomputing the history rows of this day's users in the later partition {partition}")
            self._stored_records("partition", "dwh_stored_records", stored_partition=partition)
            self._snapshots("dwh_stored", "dwh_stored_records")
            self.con.execute(
                "CREATE OR REPLACE TEMP VIEW dwh_partition_changeable AS SELECT * FROM dwh_stored_changeable_snapshots"
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
            (
                self.day,
                source,
                raw.manifest.origin,
                raw.manifest.created_at,
                self.sources[source].records,
                self.sources[source].loaded,
            )
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
            mapped = {
                source: [sql_string(key) for key in sorted(m.user_property_keys)]
                for source, m in self.mappings.by_source.items()
            }
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
        return markdown_table(
            self.con.execute(f"SELECT * FROM ({rows}) ORDER BY {order} LIMIT {PREVIEW_ROWS}").df(),
            max_rows=PREVIEW_ROWS,
        )
