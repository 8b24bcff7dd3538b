"""Events imported from files: the ``imported_events`` asset and the ``landing_zone_sensor`` (docs/import.md).

The work is in :mod:`analytics_dagster.lib.imports`; this module wires it to partitions, resources, run config and
metadata. A dry run records an observation (the report) instead of a materialization, so it never looks like the
day was imported and never wakes anything downstream.
"""

from typing import Any

import dagster as dg
from pydantic import Field

from analytics_dagster.defs.ingest.ticks import plan_for_partitions
from analytics_dagster.defs.partitions import RANGE_BACKFILL_POLICY, daily_partitions
from analytics_dagster.defs.reporting import record_days
from analytics_dagster.defs.resources import WAREHOUSE_POOL, ObjectStoreResource, WarehouseResource
from analytics_dagster.defs.scratch import run_scratch
from analytics_dagster.lib.imports.day import DayImport, ImportLimitExceeded, import_day
from analytics_dagster.lib.imports.landing import LANDING_PREFIX, list_landing_objects, plan_tick
from analytics_dagster.lib.imports.rows import LandingFileError
from analytics_dagster.lib.raw_store import Manifest
from analytics_dagster.settings import DwhSettings


class ImportConfig(dg.Config):
    dry_run: bool = Field(
        default=False,
        description="Validate every landing file of the day and report (metadata and log) without writing anything.",
    )
    max_invalid_share: float = Field(
        default_factory=lambda: DwhSettings.read().dwh_max_quarantine_share,
        ge=0.0,
        le=1.0,
        description="A real run fails, publishing nothing, when invalid rows exceed this share of the rows it would "
        "publish, invalid + unique valid (default DWH_MAX_QUARANTINE_SHARE, the DWH's limit over the same rows, so a "
        "published import never fails the DWH).",
    )
    candidate_prefix: str | None = Field(
        default=None,
        description="Also validate the files under this object-store prefix as if dropped into the day's folder "
        "(set by `python -m analytics_dagster.import_events --dry-run`).",
    )


def _metadata(result: DayImport, manifest: Manifest | None, location: str, dry_run: bool) -> dict[str, Any]:
    metadata: dict[str, Any] = {
        "dagster/row_count": result.would_load,
        "dry_run": dry_run,
        "files": len(result.files),
        "rows": result.rows,
        "rows_per_file": {f.key: f.rows for f in result.files},
        "invalid_rows": result.invalid_rows,
        "invalid_by_reason": result.reasons,
        "invalid_row_list": [f"{r.file} line {r.line}: {r.reason}" for r in result.invalid_sample],
        "duplicates_within_files": result.duplicates_within_files,
        "stored_under_earlier_days": result.stored.earlier_days,
        "stored_under_this_day": result.stored.this_day,
        "stored_under_later_days": result.stored.later_days,
        "would_load": result.would_load,
        "report": dg.MetadataValue.md(result.summary()),
    }
    if manifest is not None:
        metadata["location"] = dg.MetadataValue.url(location)
        metadata["demo_data"] = manifest.is_demo
        metadata["origin"] = manifest.origin
    return metadata


@dg.asset(
    partitions_def=daily_partitions,
    group_name="ingest",
    kinds={"python", "duckdb"},
    pool=WAREHOUSE_POOL,  # reads the warehouse (duplicate ids); DuckDB allows one process on the file at a time
    backfill_policy=RANGE_BACKFILL_POLICY,
    output_required=False,
    description="Events from files dropped into landing/events/<day>/ (CSV, NDJSON, Parquet): validated, "
    "deduplicated on event_id and published to raw/import/<day>/ for the DWH. `dry_run` only reports.",
)
def imported_events(
    context: dg.AssetExecutionContext,
    config: ImportConfig,
    object_store: ObjectStoreResource,
    warehouse: WarehouseResource,
):
    store = object_store.store()
    target = warehouse.get()
    location = {day: store.uri(f"raw/import/{day}/_manifest.json") for day in context.partition_keys}
    metadata: dict[str, dict[str, Any]] = {}  # days done
    reports: dict[str, dict[str, Any]] = {}  # days that failed with a report (too many invalid rows)
    failures: dict[str, Exception] = {}
    with run_scratch(context) as scratch:
        for day in context.partition_keys:
            workdir = scratch / day
            workdir.mkdir()
            try:
                result, manifest = import_day(
                    store,
                    target,
                    day,
                    dry_run=config.dry_run,
                    max_invalid_share=config.max_invalid_share,
                    workdir=workdir,
                    candidate_prefix=config.candidate_prefix,
                    log=context.log.info,
                )
                metadata[day] = _metadata(result, manifest, location[day], config.dry_run)
            except (LandingFileError, ImportLimitExceeded) as error:
                failures[day] = error
                context.log.error(f"{day}: {error}")
                if isinstance(error, ImportLimitExceeded):
                    reports[day] = _metadata(error.result, None, location[day], config.dry_run)
    for day, day_metadata in {**reports, **(metadata if config.dry_run else {})}.items():
        yield dg.AssetObservation(context.asset_key, partition=day, metadata=day_metadata)
    if not config.dry_run:
        yield from record_days(context, metadata, run_fails=bool(failures))
    if failures:
        summary = "; ".join(f"{day}: {failures[day]}" for day in sorted(failures))
        raise dg.Failure(
            description=f"{len(failures)} of {len(context.partition_keys)} days failed ({summary})",
            metadata={"failed_days": sorted(failures), "done_days": sorted(metadata)},
        ) from failures[min(failures)]
    if not config.dry_run:
        yield dg.MaterializeResult()


@dg.sensor(
    name="landing_zone_sensor",
    target=imported_events,
    minimum_interval_seconds=120,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description=f"Requests imported_events for the upload day of every new or rewritten file under "
    f"{LANDING_PREFIX}/<day>/ in the object store, once per file (cursor: lib/imports/landing.py).",
)
def landing_zone_sensor(context: dg.SensorEvaluationContext, object_store: ObjectStoreResource) -> dg.SensorResult:
    plan = plan_for_partitions(
        plan_tick,
        list_landing_objects(object_store.store()),
        context,
        files="landing files",
        not_files=f"files of a {LANDING_PREFIX}/<YYYY-MM-DD>/ folder",
    )
    run_requests = [
        dg.RunRequest(
            run_key=request.run_key,
            partition_key=str(request.day),
            tags={"analytics/raw_source": "landing_zone", "analytics/landing_files": str(len(request.keys))},
        )
        for request in plan.requests
    ]
    if not run_requests:
        return dg.SensorResult(skip_reason=f"no new files under {LANDING_PREFIX}/", cursor=plan.cursor.encode())
    context.log.info(
        f"{sum(len(r.keys) for r in plan.requests)} new landing files -> runs for {len(run_requests)} days"
    )
    return dg.SensorResult(run_requests=run_requests, cursor=plan.cursor.encode())
