"""One upload day of the landing zone: validated, deduplicated on event_id, reported, and published to the raw store.

* :mod:`.prepare` reads and validates every row of every landing file of the day into an in-memory DuckDB, and
  ranks the copies of each event_id (one is kept: the one from the most recently modified file).
* Copies already in the warehouse are counted by where they are stored: an earlier upload day keeps its copy (the
  DWH's earliest-partition rule), this day's copy is replaced, a later day's copy moves to this day.
* Publishing writes one gzip JSON-lines file per landing file to ``raw/import/<day>/`` (the kept rows and the
  invalid ones, marked with their problem, landing file and line, so the DWH quarantines them like any source's
  malformed records) with a manifest written last, replacing the day's previous import as a whole.
"""

from __future__ import annotations

import datetime as dt
import logging
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from analytics_dagster.lib.dwh.targets import StageSettings, open_session
from analytics_dagster.lib.imports.prepare import PreparedDay, prepare_day
from analytics_dagster.lib.imports.rows import landing_format
from analytics_dagster.lib.object_store import ObjectStore
from analytics_dagster.lib.raw_store import Manifest, publish_day
from analytics_dagster.lib.sql import read_sql
from analytics_dagster.lib.warehouse import DuckDBWarehouse, Warehouse

logger = logging.getLogger(__name__)

RAW_SOURCE = "import"
ORIGIN = "landing_zone"
SAMPLE_SIZE = 100  # invalid rows listed in a report (all of them are counted, and quarantined by the DWH)


class ImportLimitExceeded(RuntimeError):
    """More invalid rows than the allowed share: nothing is published. ``result`` is the day's report."""

    def __init__(self, message: str, result: DayImport):
        super().__init__(message)
        self.result = result


@dataclass
class FileReport:
    key: str
    format: str
    rows: int = 0
    valid: int = 0
    invalid: int = 0
    superseded: int = 0  # valid rows whose event_id a later copy (this file or a newer one) replaces
    raw_name: str = ""  # its file in raw/import/<day>/


@dataclass(frozen=True)
class InvalidRowReport:
    file: str
    line: int
    reason: str


@dataclass
class StoredCopies:
    """Events of the day whose event_id the warehouse already holds, by the upload day holding them."""

    earlier_days: int = 0  # kept there: not loaded again
    this_day: int = 0  # replaced by this import
    later_days: int = 0  # moved to this day


@dataclass
class DayImport:
    day: str
    files: list[FileReport]
    invalid_rows: int
    invalid_sample: list[InvalidRowReport]
    reasons: dict[str, int]  # invalid rows per reason (without the offending value)
    unique_events: int  # valid rows after deduplication
    stored: StoredCopies = field(default_factory=StoredCopies)

    @property
    def rows(self) -> int:
        return sum(f.rows for f in self.files)

    @property
    def duplicates_within_files(self) -> int:
        return sum(f.superseded for f in self.files)

    @property
    def would_load(self) -> int:
        return self.unique_events - self.stored.earlier_days

    @property
    def invalid_share(self) -> float:
        """Invalid rows over the rows published (duplicates dropped): the share the DWH's quarantine limit sees."""
        published = self.invalid_rows + self.unique_events
        return self.invalid_rows / published if published else 0.0

    def summary(self) -> str:
        """The report as text (markdown tables), for the log, the metadata and the CLI."""
        lines = [
            f"Import of upload day {self.day}: {len(self.files)} files, {self.rows:,} rows, "
            f"{self.invalid_rows:,} invalid, {self.duplicates_within_files:,} duplicates within the files, "
            f"{self.stored.earlier_days:,} already stored under earlier days, {self.would_load:,} events to load "
            f"({self.stored.this_day:,} replacing this day's copies, "
            f"{self.stored.later_days:,} moved from later days).",
            "",
            "| file | format | rows | valid | invalid | duplicates |",
            "|---|---|---:|---:|---:|---:|",
            *(
                f"| {f.key} | {f.format} | {f.rows:,} | {f.valid:,} | {f.invalid:,} | {f.superseded:,} |"
                for f in self.files
            ),
        ]
        if self.invalid_rows:
            lines += [
                "",
                "| file | line | reason |",
                "|---|---:|---|",
                *(f"| {r.file} | {r.line} | {_cell(r.reason)} |" for r in self.invalid_sample),
            ]
            if self.invalid_rows > len(self.invalid_sample):
                lines.append(f"\n…and {self.invalid_rows - len(self.invalid_sample):,} more invalid rows")
        return "\n".join(lines)


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def report(prepared: PreparedDay, stored: StoredCopies | None = None) -> DayImport:
    con = prepared.con
    files = []
    for key, raw_name, rows, valid, invalid, superseded in con.execute(
        "SELECT f.key, f.raw_name, count(r.line), count(r.line) FILTER (r.problem IS NULL), "
        "count(r.line) FILTER (r.problem IS NOT NULL), count(r.line) FILTER (r.copy > 1) "
        "FROM import_files AS f LEFT JOIN import_ranked AS r USING (file_rank) GROUP BY ALL ORDER BY f.key"
    ).fetchall():
        files.append(FileReport(key, landing_format(key) or "", rows, valid, invalid, superseded, raw_name))
    sample = [
        InvalidRowReport(*row)
        for row in con.execute(
            "SELECT f.key, r.line, r.problem FROM import_ranked AS r JOIN import_files AS f USING (file_rank) "
            f"WHERE r.problem IS NOT NULL ORDER BY f.key, r.line LIMIT {SAMPLE_SIZE}"
        ).fetchall()
    ]
    reasons = dict(
        con.execute(
            "SELECT regexp_replace(problem, ': .*$', '') AS reason, count(*) FROM import_ranked "
            "WHERE problem IS NOT NULL GROUP BY reason ORDER BY count(*) DESC, reason"
        ).fetchall()
    )
    unique = con.execute("SELECT count(*) FROM import_ranked WHERE copy = 1").fetchone()[0]
    return DayImport(
        prepared.day, files, sum(f.invalid for f in files), sample, reasons, unique, stored or StoredCopies()
    )


def stored_copies(prepared: PreparedDay, warehouse: Warehouse) -> StoredCopies:
    """Where the warehouse already holds the day's event ids (read only: temp tables, nothing is written)."""
    if isinstance(warehouse, DuckDBWarehouse) and not warehouse.path.exists():
        return StoredCopies()  # (opening it would create the file)
    if not warehouse.table_exists("events_part"):
        return StoredCopies()
    uuids = prepared.con.execute("SELECT uuid FROM import_ranked WHERE copy = 1").arrow()
    with (
        tempfile.TemporaryDirectory(dir=prepared.workdir) as scratch,
        open_session(warehouse, Path(scratch), StageSettings()) as session,
    ):
        session.local.register("import_uuids_arrow", uuids)
        session.local.execute("CREATE OR REPLACE TEMP TABLE import_stage_uuids AS SELECT uuid FROM import_uuids_arrow")
        session.local.unregister("import_uuids_arrow")
        session.push("import_stage_uuids")
        session.pull(read_sql("imports/stored_events.sql"), {}, "import_stored")
        earlier, this_day, later = session.local.execute(
            "SELECT count(*) FILTER (partition_date < $day), count(*) FILTER (partition_date = $day), "
            "count(*) FILTER (partition_date > $day) FROM import_stored",
            {"day": dt.date.fromisoformat(prepared.day)},
        ).fetchone()
    return StoredCopies(earlier, this_day, later)


def check_invalid_share(result: DayImport, max_share: float) -> None:
    if result.invalid_share > max_share:
        examples = "; ".join(f"{r.file} line {r.line}: {r.reason}" for r in result.invalid_sample[:5])
        raise ImportLimitExceeded(
            f"upload day {result.day}: {result.invalid_rows:,} of {result.invalid_rows + result.unique_events:,} "
            "imported rows (duplicates dropped) are invalid "
            f"({result.invalid_share:.2%}, more than the allowed {max_share:.2%}); nothing was published. "
            f"Examples: {examples}",
            result,
        )


def publish(store: ObjectStore, prepared: PreparedDay, result: DayImport) -> Manifest:
    """Makes the prepared day the whole of ``raw/import/<day>/`` (manifest written last)."""
    out_dir = prepared.workdir / "raw"
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    for rank, raw_name in prepared.con.execute("SELECT file_rank, raw_name FROM import_files ORDER BY key").fetchall():
        path = out_dir / raw_name
        prepared.con.execute(
            "COPY (SELECT r.uuid, r.event_id, r.event_type, strftime(r.occurred_at, '%Y-%m-%d %H:%M:%S.%f') "
            "AS occurred_at, r.user_id, r.device_id, r.session_id, r.platform, r.properties, "
            "strftime(f.uploaded_at, '%Y-%m-%d %H:%M:%S.%f') AS uploaded_at, f.key AS landing_file, r.line, "
            "r.problem, r.raw FROM import_ranked AS r JOIN import_files AS f USING (file_rank) "
            f"WHERE r.file_rank = {int(rank)} AND (r.problem IS NOT NULL OR r.copy = 1) ORDER BY r.line) "
            f"TO '{path}' (FORMAT json, COMPRESSION gzip)"
        )
        paths.append(path)
    details = {
        "landing_files": [
            {
                "key": f.key,
                "raw_file": f.raw_name,
                "rows": f.rows,
                "valid": f.valid,
                "invalid": f.invalid,
                "duplicates": f.superseded,
            }
            for f in result.files
        ],
        "invalid_rows": result.invalid_rows,
        "duplicates_within_files": result.duplicates_within_files,
        "events": result.unique_events,
    }
    return publish_day(store, RAW_SOURCE, prepared.day, paths, origin=ORIGIN, details=details)


def import_day(
    store: ObjectStore,
    warehouse: Warehouse,
    day: str,
    *,
    dry_run: bool,
    max_invalid_share: float,
    workdir: Path,
    candidate_prefix: str | None = None,
    log: Callable[[str], None] = logger.info,
) -> tuple[DayImport, Manifest | None]:
    """Validates the landing day and reports it; unless ``dry_run``, publishes it to the raw store (failing,
    with nothing published, when invalid rows exceed ``max_invalid_share``). A dry run writes nothing anywhere."""
    prepared = prepare_day(store, day, workdir, log, candidate_prefix)
    try:
        result = report(prepared, stored_copies(prepared, warehouse))
        log(result.summary())
        if dry_run:
            return result, None
        check_invalid_share(result, max_invalid_share)
        manifest = publish(store, prepared, result)
        log(
            f"Published {result.unique_events:,} events and {result.invalid_rows:,} invalid rows of "
            f"{len(result.files)} files to {store.uri(f'raw/{RAW_SOURCE}/{day}/')}"
        )
        return result, manifest
    finally:
        prepared.close()
