"""The first step of a day's load: every raw record of the day into the local table ``dwh_records``, typed, and
marked with the ``problem`` that keeps it from loading (malformed, damaged file, a value a warehouse rejects)."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace

import duckdb

from analytics_dagster.lib.dwh.exact_lines import exact_relation, load_exact_lines
from analytics_dagster.lib.dwh.sources import RawDay, RawFile, damage_of, fast_relation
from analytics_dagster.lib.dwh.sqltext import column_definitions, quote_identifier, render, sql_string
from analytics_dagster.lib.dwh.tables import Column, table_columns
from analytics_dagster.lib.dwh.targets import run_statements

RECORD_EXTRAS = (
    Column("event_properties", "JSON", False),
    Column("user_properties", "JSON", False),
    Column("line_number", "BIGINT", False),
    Column("raw_line", "VARCHAR", False),
    Column("raw_bytes", "BLOB", False),  # the line's bytes when they are not UTF-8 (raw_line is then NULL)
    Column("problem", "VARCHAR", False),  # why the record is quarantined; NULL: it loads
    Column("field_problems", "VARCHAR[]", False),  # ['<column>: <reason>'] of fields loaded NULL (invalid_fields)
)
# JSON text that may hold a value some warehouse rejects (validate_values.sql walks only such documents): a NUL
# escape, NaN / Infinity, a number token (ended by a blank , } or ]) of 19+ digits or with a 3-digit exponent; ids
# inside strings (hex, long digit strings) end with a quote instead, so they are rarely suspects.
SUSPECT_JSON_PATTERN = r"\\u0000|NaN|Infinity|\d{19}[\s,}\]]|\d[eE][+-]?\d{3}[\s,}\]]"


def source_counts(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    """Records of ``dwh_records`` per source."""
    return dict(con.execute("SELECT source, count(*) FROM dwh_records GROUP BY source").fetchall())


class RecordStaging:
    def __init__(
        self, con: duckdb.DuckDBPyConnection, day: str, raw_days: dict[str, RawDay], log: Callable[[str], None]
    ):
        self.con = con
        self.day = day
        self.raw_days = raw_days
        self.log = log

    def _run(self, sql: str) -> None:
        run_statements(self.con, sql, {"partition_date": self.day})

    def stage(self) -> dict[str, int]:
        """dwh_records: every record of the day, typed, with `problem` set where it cannot load. The fast path reads
        whole files; files with a problem (or unreadable, or short of their manifest's lines, or holding a version
        of a uuid that conflicts with another) are read again line by line to name each line exactly. Returns the
        records per source."""
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
        return source_counts(self.con)

    def _quarantine_damaged(self, raw_file: RawFile, reason: str) -> None:
        """A file that is not what the manifest describes loads nothing: one quarantine row per line the manifest
        counts (AppMetrica: one row), since any of its values may have changed."""
        self.log(f"partition {self.day}: {raw_file.key}: {reason}; none of its records are loaded")
        self.con.execute("DELETE FROM dwh_records WHERE raw_file = $key", {"key": raw_file.key})
        self.con.execute(
            "INSERT INTO dwh_records (source, partition_date, raw_file, line_number, problem) "
            "SELECT $source, CAST($day AS DATE), $key, line_number, $problem "
            "FROM range(1, $lines + 1) AS t(line_number)",
            {
                "source": raw_file.source,
                "day": self.day,
                "key": raw_file.key,
                "lines": max(raw_file.lines or 1, 1),
                "problem": reason,
            },
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
            return [
                {"name": name, "sql": quote_identifier(name)}
                for name, column_type, *_ in described
                if column_type == kind and name not in internal
            ]

        self._run(
            render(
                "dwh/stage/validate_values.sql",
                text_columns=columns("VARCHAR"),
                double_columns=columns("DOUBLE"),
                json_columns=columns("JSON"),
                scope=scope,
                suspect_pattern=SUSPECT_JSON_PATTERN,
            )
        )

    def _files_needing_line_numbers(self) -> dict[str, RawFile]:
        """Files with a problem record, with fewer records than manifest lines (lines DuckDB skipped), or holding
        a copy of a uuid whose copies differ (to name the lines of the versions the quarantine keeps)."""
        self._run(render("dwh/stage/uuid_copies.sql"))
        stats = {
            key: (rows, problems)
            for key, rows, problems in self.con.execute(
                "SELECT raw_file, count(*), count(problem) FROM dwh_records WHERE line_number IS NULL GROUP BY raw_file"
            ).fetchall()
        }
        conflicting = {
            row[0]
            for row in self.con.execute(
                "SELECT DISTINCT raw_file FROM dwh_uuid_copies WHERE uuid IN "
                "(SELECT uuid FROM dwh_uuid_copies WHERE content <> kept_content) AND line_number IS NULL"
            ).fetchall()
        }
        needing = {}
        for raw in self.raw_days.values():
            for raw_file in raw.files:
                if raw_file.key not in stats:
                    continue
                rows, problems = stats[raw_file.key]
                if problems or raw_file.key in conflicting or (raw_file.lines is not None and rows != raw_file.lines):
                    needing[raw_file.key] = raw_file
        return needing
