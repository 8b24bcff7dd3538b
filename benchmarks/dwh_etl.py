"""DWH ETL benchmark: events/s and peak RSS for a 1,000,000-event demo day, into DuckDB and PostgreSQL.

    .venv/bin/python benchmarks/dwh_etl.py                       # DuckDB + PostgreSQL, Amplitude day
    .venv/bin/python benchmarks/dwh_etl.py --targets duckdb --repeat 3
    .venv/bin/python benchmarks/dwh_etl.py --sources amplitude,appmetrica   # both sources' 1M-event days

The raw day is the demo source's, published into an object store under --data-dir (generated once, about a
minute, then reused). Each measurement runs in a fresh process (so peak RSS is that run's alone) against an empty
warehouse: a new DuckDB file, or a new schema of the PostgreSQL server at --postgres-url. The same run also
measures the floor: DuckDB's bare read_json of the same raw files into one typed table, and prints the ratio.
Other engineers share the machine: the load average is printed before each measurement; rerun when it is low.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(PROJECT_ROOT))

DEFAULT_DATA_DIR = Path(tempfile.gettempdir()) / "analytics-dwh-benchmark"
DEFAULT_POSTGRES_URL = os.getenv("TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
TARGETS = {"duckdb": 60_000, "postgres": 25_000}  # events/s the issue asks for
MAX_DUCKDB_RSS = 2 * 1024**3


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", type=Path, default=DEFAULT_DATA_DIR)
    parser.add_argument("--day", default="2025-07-01")
    parser.add_argument("--events", type=int, default=1_000_000, help="demo events per day and source")
    parser.add_argument("--sources", default="amplitude", help="comma-separated: amplitude, appmetrica")
    parser.add_argument("--targets", default="duckdb,postgres")
    parser.add_argument("--postgres-url", default=DEFAULT_POSTGRES_URL)
    parser.add_argument("--repeat", type=int, default=1, help="runs per measurement; the best is reported")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args()
    sources = [s.strip() for s in args.sources.split(",") if s.strip()]
    if args.worker:
        print(json.dumps(_measure(args.worker, args, sources)))
        return

    raw = ensure_raw_day(args.data_dir, args.day, args.events, sources)
    print(
        f"machine: {os.cpu_count()} cores; raw day {args.day}: {raw['events']:,} events "
        f"({', '.join(sources)}), {raw['files']} files, {raw['gzip_bytes'] / 1e6:,.0f} MB gzip, "
        f"{raw['json_bytes'] / 1e9:,.2f} GB of JSON"
    )
    floor = best(args, "floor", sources)
    print(_line("DuckDB bare read_json -> one typed table (floor)", floor))
    for target in [t.strip() for t in args.targets.split(",") if t.strip()]:
        result = best(args, target, sources)
        verdict = "OK" if result["events_per_s"] >= TARGETS[target] else "BELOW TARGET"
        extra = f"; ratio to floor {result['events_per_s'] / floor['events_per_s']:.2f}"
        if target == "duckdb":
            verdict += ", RSS OK" if result["peak_rss"] < MAX_DUCKDB_RSS else ", RSS ABOVE 2 GB"
        print(
            _line(f"DWH ETL -> all 8 {target} tables", result)
            + f"{extra} [target >= {TARGETS[target]:,} events/s: {verdict}]"
        )
        print(f"    steps (s): {json.dumps(result['timings'])}")


def _line(label: str, result: dict) -> str:
    return (
        f"{label}: {result['seconds']:.1f} s, {result['events_per_s']:,.0f} events/s, peak RSS "
        f"{result['peak_rss'] / 1024**3:.2f} GB (load average before: {result['load_before']})"
    )


def best(args: argparse.Namespace, what: str, sources: list[str]) -> dict:
    runs = []
    for _ in range(args.repeat):
        command = [
            sys.executable,
            __file__,
            "--worker",
            what,
            "--data-dir",
            str(args.data_dir),
            "--day",
            args.day,
            "--sources",
            ",".join(sources),
            "--postgres-url",
            args.postgres_url,
        ]
        load_before = " ".join(f"{x:.2f}" for x in os.getloadavg())
        finished = subprocess.run(command, capture_output=True, text=True, check=False)
        if finished.returncode:
            sys.exit(f"{what} run failed:\n{finished.stderr[-4000:]}")
        result = json.loads(finished.stdout.strip().splitlines()[-1])
        result["load_before"] = load_before
        runs.append(result)
    return max(runs, key=lambda r: r["events_per_s"])


def ensure_raw_day(data_dir: Path, day: str, events: int, sources: list[str]) -> dict:
    from analytics_dagster import demo
    from analytics_dagster.lib.object_store import LocalObjectStore
    from analytics_dagster.lib.raw_store import extract_export_zip, publish_day, read_manifest

    store = LocalObjectStore(store_root(data_dir, sources))
    for source in sources:
        manifest = read_manifest(store, source, day)
        if manifest and manifest.details.get("events_per_day") == events:
            continue
        print(f"generating the {events:,}-event demo {source} day {day} (once) ...", flush=True)
        with tempfile.TemporaryDirectory(dir=data_dir.parent) as scratch:
            scratch_dir = Path(scratch)
            if source == "amplitude":
                demo.write_amplitude_export_zip(day, scratch_dir / "export.zip", events_per_day=events)
                files = extract_export_zip(scratch_dir / "export.zip", scratch_dir / "files")
            else:
                files = [scratch_dir / "events.json.gz"]
                demo.write_appmetrica_events_json(day, files[0], events_per_day=events, gzip_output=True)
            publish_day(store, source, day, files, origin="demo", details={"events_per_day": events})
    return _describe(store, day, sources)


def store_root(data_dir: Path, sources: list[str]) -> Path:
    """One object store per set of sources: the ETL loads every source present in the store."""
    return data_dir / f"objects-{'-'.join(sources)}"


def _describe(store, day: str, sources: list[str]) -> dict:
    from analytics_dagster.lib.raw_store import read_manifest

    info_path = store.local_path(f"raw/{day}.benchmark.json")
    cached = json.loads(info_path.read_text()) if info_path.exists() else {}
    key = ",".join(sources)
    if key not in cached:
        events = files = gzip_bytes = json_bytes = 0
        for source in sources:
            manifest = read_manifest(store, source, day)
            paths = [str(store.local_path(f"raw/{source}/{day}/{f.name}")) for f in manifest.files]
            files += len(paths)
            gzip_bytes += manifest.total_bytes
            json_bytes += sum(_gunzipped_size(path) for path in paths)
            events += _count_records(source, paths)
        cached[key] = {"events": events, "files": files, "gzip_bytes": gzip_bytes, "json_bytes": json_bytes}
        info_path.write_text(json.dumps(cached))
    return cached[key]


def _gunzipped_size(path: str) -> int:
    import zlib

    size = 0
    decompressor = zlib.decompressobj(wbits=zlib.MAX_WBITS | 16)
    with open(path, "rb") as handle:
        while chunk := handle.read(1 << 20):
            size += len(decompressor.decompress(chunk))
    return size


def _count_records(source: str, paths: list[str]) -> int:
    import duckdb

    con = duckdb.connect()
    if source == "amplitude":
        reader = f"read_json_objects({paths!r}, format='newline_delimited')"
        return con.execute(f"SELECT count(*) FROM {reader}").fetchone()[0]
    from analytics_dagster.lib.dwh.sources import unwrap_logs_api_body

    total = 0
    with tempfile.TemporaryDirectory() as scratch:
        for path in paths:
            array = Path(scratch) / "array.json"
            unwrap_logs_api_body(Path(path), array, path)
            total += con.execute(f"SELECT count(*) FROM read_json_objects('{array}', format='array')").fetchone()[0]
    return total


def _measure(what: str, args: argparse.Namespace, sources: list[str]) -> dict:
    """One measurement, in this (fresh) process."""
    from analytics_dagster.lib.object_store import LocalObjectStore

    store = LocalObjectStore(store_root(args.data_dir, sources))
    info = _describe(store, args.day, sources)
    with tempfile.TemporaryDirectory(dir=args.data_dir) as scratch:
        started = time.perf_counter()
        if what == "floor":
            timings = _floor(store, args.day, sources, Path(scratch))
        else:
            timings = _etl(store, args.day, what, Path(scratch), args.postgres_url)
        seconds = time.perf_counter() - started
    return {
        "seconds": seconds,
        "events": info["events"],
        "events_per_s": info["events"] / seconds,
        "peak_rss": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
        "timings": timings,
    }


def _floor(store, day: str, sources: list[str], scratch: Path) -> dict:
    """DuckDB alone: the raw JSON of the day read into one table with types it detects (no ETL at all)."""
    import duckdb

    from analytics_dagster.lib.dwh.sources import unwrap_logs_api_body
    from analytics_dagster.lib.raw_store import read_manifest

    con = duckdb.connect(str(scratch / "floor.duckdb"))
    con.execute("SET preserve_insertion_order = false")
    for source in sources:
        manifest = read_manifest(store, source, day)
        paths = [str(store.local_path(f"raw/{source}/{day}/{f.name}")) for f in manifest.files]
        if source == "appmetrica":
            arrays = []
            for path in paths:
                arrays.append(str(scratch / f"{Path(path).name}.array.json"))
                unwrap_logs_api_body(Path(path), Path(arrays[-1]), path)
            reader = f"read_json({arrays!r}, format='array')"
        else:
            reader = f"read_json({paths!r}, format='newline_delimited')"
        con.execute(f"CREATE TABLE raw_{source} AS SELECT * FROM {reader}")
    con.close()
    return {}


def _etl(store, day: str, target: str, scratch: Path, postgres_url: str) -> dict:
    from analytics_dagster.lib.dwh.etl import LoadSettings, load_day
    from analytics_dagster.lib.dwh.mappings import load_field_mappings
    from analytics_dagster.lib.warehouse import DuckDBWarehouse, PostgresWarehouse

    mappings = load_field_mappings()
    settings = LoadSettings(workdir=str(scratch))
    if target == "duckdb":
        result = load_day(store, DuckDBWarehouse(scratch / "warehouse.duckdb"), day, mappings, settings)
        return result.timings
    if target != "postgres":
        raise SystemExit(f"unknown target {target!r}")
    import psycopg

    schema = f"dwh_benchmark_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(postgres_url, autocommit=True) as con:
        con.execute(f"CREATE SCHEMA {schema}")
    try:
        separator = "&" if "?" in postgres_url else "?"
        warehouse = PostgresWarehouse(f"{postgres_url}{separator}options=-csearch_path%3D{schema}")
        return load_day(store, warehouse, day, mappings, settings).timings
    finally:
        with psycopg.connect(postgres_url, autocommit=True) as con:
            con.execute(f"DROP SCHEMA {schema} CASCADE")


if __name__ == "__main__":
    main()
