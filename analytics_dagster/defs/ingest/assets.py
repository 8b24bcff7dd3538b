"""Raw ingest: one partition per Moscow day, stored in the object store with a manifest.

Each asset uses the real API when its credentials are set and the built-in demo source otherwise — never silently:
the run log and the asset metadata say which.
"""

import tempfile
from pathlib import Path

import dagster as dg

from analytics_dagster.defs.partitions import daily_partitions
from analytics_dagster.defs.resources import ObjectStoreResource
from analytics_dagster.lib import demo
from analytics_dagster.lib.moscow_time import parse_day
from analytics_dagster.lib.raw_store import Manifest, extract_export_zip, publish_day
from analytics_dagster.lib.settings import demo_events_per_day


def manifest_result(manifest: Manifest, store_uri: str) -> dg.MaterializeResult:
    rows = "\n".join(f"| {f.name} | {f.lines:,} | {f.bytes:,} |" for f in manifest.files[:24])
    more = f"\n\n…and {len(manifest.files) - 24} more files" if len(manifest.files) > 24 else ""
    return dg.MaterializeResult(
        metadata={
            "dagster/row_count": manifest.total_lines,
            "demo_data": manifest.is_demo,
            "origin": manifest.origin,
            "files": len(manifest.files),
            "bytes": manifest.total_bytes,
            "location": dg.MetadataValue.url(store_uri),
            "preview": dg.MetadataValue.md(f"| file | lines | bytes |\n|---|---:|---:|\n{rows}{more}"),
        }
    )


@dg.asset(
    partitions_def=daily_partitions,
    group_name="ingest",
    kinds={"python", "s3"},
    description="Amplitude Export API archive of the Moscow day (UTC hours (D-1)T21..DT20 of server_upload_time), "
    "as hourly json.gz files plus a manifest.",
)
def amplitude_raw_events(context: dg.AssetExecutionContext, object_store: ObjectStoreResource) -> dg.MaterializeResult:
    day = parse_day(context.partition_key)
    store = object_store.store()
    events = demo_events_per_day()
    context.log.warning(
        f"No Amplitude credentials set: storing DEMO data ({events:,} events) for {day}. "
        "Set AMPLITUDE_API_KEY and AMPLITUDE_SECRET_KEY to export real data."
    )
    with tempfile.TemporaryDirectory(prefix="amplitude-") as tmp:
        zip_path = Path(tmp) / "export.zip"
        demo.write_amplitude_export_zip(day, zip_path, events_per_day=events)
        files = extract_export_zip(zip_path, Path(tmp) / "files")
        manifest = publish_day(store, "amplitude", day, files, origin="demo", details={"events_per_day": events})
    context.log.info(f"Stored {len(manifest.files)} files, {manifest.total_lines:,} events for {day}")
    return manifest_result(manifest, store.uri(f"raw/amplitude/{day}/_manifest.json"))
