"""The ways of getting an Amplitude day: the Export API, the S3 export, and the demo generator (see ``day_source``)."""

from __future__ import annotations

from pathlib import Path, PurePosixPath
from typing import Any

from analytics_dagster import demo
from analytics_dagster.lib.amplitude import AmplitudeExportClient
from analytics_dagster.lib.day_source import DayResult, WithoutClient, files_preview
from analytics_dagster.lib.http_retry import Log
from analytics_dagster.lib.moscow_time import parse_day
from analytics_dagster.lib.object_store import ObjectStore
from analytics_dagster.lib.raw_store import extract_export_zip, publish_day
from analytics_dagster.lib.s3_export import ExportLocation, copy_day_from_s3_export, parse_export_name

SOURCE = "amplitude"


class AmplitudeExportApiSource:
    """The Export API's ZIP of the day, its members verified and stored as they are."""

    def __init__(self, client: AmplitudeExportClient, base_url: str, store: ObjectStore, log: Log, parallel: int):
        self.client, self.base_url, self.store, self.log, self.parallel = client, base_url, store, log, parallel

    def __enter__(self) -> AmplitudeExportApiSource:
        self.log.info(f"Amplitude Export API at {self.base_url}")
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.client.close()

    def fetch_day(self, day: str, work: Path) -> DayResult:
        export = self.client.export_day(parse_day(day), work)
        counts = {"requests": export.requests, "retries": export.retries, "splits": export.splits}
        manifest = publish_day(self.store, SOURCE, day, export.files, origin="export_api", details=counts)
        self.log.info(
            f"{day}: stored {len(manifest.files)} files, {manifest.total_lines:,} events "
            f"({export.requests} requests, {export.retries} retries, {export.splits} splits, "
            f"{export.empty_windows} empty windows)"
        )
        return DayResult(manifest, manifest.total_lines, files_preview(manifest), counts)


class AmplitudeS3ExportSource(WithoutClient):
    """The day's hourly files of Amplitude's S3 export, copied over what is stored (what the S3 sensor requests)."""

    def __init__(
        self,
        client: Any,
        location: ExportLocation,
        store: ObjectStore,
        log: Log,
        parallel: int,
        triggering_keys: list[str],
    ):
        self.client, self.location, self.store, self.log, self.parallel = client, location, store, log, parallel
        self.triggering_keys = triggering_keys

    def __enter__(self) -> AmplitudeS3ExportSource:
        if self.triggering_keys:
            self.log.info(f"Triggered by {len(self.triggering_keys)} new objects in {self.location}")
        return self

    def fetch_day(self, day: str, work: Path) -> DayResult:
        manifest = copy_day_from_s3_export(self.client, self.location, parse_day(day), self.store, work, self.log)
        stored = {f.name for f in manifest.files}
        gone = [
            key
            for key in self.triggering_keys
            if (parsed := parse_export_name(key)) is not None
            and not parsed.is_marker
            and str(parsed.moscow_day) == day
            and PurePosixPath(key).name not in stored
        ]
        if gone:
            self.log.warning(f"{day}: {len(gone)} triggering objects are no longer in S3: {', '.join(gone[:5])}")
        return DayResult(
            manifest,
            manifest.total_lines,
            files_preview(manifest),
            {"complete_hours": len(manifest.details["complete_hours"]), "s3_objects": manifest.details["s3_objects"]},
        )


class AmplitudeDemoSource(WithoutClient):
    """The demo generator's Export API ZIP of the day, stored exactly like the API's."""

    parallel = 1

    def __init__(self, events_per_day: int, store: ObjectStore, log: Log):
        self.events_per_day, self.store, self.log = events_per_day, store, log

    def __enter__(self) -> AmplitudeDemoSource:
        self.log.warning(
            f"No Amplitude credentials set: storing DEMO data ({self.events_per_day:,} events per day). "
            "Set AMPLITUDE_API_KEY and AMPLITUDE_SECRET_KEY to export real data."
        )
        return self

    def fetch_day(self, day: str, work: Path) -> DayResult:
        work.mkdir(parents=True)
        zip_path = work / "export.zip"
        demo.write_amplitude_export_zip(parse_day(day), zip_path, events_per_day=self.events_per_day)
        files = extract_export_zip(zip_path, work / "files")
        details = {"events_per_day": self.events_per_day}
        manifest = publish_day(self.store, SOURCE, day, files, origin="demo", details=details)
        self.log.info(f"{day}: stored {len(manifest.files)} DEMO files, {manifest.total_lines:,} events")
        return DayResult(manifest, manifest.total_lines, files_preview(manifest))
