"""Sensor on Amplitude's hourly S3 export: new objects under AMPLITUDE_S3_EXPORT_PREFIX -> runs of their days.

The cursor design (never skipping or repeating a key across restarts, equal LastModified seconds and listing
pages) is explained in ``analytics_dagster/lib/s3_export.py``; this module only wires it into Dagster.
"""

import dagster as dg

from analytics_dagster.defs.ingest.assets import amplitude_raw_events
from analytics_dagster.defs.ingest.resources import AmplitudeResource
from analytics_dagster.defs.ingest.ticks import plan_for_partitions
from analytics_dagster.lib.s3_export import list_export_objects, plan_tick
from analytics_dagster.settings import IngestSettings

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
    listing = list_export_objects(amplitude.s3_client(), location)
    plan = plan_for_partitions(plan_tick, listing, context, files="export files", not_files="export files")
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
