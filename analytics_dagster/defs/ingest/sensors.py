"""Sensor on Amplitude's hourly S3 export: new objects under AMPLITUDE_S3_EXPORT_PREFIX -> runs of their days.

The cursor design (never skipping or repeating a key across restarts, equal LastModified seconds and listing
pages) is explained in ``analytics_dagster/lib/s3_export.py``; this module only wires it into Dagster.
"""

import datetime as dt

import dagster as dg

from analytics_dagster.defs.ingest.assets import amplitude_raw_events
from analytics_dagster.defs.ingest.resources import AmplitudeResource
from analytics_dagster.defs.partitions import daily_partitions
from analytics_dagster.lib.moscow_time import parse_day
from analytics_dagster.lib.s3_export import ExportCursor, list_export_objects, plan_tick
from analytics_dagster.settings import IngestSettings, start_date

# How far behind the newest LastModified an object may still show up (S3 stamps the start of an upload, and a
# large hourly file can take a while). The cursor remembers the keys of this window, so it bounds its size.
LATE_VISIBILITY_MARGIN = dt.timedelta(hours=3)
SOURCE_TAG = "analytics/raw_source"


@dg.sensor(
    name="amplitude_s3_export_sensor",
    target=amplitude_raw_events,
    minimum_interval_seconds=300,
    default_status=(
        dg.DefaultSensorStatus.RUNNING
        if IngestSettings.read().amplitude_s3_export_prefix
        else dg.DefaultSensorStatus.STOPPED
    ),
    description="Requests amplitude_raw_events for the Moscow days of new objects in Amplitude's S3 export "
    "(AMPLITUDE_S3_EXPORT_PREFIX); each run copies the day's export files into the raw store.",
)
def amplitude_s3_export_sensor(
    context: dg.SensorEvaluationContext, amplitude: AmplitudeResource
) -> dg.SensorResult | dg.SkipReason:
    location = amplitude.s3_export_location()
    if location is None:
        return dg.SkipReason("AMPLITUDE_S3_EXPORT_PREFIX is not set: there is no S3 export to watch")
    first_day = parse_day(daily_partitions.get_first_partition_key() or start_date())
    last_key = daily_partitions.get_last_partition_key()  # None until the first day (ANALYTICS_START_DATE) is over
    plan = plan_tick(
        list_export_objects(amplitude.s3_client(), location),
        ExportCursor.decode(context.cursor),
        margin=LATE_VISIBILITY_MARGIN,
        first_day=first_day,
        last_day=parse_day(last_key) if last_key else first_day - dt.timedelta(days=1),
    )
    if plan.ignored:
        context.log.warning(f"{len(plan.ignored)} new objects are not export files, e.g. {plan.ignored[0]}")
    if plan.before_start:
        context.log.warning(
            f"{len(plan.before_start)} new export files belong to days before the first partition "
            f"({daily_partitions.get_first_partition_key()}, ANALYTICS_START_DATE), e.g. {plan.before_start[0]}"
        )
    if plan.cursor.pending:
        context.log.info(f"{len(plan.cursor.pending)} objects wait for their day's partition (the day still runs)")
    run_requests = [
        dg.RunRequest(
            run_key=request.run_key,
            partition_key=str(request.day),
            run_config={
                "ops": {
                    amplitude_raw_events.op.name: {
                        "config": {"source": "s3_export", "s3_keys": [*request.keys, *request.markers]}
                    }
                }
            },
            tags={SOURCE_TAG: "s3_export", "analytics/s3_objects": str(len(request.keys) + len(request.markers))},
        )
        for request in plan.requests
    ]
    if not run_requests:
        return dg.SensorResult(skip_reason=f"no new export objects in {location}", cursor=plan.cursor.encode())
    context.log.info(
        f"{sum(len(r.keys) for r in plan.requests)} new export files and "
        f"{sum(len(r.markers) for r in plan.requests)} markers -> runs for {len(run_requests)} days"
    )
    return dg.SensorResult(run_requests=run_requests, cursor=plan.cursor.encode())
