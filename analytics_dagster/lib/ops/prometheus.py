"""The platform's figures as Prometheus metric families, and their push to a Pushgateway.

Each figure is pushed into its own Pushgateway group, replaced whole by the next push of that group, so the gateway
always holds the latest value and a re-materialized day replaces its figures exactly as it replaces its data:

* one group per asset and partition (``asset``, ``partition`` labels): what that materialization stored;
* one group per asset check (``asset``, ``check``): its latest result;
* one group per step (``step``): its latest duration;
* one platform group: the newest complete partition per asset group and the newest final metric day.

Names follow Prometheus' conventions: ``analytics_dagster_`` prefix, base units (seconds, bytes), ``_total`` for
counts of things done, ``source`` / ``table`` / ``group`` / ``reason`` labels. Nothing here carries a user id.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from prometheus_client import CollectorRegistry, push_to_gateway
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

PREFIX = "analytics_dagster"
JOB = "analytics_dagster"
INGEST_SUFFIX = "_raw_events"
ACTIVITY_ASSET = "metrics_activity"
ACTIVE_USER_WINDOWS = {"dau": "day", "wau": "week", "mau": "month"}


def _gauge(name: str, doc: str, labels: Iterable[str] = ()) -> GaugeMetricFamily:
    return GaugeMetricFamily(f"{PREFIX}_{name}", doc, labels=list(labels))


def _counter(name: str, doc: str, labels: Iterable[str] = ()) -> CounterMetricFamily:
    # CounterMetricFamily appends "_total" to the sample name itself.
    return CounterMetricFamily(f"{PREFIX}_{name}", doc, labels=list(labels))


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or value is None:
        return None
    return float(value) if isinstance(value, int | float) else None


def materialization_families(asset: str, group: str, metadata: Mapping[str, Any], timestamp: float) -> list[Metric]:
    """The figures one materialization of ``asset`` stored, from its metadata (plain values, not Dagster's)."""
    families: list[Metric] = []
    materialized = _gauge("materialization_timestamp_seconds", "When the partition was last materialized.", ["group"])
    materialized.add_metric([group], timestamp)
    families.append(materialized)
    rows = _number(metadata.get("dagster/row_count"))
    if rows is not None:
        asset_rows = _gauge("asset_rows", "Rows (events, records) the partition holds.", ["group"])
        asset_rows.add_metric([group], rows)
        families.append(asset_rows)
    if group == "ingest" and asset.endswith(INGEST_SUFFIX):
        families += _ingest_families(asset.removesuffix(INGEST_SUFFIX), metadata, rows)
    if group == "dwh":
        families += _dwh_families(asset, metadata, rows)
    if asset == ACTIVITY_ASSET:
        families += _activity_families(metadata)
    return families


def _ingest_families(source: str, metadata: Mapping[str, Any], rows: float | None) -> list[Metric]:
    families: list[Metric] = []
    if rows is not None:
        events = _gauge("raw_events", "Events stored in the raw store for the Moscow day.", ["source"])
        events.add_metric([source], rows)
        families.append(events)
    if (size := _number(metadata.get("bytes"))) is not None:
        stored = _gauge("raw_bytes", "Bytes stored in the raw store for the Moscow day.", ["source"])
        stored.add_metric([source], size)
        families.append(stored)
    for key, doc in (
        ("requests", "API requests made to fetch the day."),
        ("retries", "API requests retried while fetching the day."),
        ("splits", "Export windows split in two (Amplitude 400/504) while fetching the day."),
    ):
        if (value := _number(metadata.get(key))) is not None:
            counter = _counter(f"api_{key}", doc, ["source"])
            counter.add_metric([source], value)
            families.append(counter)
    return families


def _dwh_families(table: str, metadata: Mapping[str, Any], rows: float | None) -> list[Metric]:
    families: list[Metric] = []
    if rows is not None:
        table_rows = _gauge("dwh_rows", "Rows of the warehouse table's partition.", ["table"])
        table_rows.add_metric([table], rows)
        families.append(table_rows)
    loaded = _gauge("dwh_events_loaded", "Events of the source loaded into events_part for the day.", ["source"])
    quarantined = _gauge(
        "dwh_quarantined_records", "Malformed records of the source kept aside for the day.", ["source"]
    )
    for key, value in sorted(metadata.items()):
        number = _number(value)
        if number is None:
            continue
        if key.endswith("_loaded"):
            loaded.add_metric([key.removesuffix("_loaded")], number)
        elif key.endswith("_quarantined"):
            quarantined.add_metric([key.removesuffix("_quarantined")], number)
    by_reason = _gauge(
        "dwh_quarantined_records_by_reason", "Malformed records kept aside for the day, by reason.", ["reason"]
    )
    for reason, count in sorted((metadata.get("quarantine_by_reason") or {}).items()):
        by_reason.add_metric([reason], float(count))
    return [f for f in (*families, loaded, quarantined, by_reason) if f.samples]


def _activity_families(metadata: Mapping[str, Any]) -> list[Metric]:
    active = _gauge("active_users", "Distinct active users of the metric day over the window ending on it.", ["window"])
    for key, window in ACTIVE_USER_WINDOWS.items():
        if (value := _number(metadata.get(key))) is not None:
            active.add_metric([window], value)
    families: list[Metric] = [active] if active.samples else []
    if "day_state" in metadata:
        final = _gauge("metric_day_final", "1 when the metric day's figures are final (lib/day_state), else 0.")
        final.add_metric([], 1.0 if metadata["day_state"] == "final" else 0.0)
        families.append(final)
    return families


def check_families(asset_group: str, passed: bool, severity: str, timestamp: float) -> list[Metric]:
    result = _gauge("check_passed", "1 when the asset check's latest evaluation passed, else 0.", ["group", "severity"])
    result.add_metric([asset_group, severity], 1.0 if passed else 0.0)
    when = _gauge("check_timestamp_seconds", "When the asset check was last evaluated.", ["group"])
    when.add_metric([asset_group], timestamp)
    return [result, when]


def step_families(job: str, status: str, duration_seconds: float, end_timestamp: float) -> list[Metric]:
    # "job" is the Pushgateway's own grouping label, hence "dagster_job".
    duration = _gauge("step_duration_seconds", "Duration of the step's latest run.", ["dagster_job", "status"])
    duration.add_metric([job, status], duration_seconds)
    ended = _gauge("step_end_timestamp_seconds", "When the step's latest run ended.", ["dagster_job", "status"])
    ended.add_metric([job, status], end_timestamp)
    return [duration, ended]


@dataclass(frozen=True)
class FinalDay:
    day: dt.date
    active_users: Mapping[str, float]  # "dau"/"wau"/"mau" -> users


def day_start_timestamp(day: dt.date, tz: dt.tzinfo) -> float:
    return dt.datetime.combine(day, dt.time(), tzinfo=tz).timestamp()


def platform_families(
    newest_complete: Mapping[str, dt.date | None], final_day: FinalDay | None, tz: dt.tzinfo, now: float
) -> list[Metric]:
    """Platform-wide figures: the newest partition every asset of a group has, and the newest final metric day."""
    newest = _gauge(
        "newest_complete_partition_timestamp_seconds",
        "Start (Moscow midnight) of the newest day every asset of the group has materialized.",
        ["group"],
    )
    for group, day in sorted(newest_complete.items()):
        if day is not None:
            newest.add_metric([group], day_start_timestamp(day, tz))
    pushed = _gauge("platform_push_timestamp_seconds", "When these platform figures were pushed.")
    pushed.add_metric([], now)
    families: list[Metric] = [newest, pushed]
    if final_day is not None:
        day = _gauge("final_day_timestamp_seconds", "Start (Moscow midnight) of the newest final metric day.")
        day.add_metric([], day_start_timestamp(final_day.day, tz))
        active = _gauge("final_day_active_users", "DAU/WAU/MAU of the newest final metric day.", ["window"])
        for key, window in ACTIVE_USER_WINDOWS.items():
            if key in final_day.active_users:
                active.add_metric([window], float(final_day.active_users[key]))
        families += [day, active]
    return [f for f in families if f.samples]


class _Families(Collector):
    def __init__(self, families: list[Metric]):
        self._families = families

    def collect(self) -> list[Metric]:
        return self._families


def registry_of(families: list[Metric]) -> CollectorRegistry:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_Families(families))
    return registry


@dataclass(frozen=True)
class Pushgateway:
    url: str
    job: str = JOB
    timeout_seconds: float = 10.0

    def replace_group(self, grouping_key: Mapping[str, str], families: list[Metric]) -> None:
        """PUT: the group holds exactly these families afterwards."""
        push_to_gateway(
            self.url,
            job=self.job,
            registry=registry_of(families),
            grouping_key=dict(grouping_key),
            timeout=self.timeout_seconds,
        )
