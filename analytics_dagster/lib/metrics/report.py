"""The day's report: every metric table exported (CSV, Parquet, XLSX) and the HTML dashboard, published to the
object store under ``reports/metrics/<day>/`` as one commit (the manifest is written last)."""

from __future__ import annotations

import datetime as dt
import json
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from analytics_dagster.lib.day_state import DayState
from analytics_dagster.lib.metrics import queries
from analytics_dagster.lib.metrics.dashboard import DashboardData, render_dashboard
from analytics_dagster.lib.metrics.exports import write_exports
from analytics_dagster.lib.object_store import ObjectStore

REPORT_PREFIX = "reports/metrics"
DASHBOARD_FILE = "dashboard.html"


@dataclass(frozen=True)
class PublishedReport:
    prefix: str
    files: dict[str, int]  # file name -> bytes
    rows: dict[str, int]  # metric table (without the metrics_ prefix) -> rows exported

    @property
    def dashboard_key(self) -> str:
        return f"{self.prefix}/{DASHBOARD_FILE}"

    def key(self, name: str) -> str:
        return f"{self.prefix}/{name}"


def report_tables(wh, day: dt.date) -> dict[str, pd.DataFrame]:
    """Every metric table's rows of the day; the per-user table most-at-risk first."""
    tables = {table.removeprefix("metrics_"): queries.metric_rows(wh, table, day) for table in queries.METRIC_TABLES}
    risk_order = tables["user_engagement"]["churn_risk"].map({"high": 0, "medium": 1, "low": 2})
    tables["user_engagement"] = (
        tables["user_engagement"]
        .assign(_risk=risk_order)
        .sort_values(
            ["_risk", "churn_probability", "engagement_score"],
            ascending=[True, False, True],
            na_position="last",
            kind="stable",
        )
        .drop(columns="_risk")
        .reset_index(drop=True)
    )
    return tables


def publish_report(
    wh, store: ObjectStore, day: dt.date, state: DayState, late_days: int, is_demo: bool = False
) -> PublishedReport:
    """``is_demo``: an upload day the metric day reads came from the demo source (labelled in the dashboard and the
    exports)."""
    tables = report_tables(wh, day)
    ab = tables["ab_tests"]
    data = DashboardData(
        day=day,
        state=state,
        activity=tables["activity"],
        activity_history=queries.activity_history(wh, day - dt.timedelta(days=89), day),
        top_events=tables["top_events"],
        lifecycle_history=queries.lifecycle_history(wh, day - dt.timedelta(days=29), day),
        retention_weekly=tables["retention_weekly"],
        retention_daily=tables["retention_daily"],
        ab_tests=ab,
        ab_summaries=dict(zip(ab["experiment"], ab["experiment_recommendation"])),
        forecasts=tables["forecasts"],
        forecast_history=queries.daily_series(wh, day),
        user_engagement=tables["user_engagement"],
        is_demo=is_demo,
        first_loaded_day=queries.first_loaded_day(wh),
    )
    prefix = f"{REPORT_PREFIX}/{day.isoformat()}"
    with tempfile.TemporaryDirectory() as tmp:
        files = write_exports(tables, day, Path(tmp), state, is_demo=is_demo)
        dashboard = Path(tmp) / DASHBOARD_FILE
        dashboard.write_text(render_dashboard(data, late_days), encoding="utf-8")
        files[dashboard.name] = dashboard
        sizes = {name: path.stat().st_size for name, path in files.items()}
        rows = {name: len(frame) for name, frame in tables.items()}
        manifest = {"day": day.isoformat(), "day_state": state.as_metadata(), "files": sizes, "rows": rows}
        store.replace_prefix(
            prefix, files, commit_name="_manifest.json", commit_data=json.dumps(manifest, indent=2).encode()
        )
    return PublishedReport(prefix, sizes, rows)
