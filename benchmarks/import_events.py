"""Import benchmark: 100,000 CSV rows and 1,000,000 NDJSON rows through the import into DuckDB and PostgreSQL.

    .venv/bin/python benchmarks/import_events.py
    .venv/bin/python benchmarks/import_events.py --targets duckdb --csv-rows 100000 --ndjson-rows 0

Each file is generated once under --data-dir (deterministic: user and device ids, a session, a JSON properties
object and an extra column per row), then every measurement runs in a fresh process (so peak RSS is that run's
alone) against an empty object store and warehouse (a new DuckDB file, or a new schema of the PostgreSQL server
at --postgres-url). It times the two steps a landing file goes through: the import (read, validate, deduplicate,
look up stored event ids, publish raw/import/<day>/) and the DWH load of the day (all eight tables, one
transaction), and prints rows/s beside the seed's reference: 100,000 rows in 4.33 s into PostgreSQL, and the CPU
seconds of each step in this process (DuckDB's threads included, the PostgreSQL server's work not).
Other engineers share the machine: the load average is printed before each measurement; on a busy machine the CPU
seconds say more than the wall-clock time.
"""

from __future__ import annotations

import argparse
import csv
import gzip
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(PROJECT_ROOT))

DEFAULT_DATA_DIR = Path(tempfile.gettempdir()) / "analytics-import-benchmark"
DEFAULT_POSTGRES_URL = os.getenv("TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
DAY = "2026-03-10"
SEED_ROWS, SEED_SECONDS = 100_000, 4.33  # the seed's `import_events events.csv` into PostgreSQL
EVENT_TYPES = ("payment_succeeded", "invoice_sent", "email_opened", "ticket_closed", "refund_issued")
DAY_START = 1773090000  # 2026-03-10 00:00 Moscow, in Unix seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", type=Path, default=DEFAULT_DATA_DIR)
    parser.add_argument("--csv-rows", type=int, default=100_000)
    parser.add_argument("--ndjson-rows", type=int, default=1_000_000)
    parser.add_argument("--targets", default="duckdb,postgres")
    parser.add_argument("--postgres-url", default=DEFAULT_POSTGRES_URL)
    parser.add_argument("--worker", nargs=2, metavar=("FILE", "TARGET"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(_measure(Path(args.worker[0]), args.worker[1], args.postgres_url)))
        return
    args.data_dir.mkdir(parents=True, exist_ok=True)
    files = []
    if args.csv_rows:
        files.append(ensure_file(args.data_dir / f"events-{args.csv_rows}.csv", args.csv_rows))
    if args.ndjson_rows:
        files.append(ensure_file(args.data_dir / f"events-{args.ndjson_rows}.ndjson.gz", args.ndjson_rows))
    print(
        f"machine: {os.cpu_count()} cores; seed reference: {SEED_ROWS:,} rows in {SEED_SECONDS} s into "
        f"PostgreSQL = {SEED_ROWS / SEED_SECONDS:,.0f} rows/s"
    )
    print(
        f"{'file':<28} {'target':<9} {'rows':>10} {'import s':>9} {'DWH s':>8} {'total s':>8} {'rows/s':>9} "
        f"{'CPU s':>14} {'peak RSS':>9}  load before"
    )
    for path in files:
        for target in [t.strip() for t in args.targets.split(",") if t.strip()]:
            load_before = " ".join(f"{x:.2f}" for x in os.getloadavg())
            command = [sys.executable, __file__, "--worker", str(path), target, "--postgres-url", args.postgres_url]
            finished = subprocess.run(command, capture_output=True, text=True, check=False)
            if finished.returncode:
                raise SystemExit(f"{path.name} into {target} failed:\n{finished.stderr[-3000:]}")
            r = json.loads(finished.stdout.strip().splitlines()[-1])
            total = r["import_s"] + r["dwh_s"]
            print(
                f"{path.name:<28} {target:<9} {r['loaded']:>10,} {r['import_s']:>9.2f} {r['dwh_s']:>8.2f} "
                f"{total:>8.2f} {r['loaded'] / total:>9,.0f} {r['import_cpu']:>6.1f} + {r['dwh_cpu']:>5.1f} "
                f"{r['peak_rss'] / 1e6:>7,.0f}MB  {load_before}"
            )


def ensure_file(path: Path, rows: int) -> Path:
    """A landing file of ``rows`` events (generated once): CSV with a properties column and an extra column, or
    gzip NDJSON with a properties object and an extra field."""
    if path.exists():
        return path
    partial = path.with_name(path.name + ".partial")
    started = time.perf_counter()
    if path.suffix == ".csv":
        with open(partial, "w", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(
                [
                    "event_id",
                    "event_type",
                    "occurred_at",
                    "user_id",
                    "device_id",
                    "session_id",
                    "platform",
                    "properties",
                    "plan",
                ]
            )
            for n in range(rows):
                event = _event(n)
                writer.writerow(
                    [
                        event["event_id"],
                        event["event_type"],
                        event["occurred_at"],
                        event["user_id"],
                        event["device_id"],
                        event["session_id"],
                        event["platform"],
                        json.dumps(event["properties"]),
                        event["plan"],
                    ]
                )
    else:
        with gzip.open(partial, "wt", compresslevel=3) as handle:
            for n in range(rows):
                handle.write(json.dumps(_event(n)) + "\n")
    partial.rename(path)
    print(
        f"generated {path} ({rows:,} rows, {path.stat().st_size / 1e6:,.0f} MB) "
        f"in {time.perf_counter() - started:.0f} s"
    )
    return path


def _event(n: int) -> dict:
    return {
        "event_id": f"evt-{n:09d}",
        "event_type": EVENT_TYPES[n % len(EVENT_TYPES)],
        "occurred_at": f"2026-03-10T{(n // 3600) % 24:02d}:{(n // 60) % 60:02d}:{n % 60:02d}+03:00"
        if n % 2
        else DAY_START + n % 86_400,
        "user_id": f"customer-{n % 50_000}" if n % 7 else "",
        "device_id": f"device-{n % 80_000}",
        "session_id": DAY_START * 1000 + n // 20,
        "platform": ("Web", "iOS", "Android", "server")[n % 4],
        "properties": {"amount": round((n % 1000) * 1.5, 2), "currency": "RUB", "order_id": f"order-{n}"},
        "plan": ("free", "pro", "team")[n % 3],
    }


def _measure(path: Path, target: str, postgres_url: str) -> dict:
    from analytics_dagster.lib.dwh.etl import LoadSettings, load_day
    from analytics_dagster.lib.dwh.mappings import load_field_mappings
    from analytics_dagster.lib.imports.day import import_day
    from analytics_dagster.lib.imports.landing import landing_day_prefix
    from analytics_dagster.lib.object_store import LocalObjectStore
    from analytics_dagster.lib.warehouse import DuckDBWarehouse, PostgresWarehouse

    scratch = Path(tempfile.mkdtemp(prefix="import-benchmark-"))
    schema = None
    try:
        store = LocalObjectStore(scratch / "objects")
        store.put_file(landing_day_prefix(DAY) + path.name, path)
        if target == "duckdb":
            warehouse = DuckDBWarehouse(scratch / "warehouse.duckdb")
        else:
            import psycopg

            schema = f"import_benchmark_{uuid.uuid4().hex[:8]}"
            with psycopg.connect(postgres_url, autocommit=True) as con:
                con.execute(f"CREATE SCHEMA {schema}")
            separator = "&" if "?" in postgres_url else "?"
            warehouse = PostgresWarehouse(f"{postgres_url}{separator}options=-csearch_path%3D{schema}")
        (scratch / "work").mkdir()
        started, cpu = time.perf_counter(), time.process_time()
        imported, _ = import_day(
            store, warehouse, DAY, dry_run=False, max_invalid_share=0.0, workdir=scratch / "work", log=lambda _: None
        )
        import_s, import_cpu = time.perf_counter() - started, time.process_time() - cpu
        started, cpu = time.perf_counter(), time.process_time()
        loaded = load_day(
            store, warehouse, DAY, load_field_mappings(), LoadSettings(workdir=str(scratch)), log=lambda _: None
        )
        dwh_s, dwh_cpu = time.perf_counter() - started, time.process_time() - cpu
        return {
            "rows": imported.rows,
            "loaded": loaded.sources["import"].loaded,
            "import_s": import_s,
            "dwh_s": dwh_s,
            "import_cpu": import_cpu,
            "dwh_cpu": dwh_cpu,
            "peak_rss": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
        }
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
        if schema:
            import psycopg

            with psycopg.connect(postgres_url, autocommit=True) as con:
                con.execute(f"DROP SCHEMA {schema} CASCADE")


if __name__ == "__main__":
    main()
