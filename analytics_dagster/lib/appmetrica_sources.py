"""The ways of getting an AppMetrica day: the Logs API and the demo generator (see ``day_source``).

Both store the gzip of each table's exact Logs API body (``events`` first, then installations / sessions_starts
when configured) and preview the first events.
"""

from __future__ import annotations

import gzip
import itertools
from pathlib import Path
from typing import Any

from analytics_dagster import demo
from analytics_dagster.lib.appmetrica import AppMetricaLogsClient, raw_file_name
from analytics_dagster.lib.appmetrica_body import iter_records
from analytics_dagster.lib.day_source import DayResult, WithoutClient
from analytics_dagster.lib.http_retry import Log
from analytics_dagster.lib.moscow_time import parse_day
from analytics_dagster.lib.object_store import ObjectStore
from analytics_dagster.lib.raw_store import publish_day

SOURCE = "appmetrica"
PREVIEW_ROWS = 5
PREVIEW_COLUMNS = ("event_receive_datetime", "event_name", "appmetrica_device_id", "os_name", "app_version_name")


class AppMetricaLogsApiSource:
    """The Logs API's bodies of the day, one query per table, ``parallel`` days queued at once."""

    def __init__(
        self,
        client: AppMetricaLogsClient,
        tables: list[str],
        details: dict[str, Any],
        api_url: str,
        store: ObjectStore,
        log: Log,
        parallel: int,
    ):
        self.client, self.tables, self.details, self.api_url = client, tables, details, api_url
        self.store, self.log, self.parallel = store, log, parallel

    def __enter__(self) -> AppMetricaLogsApiSource:
        self.log.info(f"AppMetrica Logs API at {self.api_url}, application {self.details['application_id']}")
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.client.close()

    def fetch_day(self, day: str, work: Path) -> DayResult:
        work.mkdir(parents=True)
        exports = [self.client.export_day(table, parse_day(day), work / raw_file_name(table)) for table in self.tables]
        counts = {
            "requests": sum(e.requests for e in exports),
            "retries": sum(e.retries for e in exports),
            "prepare_polls": sum(e.polls for e in exports),
            "queue_waits": sum(e.queue_waits for e in exports),
        }
        records = {e.table: e.records for e in exports}
        paths = [e.path for e in exports]
        details = {**self.details, **counts}
        result = publish_appmetrica_day(self.store, self.log, day, paths, records, "logs_api", details)
        result.metadata.update(counts)
        return result


class AppMetricaDemoSource(WithoutClient):
    """The demo generator's Logs API bodies of the day, stored exactly like the API's."""

    parallel = 1

    def __init__(self, tables: list[str], events_per_day: int, store: ObjectStore, log: Log):
        self.tables, self.events_per_day, self.store, self.log = tables, events_per_day, store, log

    def __enter__(self) -> AppMetricaDemoSource:
        self.log.warning(
            f"No AppMetrica credentials set: storing DEMO data ({self.events_per_day:,} events per day). "
            "Set APPMETRICA_TOKEN and APPMETRICA_APPLICATION_ID to load real data."
        )
        return self

    def fetch_day(self, day: str, work: Path) -> DayResult:
        work.mkdir(parents=True)
        records, paths = {}, []
        for table in self.tables:
            path = work / raw_file_name(table)
            if table == "events":
                summary = demo.write_appmetrica_events_json(
                    day, path, events_per_day=self.events_per_day, gzip_output=True
                )
            else:
                summary = demo.write_appmetrica_table_json(
                    table, day, path, events_per_day=self.events_per_day, gzip_output=True
                )
            records[table] = summary.events
            paths.append(path)
        details = {"events_per_day": self.events_per_day}
        return publish_appmetrica_day(self.store, self.log, day, paths, records, "demo", details)


def publish_appmetrica_day(
    store: ObjectStore,
    log: Log,
    day: str,
    paths: list[Path],
    records: dict[str, int],
    origin: str,
    details: dict[str, Any],
) -> DayResult:
    manifest = publish_day(store, SOURCE, day, paths, origin=origin, details={**details, "records": records})
    label = "DEMO " if manifest.is_demo else ""
    log.info(f"{day}: stored {label}AppMetrica {', '.join(f'{t}: {n:,}' for t, n in records.items())}")
    with gzip.open(next(p for p in paths if p.name == raw_file_name("events"))) as body:
        first = list(itertools.islice(iter_records(body), PREVIEW_ROWS))
    rows = "\n".join("| " + " | ".join(str(r.get(c, "")) for c in PREVIEW_COLUMNS) + " |" for r in first)
    preview = f"| {' | '.join(PREVIEW_COLUMNS)} |\n|{'---|' * len(PREVIEW_COLUMNS)}\n{rows}"
    extra = {f"{table}_records": n for table, n in records.items() if table != "events"}
    return DayResult(manifest, records["events"], preview, extra)
