"""Raw ingest: one partition per Moscow day, stored in the object store with a manifest.

Each asset fetches its days from the one source its resource chooses (``lib/day_source.py``): the real API when
its credentials are set and the built-in demo source otherwise — never silently: the run log and the asset
metadata say which. A backfill runs one run per range of days (the partitions' backfill policy); the days of a run
are fetched in parallel within the API's limit, each reported as its own partition.
"""

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor, as_completed
from typing import Any, Literal

import dagster as dg
from pydantic import Field

from analytics_dagster.defs.ingest.resources import (
    AMPLITUDE_POOL,
    APPMETRICA_POOL,
    AmplitudeResource,
    AppMetricaResource,
)
from analytics_dagster.defs.partitions import RANGE_BACKFILL_POLICY, daily_partitions
from analytics_dagster.defs.reporting import record_days
from analytics_dagster.defs.resources import ObjectStoreResource
from analytics_dagster.defs.scratch import run_scratch
from analytics_dagster.lib.day_source import DayResult, DaySource
from analytics_dagster.lib.object_store import ObjectStore
from analytics_dagster.lib.raw_store import manifest_key


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
    source: DaySource,
) -> Iterator[dg.AssetMaterialization | dg.MaterializeResult]:
    """Fetches every partition of the run (one, or a range in a backfill) from ``source``, ``source.parallel`` at a
    time.

    Each partition gets its own metadata. When some days fail, the others are still recorded as materialized
    before the run fails, so a retry of the backfill only needs the failed days. A generator: the asset body
    yields from it.
    """
    days = list(context.partition_keys)
    results: dict[str, DayResult] = {}
    failures: dict[str, Exception] = {}
    workers = max(1, min(source.parallel, len(days)))
    with source, run_scratch(context) as scratch, ThreadPoolExecutor(workers) as pool:
        futures = {pool.submit(source.fetch_day, day, scratch / day): day for day in days}
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
    source = amplitude.day_source(store, context.log, s3_export=config.source == "s3_export", s3_keys=config.s3_keys)
    yield from materialize_days(context, store, source)


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
    yield from materialize_days(context, store, appmetrica.day_source(store, context.log))
