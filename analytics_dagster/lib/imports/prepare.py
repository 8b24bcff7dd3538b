"""A landing day parsed into an in-memory DuckDB: every row validated, the copies of each event_id ranked.

* Every row of every landing file of the day is parsed and validated in Python (:mod:`.rows`), which names the
  file, line and reason of each invalid row; the rows land in an in-memory DuckDB table for the set operations.
* Duplicates within the files: one copy per event_id is kept, the one from the most recently modified file (then
  the later key, then the later line). So a file dropped twice under another name adds nothing, and a corrected
  re-export of some events wins over the file it corrects.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path, PurePosixPath

import duckdb
import pyarrow as pa

from analytics_dagster.lib.imports.landing import day_files, landing_day_prefix, list_landing_objects
from analytics_dagster.lib.imports.rows import (
    EVENT_UUID_SQL,
    FORMATS,
    InvalidRow,
    LandingFileError,
    landing_format,
    read_rows,
    validate,
)
from analytics_dagster.lib.object_store import ObjectStore

MEMORY_LIMIT = "512MB"
_BATCH_ROWS = 100_000
_ROW_SCHEMA = pa.schema(
    [
        ("file_rank", pa.int32()),
        ("line", pa.int64()),
        ("event_id", pa.string()),
        ("event_type", pa.string()),
        ("occurred_at", pa.timestamp("us")),
        ("user_id", pa.string()),
        ("device_id", pa.string()),
        ("session_id", pa.int64()),
        ("platform", pa.string()),
        ("properties", pa.string()),
        ("problem", pa.string()),
        ("raw", pa.string()),
    ]
)


class PreparedDay:
    """A landing day parsed into an in-memory DuckDB (``import_files``, and ``import_ranked``: the rows with the
    rank of each valid row among the copies of its event id, 1 = kept); close it when done."""

    def __init__(self, day: str, workdir: Path):
        self.day = day
        self.workdir = workdir
        self.con = duckdb.connect()
        self.con.execute("SET TimeZone = 'UTC'")
        self.con.execute(f"SET temp_directory = '{workdir / 'duckdb-spill'}'")
        self.con.execute(f"SET memory_limit = '{MEMORY_LIMIT}'")  # beyond it, DuckDB spills to the workdir
        self.con.execute(
            "CREATE TABLE import_files (file_rank INTEGER, key VARCHAR, raw_name VARCHAR, uploaded_at TIMESTAMP)"
        )
        self.con.execute(
            "CREATE TABLE import_rows (file_rank INTEGER, line BIGINT, uuid VARCHAR, event_id VARCHAR, "
            "event_type VARCHAR, occurred_at TIMESTAMP, user_id VARCHAR, device_id VARCHAR, session_id BIGINT, "
            "platform VARCHAR, properties JSON, problem VARCHAR, raw VARCHAR)"
        )

    def close(self) -> None:
        self.con.close()


def prepare_day(
    store: ObjectStore,
    day: str,
    workdir: Path,
    log: Callable[[str], None],
    candidate_prefix: str | None = None,
) -> PreparedDay:
    """Reads and validates every data file of the day's landing folder; raises :class:`LandingFileError` naming a
    file that cannot be read at all. Files under ``candidate_prefix`` (a dry run of files not yet dropped) are
    taken as the newest files of the day, replacing landing files of the same name."""
    objects = [(obj, obj.key) for obj in day_files(store, day)]
    if candidate_prefix:
        prefix = candidate_prefix.rstrip("/") + "/"
        candidates = [
            (c, landing_day_prefix(day) + _relative_name(c.key, prefix)) for c in list_landing_objects(store, prefix)
        ]
        replaced = {name for _, name in candidates}
        objects = [(obj, name) for obj, name in objects if name not in replaced] + candidates
    prepared = PreparedDay(day, workdir)
    try:
        for rank, (obj, name) in enumerate(objects):
            fmt = landing_format(name)
            if fmt is None:
                raise LandingFileError(
                    f"{name}: unsupported file type; the landing zone takes {', '.join(sorted(FORMATS))}"
                )
            path = store.local_path(obj.key)
            if path is None:
                path = workdir / "landing" / f"{rank}_{PurePosixPath(obj.key).name}"
                path.parent.mkdir(parents=True, exist_ok=True)
                store.download_file(obj.key, path)
            uploaded = obj.last_modified.astimezone(dt.UTC).replace(tzinfo=None)
            prepared.con.execute(
                "INSERT INTO import_files VALUES (?, ?, ?, ?)", [rank, name, _raw_name(name, day), uploaded]
            )
            rows = _load_file(prepared.con, rank, path, fmt, name)
            log(f"{name}: {rows:,} rows ({fmt})")
        prepared.con.execute(
            "CREATE TABLE import_ranked AS SELECT *, CASE WHEN problem IS NULL THEN row_number() OVER ("
            "PARTITION BY problem IS NULL, uuid ORDER BY file_rank DESC, line DESC) END AS copy FROM import_rows"
        )
        prepared.con.execute("DROP TABLE import_rows")
    except BaseException:
        prepared.close()
        raise
    return prepared


def _relative_name(key: str, prefix: str) -> str:
    return key[len(prefix.rstrip("/")) + 1 :] if key.startswith(prefix.rstrip("/") + "/") else key


def _raw_name(key: str, day: str) -> str:
    return _relative_name(key, landing_day_prefix(day)).replace("/", "__") + ".jsonl.gz"


def _load_file(con: duckdb.DuckDBPyConnection, rank: int, path: Path, fmt: str, key: str) -> int:
    batch: list[tuple] = []
    count = 0

    def flush() -> None:
        columns = list(zip(*batch, strict=True)) or [() for _ in _ROW_SCHEMA]
        table = pa.Table.from_arrays(
            [pa.array(c, f.type) for c, f in zip(columns, _ROW_SCHEMA, strict=True)], schema=_ROW_SCHEMA
        )
        con.register("import_batch", table)
        con.execute(
            f"INSERT INTO import_rows BY NAME SELECT *, CASE WHEN problem IS NULL THEN {EVENT_UUID_SQL} END "
            "AS uuid FROM import_batch"
        )
        con.unregister("import_batch")
        batch.clear()

    for row in read_rows(path, fmt, key):
        count += 1
        values = (rank, row.line, *[None] * 8, row.problem, row.raw)
        if row.problem is None:
            try:
                event = validate(row.values)
                values = (
                    rank,
                    row.line,
                    event.event_id,
                    event.event_type,
                    event.occurred_at,
                    event.user_id,
                    event.device_id,
                    event.session_id,
                    event.platform,
                    event.properties.decode(),
                    None,
                    None,
                )
            except InvalidRow as problem:
                values = (rank, row.line, *[None] * 8, str(problem), row.raw)
        batch.append(values)
        if len(batch) >= _BATCH_ROWS:
            flush()
    flush()
    return count
