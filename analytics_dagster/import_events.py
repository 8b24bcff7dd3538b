"""One-off import of event files: ``python -m analytics_dagster.import_events FILE... --day YYYY-MM-DD [--dry-run]``.

Copies the files into the landing zone (``landing/events/<day>/``, keeping their names) and materializes the day
through Dagster on the configured instance (``DAGSTER_HOME``, default ``$ANALYTICS_DATA_DIR/dagster_home``):
``imported_events``, then the DWH for that day, printing the import's report and what the DWH loaded.

With ``--dry-run`` the files go to a scratch prefix outside the landing zone (so the landing-zone sensor never sees
them), ``imported_events`` runs with ``dry_run: true`` over the day's landing files plus these, the report is
printed, and the scratch copies are deleted: nothing is written to the landing zone, the raw store or the warehouse.

Exit status: 0 when everything was imported (or, for a dry run, every row is valid); 1 when a run failed or a dry
run found invalid rows; 2 for bad arguments.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import uuid
from collections.abc import Sequence
from pathlib import Path

from analytics_dagster.lib.imports.landing import landing_day_prefix
from analytics_dagster.lib.imports.rows import FORMATS, landing_format
from analytics_dagster.lib.settings import PROJECT_ROOT
from analytics_dagster.settings import data_dir

DRY_RUN_PREFIX = "landing/dry-runs"
# The report and any failure are printed at the end; the runs' own log lines would repeat them.
QUIET = {"loggers": {"console": {"config": {"log_level": "CRITICAL"}}}}


def _arguments(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m analytics_dagster.import_events",
        description="Import event files (CSV, NDJSON, Parquet; docs/import.md) into the warehouse for one upload day.",
    )
    parser.add_argument("files", nargs="+", type=Path, metavar="FILE")
    parser.add_argument("--day", required=True, help="the Moscow upload day that owns the files, YYYY-MM-DD")
    parser.add_argument("--dry-run", action="store_true", help="validate and report; write nothing")
    parser.add_argument(
        "--max-invalid-share",
        type=float,
        default=None,
        help="allowed share of invalid rows (default DWH_MAX_QUARANTINE_SHARE, else 0.01); "
        "invalid rows are reported and quarantined, never loaded",
    )
    args = parser.parse_args(argv)
    from analytics_dagster.defs.partitions import daily_partitions

    if args.day not in daily_partitions.get_partition_keys():
        parser.error(f"--day {args.day}: not a partition (a past Moscow day from ANALYTICS_START_DATE on, YYYY-MM-DD)")
    for path in args.files:
        if not path.is_file():
            parser.error(f"{path}: no such file")
        if landing_format(path.name) is None:
            parser.error(f"{path}: unsupported file type; expected one of {', '.join(sorted(FORMATS))}")
    if len({path.name for path in args.files}) != len(args.files):
        parser.error("two files have the same name; the landing zone keeps one file per name")
    if args.max_invalid_share is not None and not 0 <= args.max_invalid_share <= 1:
        parser.error("--max-invalid-share must be between 0 and 1")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = _arguments(argv)
    home = Path(os.environ.setdefault("DAGSTER_HOME", str(data_dir() / "dagster_home")))
    if not (home / "dagster.yaml").exists():  # what `make instance` does
        home.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(PROJECT_ROOT / "dagster.yaml", home / "dagster.yaml")

    import dagster as dg

    from analytics_dagster.defs.dwh.assets import dwh_tables
    from analytics_dagster.defs.ingest.imports import imported_events
    from analytics_dagster.defs.resources import object_store_from_env, warehouse_from_env

    resources = {"object_store": object_store_from_env(), "warehouse": warehouse_from_env()}
    store = resources["object_store"].store()
    prefix = f"{DRY_RUN_PREFIX}/{uuid.uuid4().hex}/" if args.dry_run else landing_day_prefix(args.day)
    keys = [prefix + path.name for path in args.files]
    for path, key in zip(args.files, keys, strict=True):
        store.put_file(key, path)
        print(f"{path} -> {store.uri(key)}")
    config: dict = {"dry_run": args.dry_run}
    if args.dry_run:
        config["candidate_prefix"] = prefix
    if args.max_invalid_share is not None:
        config["max_invalid_share"] = args.max_invalid_share
    instance = dg.DagsterInstance.get()
    try:
        result = dg.materialize(
            [imported_events],
            resources=resources,
            instance=instance,
            partition_key=args.day,
            run_config={"ops": {imported_events.op.name: {"config": config}}, **QUIET},
            raise_on_error=False,
            tags={"analytics/raw_source": "import_cli"},
        )
    finally:
        if args.dry_run:
            store.delete(keys)
    events = [  # from the instance: the in-process result leaves out what a failed step logged
        record.asset_materialization or record.asset_observation
        for record in instance.all_logs(
            result.run_id, of_type={dg.DagsterEventType.ASSET_OBSERVATION, dg.DagsterEventType.ASSET_MATERIALIZATION}
        )
    ]
    for event in events:
        print(event.metadata["report"].value)
    if not result.success:
        print(f"imported_events failed for {args.day} (run {result.run_id}): {_failure(result)}", file=sys.stderr)
        return 1
    if args.dry_run:
        invalid = sum(event.metadata["invalid_rows"].value for event in events)
        print(f"Dry run: nothing was written. {invalid:,} invalid rows.")
        return 1 if invalid else 0
    dwh_config = {"max_quarantine_share": args.max_invalid_share} if args.max_invalid_share is not None else {}
    dwh = dg.materialize(
        [dwh_tables],
        resources=resources,
        instance=instance,
        partition_key=args.day,
        raise_on_error=False,
        run_config={"ops": {dwh_tables.op.name: {"config": dwh_config}}, **QUIET},
        tags={"analytics/raw_source": "import_cli"},
    )
    if not dwh.success:
        print(f"The DWH load of {args.day} failed (run {dwh.run_id}): {_failure(dwh)}", file=sys.stderr)
        return 1
    for event in dwh.get_asset_materialization_events():
        if event.asset_key == dg.AssetKey("events_part"):
            metadata = event.materialization.metadata
            print(
                f"DWH {args.day}: {metadata['import_loaded'].value:,} imported events loaded, "
                f"{metadata['import_quarantined'].value:,} quarantined, "
                f"{metadata['import_duplicates_of_earlier_days'].value:,} already stored under earlier days; "
                f"{metadata['dagster/row_count'].value:,} events in the partition (all sources)"
            )
    return 0


def _failure(result) -> str:
    failures = [e for e in result.all_events if e.is_step_failure]
    if not failures:
        return "see the run log"
    error = failures[0].step_failure_data.error
    message = (error.cause or error).message.strip()
    kind, _, text = message.partition(": ")  # drop the exception's class name
    return text if text and " " not in kind else message


if __name__ == "__main__":
    sys.exit(main())
