"""Raw ingest: one partition per Moscow day, stored in the object store with a manifest.

Each asset uses the real API when its credentials are set and the built-in demo source otherwise — never silently:
the run log and the asset metadata say which. A backfill runs one run per range of days (the partitions' backfill
policy); the days of a run are fetched in parallel within the API's limit, each reported as its own partition.
"""

import gzip
import itertools
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any, Literal

import dagster as dg
from pydantic import Field

from analytics_dagster.defs.ingest.resources import (
    AMPLITUDE_POOL,
    APPMETRICA_POOL,
    AmplitudeResource,
    AppMetricaResource,
    IngestConfigurationError,
)
from analytics_dagster.defs.partitions import RANGE_BACKFILL_POLICY, daily_partitions
from analytics_dagster.defs.reporting import record_days
from analytics_dagster.defs.resources import ObjectStoreResource
from analytics_dagster.defs.scratch import run_scratch
from analytics_dagster.lib import demo
from analytics_dagster.lib.appmetrica import iter_records, raw_file_name
from analytics_dagster.lib.moscow_time import parse_day
from analytics_dagster.lib.object_store import ObjectStore
from analytics_dagster.lib.raw_store import Manifest, extract_export_zip, manifest_key, publish_day
from analytics_dagster.lib.s3_export import copy_day_from_s3_export, parse_export_name
from analytics_dagster.settings import demo_events_per_day

PREVIEW_ROWS = 5


@dataclass
class DayResult:
    manifest: Manifest
    rows: int
    preview: str  # markdown
    metadata: dict[str, Any] = field(default_factory=dict)


def _files_preview(manifest: Manifest) -> str:
    rows = "\n".join(f"| {f.name} | {f.lines:,} | {f.bytes:,} |" for f in manifest.files[:24])
    more = f"\n\n…and {len(manifest.files) - 24} more files" if len(manifest.files) > 24 else ""
    return f"| file | lines | bytes |\n|---|---:|---:|\n{rows}{more}"


def _day_metadata(result: DayResult, store: ObjectStore) -> dict[str, Any]:
    manifest = result.manifest
    return {
        "dagster/row_count": result.rows,
        "demo_data": manifest.is_demo,
        "origin": manifest.origin,
        "files": len(manifest.files),
        "bytes": manifest.total_bytes,
        "location": dg.MetadataValue.url(store.public_url(manifest_key(manifest.source, manifest.partition))),
        "preview": dg.MetadataValue.md(result.preview),
        **result.metadata,
    }


def materialize_days(
    context: dg.AssetExecutionContext,
    store: ObjectStore,
    fetch_day: Callable[[str, Path], DayResult],
    parallel: int,
) -> Iterator[dg.AssetMaterialization | dg.MaterializeResult]:
    """Runs ``fetch_day`` for every partition of the run (one, or a range in a backfill), ``parallel`` at a time.

    Each partition gets its own metadata. When some days fail, the others are still recorded as materialized
    before the run fails, so a retry of the backfill only needs the failed days. A generator: the asset body
    yields from it.
    """
    days = list(context.partition_keys)
    results: dict[str, DayResult] = {}
    failures: dict[str, Exception] = {}
    workers = max(1, min(parallel, len(days)))
    with run_scratch(context) as scratch, ThreadPoolExecutor(workers) as pool:
        futures = {pool.submit(fetch_day, day, scratch / day): day for day in days}
        for future in as_completed(futures):
            day = futures[future]
            try:
                results[day] = future.result()
            except Exception as error:  # every day is attempted; failures are reported together below
                failures[day] = error
                context.log.error(f"{day} failed: {error}")
    metadata = {day: _day_metadata(result, store) for day, result in results.items()}
    yield from record_days(context, dict(sorted(metadata.items())), run_fails=bool(failures))
    if failures:
        summary = "; ".join(f"{day}: {failures[day]}" for day in sorted(failures))
        raise dg.Failure(
            description=f"{len(failures)} of {len(days)} days failed ({summary})",
            metadata={"failed_days": sorted(failures), "stored_days": sorted(results)},
        ) from failures[min(failures)]
    yield dg.MaterializeResult()


class AmplitudeIngestConfig(dg.Config):
    source: Literal["api", "s3_export"] = Field(
        default="api",
        description="'api': the Export API (the demo source when no credentials are set). 's3_export': copy the "
        "day's files from AMPLITUDE_S3_EXPORT_PREFIX over what is stored (what the S3 sensor requests).",
    )
    s3_keys: list[str] = Field(
        default_factory=list, description="The new S3 export objects that triggered this run (set by the sensor)."
    )


@dg.asset(
    partitions_def=daily_partitions,
    group_name="ingest",
    kinds={"python", "s3"},
    pool=AMPLITUDE_POOL,
    backfill_policy=RANGE_BACKFILL_POLICY,
    description="Amplitude Export API archive of the Moscow day (UTC hours (D-1)T21..DT20 of server_upload_time), "
    "as hourly json.gz files plus a manifest. Filled by the Export API, the S3 export sensor, or the demo source.",
)
def amplitude_raw_events(
    context: dg.AssetExecutionContext,
    config: AmplitudeIngestConfig,
    object_store: ObjectStoreResource,
    amplitude: AmplitudeResource,
) -> Iterator[dg.AssetMaterialization | dg.MaterializeResult]:
    store = object_store.store()
    if config.source == "s3_export":
        yield from _amplitude_from_s3_export(context, config, store, amplitude)
        return
    if amplitude.uses_api():
        yield from _amplitude_from_export_api(context, store, amplitude)
        return
    events = demo_events_per_day()
    context.log.warning(
        f"No Amplitude credentials set: storing DEMO data ({events:,} events per day). "
        "Set AMPLITUDE_API_KEY and AMPLITUDE_SECRET_KEY to export real data."
    )

    def demo_day(day: str, work: Path) -> DayResult:
        work.mkdir(parents=True)
        zip_path = work / "export.zip"
        demo.write_amplitude_export_zip(parse_day(day), zip_path, events_per_day=events)
        files = extract_export_zip(zip_path, work / "files")
        manifest = publish_day(store, "amplitude", day, files, origin="demo", details={"events_per_day": events})
        context.log.info(f"{day}: stored {len(manifest.files)} DEMO files, {manifest.total_lines:,} events")
        return DayResult(manifest, manifest.total_lines, _files_preview(manifest))

    yield from materialize_days(context, store, demo_day, parallel=1)


def _amplitude_from_export_api(
    context: dg.AssetExecutionContext, store: ObjectStore, amplitude: AmplitudeResource
) -> Iterator[dg.AssetMaterialization | dg.MaterializeResult]:
    context.log.info(f"Amplitude Export API at {amplitude.base_url()}")
    with amplitude.export_client(context.log) as client:

        def api_day(day: str, work: Path) -> DayResult:
            export = client.export_day(parse_day(day), work)
            counts = {"requests": export.requests, "retries": export.retries, "splits": export.splits}
            manifest = publish_day(store, "amplitude", day, export.files, origin="export_api", details=counts)
            context.log.info(
                f"{day}: stored {len(manifest.files)} files, {manifest.total_lines:,} events "
                f"({export.requests} requests, {export.retries} retries, {export.splits} splits, "
                f"{export.empty_windows} empty windows)"
            )
            return DayResult(manifest, manifest.total_lines, _files_preview(manifest), counts)

        yield from materialize_days(context, store, api_day, parallel=amplitude.max_concurrent_requests)


def _amplitude_from_s3_export(
    context: dg.AssetExecutionContext, config: AmplitudeIngestConfig, store: ObjectStore, amplitude: AmplitudeResource
) -> Iterator[dg.AssetMaterialization | dg.MaterializeResult]:
    location = amplitude.s3_export_location()
    if location is None:
        raise IngestConfigurationError("source 's3_export' needs AMPLITUDE_S3_EXPORT_PREFIX (s3://bucket/prefix)")
    client = amplitude.s3_client()
    if config.s3_keys:
        context.log.info(f"Triggered by {len(config.s3_keys)} new objects in {location}")

    def s3_day(day: str, work: Path) -> DayResult:
        manifest = copy_day_from_s3_export(client, location, parse_day(day), store, work, context.log)
        stored = {f.name for f in manifest.files}
        gone = [
            key
            for key in config.s3_keys
            if (parsed := parse_export_name(key)) is not None
            and not parsed.is_marker
            and str(parsed.moscow_day) == day
            and PurePosixPath(key).name not in stored
        ]
        if gone:
            context.log.warning(f"{day}: {len(gone)} triggering objects are no longer in S3: {', '.join(gone[:5])}")
        return DayResult(
            manifest,
            manifest.total_lines,
            _files_preview(manifest),
            {"complete_hours": len(manifest.details["complete_hours"]), "s3_objects": manifest.details["s3_objects"]},
        )

    yield from materialize_days(context, store, s3_day, parallel=amplitude.max_concurrent_requests)


@dg.asset(
    partitions_def=daily_partitions,
    group_name="ingest",
    kinds={"python", "s3"},
    pool=APPMETRICA_POOL,
    backfill_policy=RANGE_BACKFILL_POLICY,
    description="AppMetrica Logs API events of the Moscow day (date_dimension=receive by default) as the gzip of "
    "the exact API body, plus installations / sessions_starts when configured, and a manifest.",
)
def appmetrica_raw_events(
    context: dg.AssetExecutionContext, object_store: ObjectStoreResource, appmetrica: AppMetricaResource
) -> Iterator[dg.AssetMaterialization | dg.MaterializeResult]:
    store = object_store.store()
    tables = appmetrica.checked_tables()
    if appmetrica.uses_api():
        yield from _appmetrica_from_logs_api(context, store, appmetrica, tables)
        return
    events = demo_events_per_day()
    context.log.warning(
        f"No AppMetrica credentials set: storing DEMO data ({events:,} events per day). "
        "Set APPMETRICA_TOKEN and APPMETRICA_APPLICATION_ID to load real data."
    )

    def demo_day(day: str, work: Path) -> DayResult:
        work.mkdir(parents=True)
        records, paths = {}, []
        for table in tables:
            path = work / raw_file_name(table)
            if table == "events":
                summary = demo.write_appmetrica_events_json(day, path, events_per_day=events, gzip_output=True)
            else:
                summary = demo.write_appmetrica_table_json(table, day, path, events_per_day=events, gzip_output=True)
            records[table] = summary.events
            paths.append(path)
        return _publish_appmetrica_day(context, store, day, paths, records, "demo", {"events_per_day": events})

    yield from materialize_days(context, store, demo_day, parallel=1)


def _appmetrica_from_logs_api(
    context: dg.AssetExecutionContext, store: ObjectStore, appmetrica: AppMetricaResource, tables: list[str]
) -> Iterator[dg.AssetMaterialization | dg.MaterializeResult]:
    context.log.info(f"AppMetrica Logs API at {appmetrica.api_url}, application {appmetrica.application_id}")
    with appmetrica.logs_client(context.log) as client:

        def api_day(day: str, work: Path) -> DayResult:
            work.mkdir(parents=True)
            exports = [client.export_day(table, parse_day(day), work / raw_file_name(table)) for table in tables]
            counts = {
                "requests": sum(e.requests for e in exports),
                "retries": sum(e.retries for e in exports),
                "prepare_polls": sum(e.polls for e in exports),
                "queue_waits": sum(e.queue_waits for e in exports),
            }
            details = {"application_id": appmetrica.application_id, "date_dimension": appmetrica.date_dimension}
            records = {e.table: e.records for e in exports}
            paths = [e.path for e in exports]
            result = _publish_appmetrica_day(context, store, day, paths, records, "logs_api", {**details, **counts})
            result.metadata.update(counts)
            return result

        yield from materialize_days(context, store, api_day, parallel=appmetrica.max_queued_queries)


def _publish_appmetrica_day(
    context: dg.AssetExecutionContext,
    store: ObjectStore,
    day: str,
    paths: list[Path],
    records: dict[str, int],
    origin: str,
    details: dict[str, Any],
) -> DayResult:
    manifest = publish_day(store, "appmetrica", day, paths, origin=origin, details={**details, "records": records})
    label = "DEMO " if manifest.is_demo else ""
    context.log.info(f"{day}: stored {label}AppMetrica {', '.join(f'{t}: {n:,}' for t, n in records.items())}")
    with gzip.open(next(p for p in paths if p.name == raw_file_name("events"))) as body:
        first = list(itertools.islice(iter_records(body), PREVIEW_ROWS))
    columns = ("event_receive_datetime", "event_name", "appmetrica_device_id", "os_name", "app_version_name")
    rows = "\n".join("| " + " | ".join(str(r.get(c, "")) for c in columns) + " |" for r in first)
    preview = f"| {' | '.join(columns)} |\n|{'---|' * len(columns)}\n{rows}"
    extra = {f"{table}_records": n for table, n in records.items() if table != "events"}
    return DayResult(manifest, records["events"], preview, extra)
