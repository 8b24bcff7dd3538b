"""Product metrics: one daily-partitioned asset per metric table (group ``metrics``), plus the report with the
exports and the HTML dashboard. Every metric counts events by the Moscow day they happened; partition D reads the
upload partitions D..D+LATE_DAYS of ``events_part`` and is recomputed when they land (see ``automation.py`` and
docs/metrics.md)."""


import datetime as dt
import json
import os
import tempfile
from pathlib import Path

import dagster as dg
import numpy as np
import pandas as pd

from analytics_dagster.defs.metrics.automation import LATE_EVENTS_CONDITION
from analytics_dagster.defs.partitions import daily_partitions
from analytics_dagster.defs.resources import WAREHOUSE_POOL, ObjectStoreResource, WarehouseResource
from analytics_dagster.lib.day_state import DayState, day_state
from analytics_dagster.lib.metrics import queries
from analytics_dagster.lib.metrics.ab_results import analyse_experiment
from analytics_dagster.lib.metrics.churn_model import fit_churn_model
from analytics_dagster.lib.metrics.dashboard import DashboardData, render_dashboard
from analytics_dagster.lib.metrics.experiments import load_experiments
from analytics_dagster.lib.metrics.exports import write_exports
from analytics_dagster.lib.metrics.forecasting import complete_daily, forecast_series
from analytics_dagster.lib.metrics.preview import markdown_table
from analytics_dagster.lib.metrics.rules import FORECAST_HORIZON_DAYS, LATE_DAYS
from analytics_dagster.lib.moscow_time import parse_day
from analytics_dagster.lib.settings import PROJECT_ROOT, configured_sources
from analytics_dagster.lib.warehouse import Warehouse

GROUP = "metrics"
# Day D's metrics read the upload partitions D..D+LATE_DAYS (an event uploaded up to LATE_DAYS days late still
# counts for the day it happened); future partitions simply do not exist yet.
EVENTS_DEP = dg.AssetDep(
    "events_part",
    partition_mapping=dg.TimeWindowPartitionMapping(
        start_offset=0, end_offset=LATE_DAYS, allow_nonexistent_upstream_partitions=True
    ),
)
DEFAULT_EXPERIMENTS_FILE = os.getenv("METRICS_EXPERIMENTS_FILE") or str(PROJECT_ROOT / "config" / "experiments.yaml")
REPORT_PREFIX = "reports/metrics"


def _metric_asset(name: str, description: str, *, kinds: set[str], check_specs=(), deps=(EVENTS_DEP,)):
    return dg.asset(
        name=name,
        group_name=GROUP,
        partitions_def=daily_partitions,
        deps=list(deps),
        pool=WAREHOUSE_POOL,
        automation_condition=LATE_EVENTS_CONDITION,
        kinds=kinds,
        check_specs=list(check_specs),
        description=description,
    )


def _day(context: dg.AssetExecutionContext) -> dt.date:
    return parse_day(context.partition_key)


def _day_state(warehouse: Warehouse, day: dt.date) -> DayState:
    loaded = queries.loaded_uploads(warehouse, day, configured_sources())
    return day_state(day, loaded, queries.day_events(warehouse, day), late_days=LATE_DAYS)


def _store_partition(context: dg.AssetExecutionContext, warehouse: Warehouse, table: str, frame: pd.DataFrame,
                     day: dt.date, metadata: dict | None = None, preview_columns: list[str] | None = None) -> dict:
    # Integer columns with NULLs come back from some drivers as floats ("4.0"), which PostgreSQL's COPY rejects
    # for BIGINT columns; nullable dtypes write them as integers again.
    rows = warehouse.replace_partition(table, frame.convert_dtypes(), partition_column="metric_date",
                                       partition_value=day)
    state = _day_state(warehouse, day)
    context.log.info(f"{table}: {rows} rows for {day} ({state.label()})")
    return {
        "dagster/row_count": rows,
        "table": table,
        **state.as_metadata(),
        "preview": dg.MetadataValue.md(markdown_table(frame, columns=preview_columns)),
        **(metadata or {}),
    }


def _prepare(context: dg.AssetExecutionContext, warehouse: WarehouseResource) -> tuple[Warehouse, dt.date]:
    wh = warehouse.get()
    queries.ensure_schema(wh)
    return wh, _day(context)


@_metric_asset(
    "metrics_activity",
    "DAU, WAU (7 days), MAU (30 days), new users, events and stickiness (DAU/MAU) of the Moscow day; overall, by "
    "source (web/mobile) and by platform.",
    kinds={"sql"},
    check_specs=[dg.AssetCheckSpec("activity_counts_consistent", asset="metrics_activity",
                                   description="new users <= DAU <= WAU <= MAU in every segment; no segment above "
                                               "the overall figure")],
)
def metrics_activity(context: dg.AssetExecutionContext, warehouse: WarehouseResource) -> dg.MaterializeResult:
    wh, day = _prepare(context, warehouse)
    frame = queries.activity(wh, day)
    overall = frame[frame["dimension"] == "all"]
    problems = [
        f"{r.dimension}/{r.segment}" for r in frame.itertuples()
        if not (r.new_users <= r.dau <= r.wau <= r.mau)
        or (len(overall) and (r.dau > overall["dau"].iloc[0] or r.mau > overall["mau"].iloc[0]))
    ]
    metadata = {}
    if len(overall):
        row = overall.iloc[0]
        metadata = {"dau": int(row["dau"]), "wau": int(row["wau"]), "mau": int(row["mau"]),
                    "new_users": int(row["new_users"]),
                    "stickiness": float(row["stickiness"]) if pd.notna(row["stickiness"]) else 0.0}
    return dg.MaterializeResult(
        metadata=_store_partition(context, wh, "metrics_activity", frame, day, metadata),
        check_results=[dg.AssetCheckResult(check_name="activity_counts_consistent", passed=not problems,
                                           metadata={"inconsistent_segments": ", ".join(problems) or "none"})],
    )


@_metric_asset(
    "metrics_top_events",
    "The most frequent active event types of the Moscow day with their unique users; overall, by source and by "
    "platform.",
    kinds={"sql"},
)
def metrics_top_events(context: dg.AssetExecutionContext, warehouse: WarehouseResource) -> dg.MaterializeResult:
    wh, day = _prepare(context, warehouse)
    frame = queries.top_events(wh, day)
    overall = frame[frame["dimension"] == "all"]
    return dg.MaterializeResult(metadata=_store_partition(
        context, wh, "metrics_top_events", frame, day,
        metadata={"top_events": dg.MetadataValue.md(markdown_table(
            overall, columns=["event_rank", "event_type", "event_count", "unique_users"]))},
    ))


@_metric_asset(
    "metrics_lifecycle",
    "Lifecycle of the Moscow day: new, returning, resurrecting and dormant users (and the quick ratio).",
    kinds={"sql"},
)
def metrics_lifecycle(context: dg.AssetExecutionContext, warehouse: WarehouseResource) -> dg.MaterializeResult:
    wh, day = _prepare(context, warehouse)
    frame = queries.lifecycle(wh, day)
    row = frame.iloc[0]
    return dg.MaterializeResult(metadata=_store_partition(
        context, wh, "metrics_lifecycle", frame, day,
        {state: int(row[f"{state}_users"]) for state in ("new", "returning", "resurrecting", "dormant")},
    ))


@_metric_asset(
    "metrics_retention_daily",
    "N-day retention D0..D30 of the first-time and recurring daily cohorts of the last 30 days, 'on day N' and "
    "'on or after day N', as of the Moscow day; days not complete yet are NULL.",
    kinds={"sql"},
    check_specs=[dg.AssetCheckSpec("retention_curves_consistent", asset="metrics_retention_daily",
                                   description="D0 = cohort size; 'on day N' <= 'on or after day N', which never "
                                               "grows with N")],
)
def metrics_retention_daily(context: dg.AssetExecutionContext, warehouse: WarehouseResource) -> dg.MaterializeResult:
    wh, day = _prepare(context, warehouse)
    frame = queries.retention_daily(wh, day)
    complete = frame[frame["is_complete"].astype(bool)].sort_values(["cohort_type", "cohort_date", "day_number"])
    after = complete["returned_on_or_after_day"].astype(int)
    growing = (complete.assign(after=after).groupby(["cohort_type", "cohort_date"])["after"].diff() > 0).sum()
    day0 = complete[complete["day_number"] == 0]
    problems = {
        "day0_not_cohort_size": int((day0["returned_on_day"].astype(int) != day0["cohort_size"].astype(int)).sum()),
        "on_day_above_on_or_after": int((complete["returned_on_day"].astype(int) > after).sum()),
        "on_or_after_growing": int(growing),
    }
    first_time = complete[(complete["cohort_type"] == "first_time") & complete["day_number"].isin([1, 7, 30])]
    sums = first_time.astype({"returned_on_day": float, "cohort_size": float}).groupby("day_number")[
        ["returned_on_day", "cohort_size"]].sum()
    metadata = {f"first_time_d{int(n)}_retention": float(row["returned_on_day"] / row["cohort_size"])
                for n, row in sums.iterrows()}
    return dg.MaterializeResult(
        metadata=_store_partition(context, wh, "metrics_retention_daily", frame, day, metadata),
        check_results=[dg.AssetCheckResult(check_name="retention_curves_consistent",
                                           passed=not any(problems.values()), metadata=problems)],
    )


@_metric_asset(
    "metrics_retention_weekly",
    "Weekly retention of the first-time and recurring cohorts of the last 8 Moscow weeks: weeks 0..4 and 5+, "
    "cohort size and overall retention; weeks not ended yet are NULL.",
    kinds={"sql"},
)
def metrics_retention_weekly(context: dg.AssetExecutionContext, warehouse: WarehouseResource) -> dg.MaterializeResult:
    wh, day = _prepare(context, warehouse)
    frame = queries.retention_weekly(wh, day)
    first_time = frame[frame["cohort_type"] == "first_time"]
    return dg.MaterializeResult(metadata=_store_partition(
        context, wh, "metrics_retention_weekly", frame, day,
        preview_columns=["cohort_type", "cohort_start", "cohort_size", "week_label", "is_complete", "retention_rate"],
        metadata={"cohorts": int(first_time["cohort_start"].nunique())},
    ))


@_metric_asset(
    "metrics_user_engagement",
    "Per-user analytics over the last 30 days: activity by Moscow hour (normalised), active days, sessions, "
    "engagement score, days since last activity, rule-based churn risk and, with enough history, a scikit-learn "
    "churn probability (backtest ROC AUC in the metadata).",
    kinds={"sql", "scikitlearn"},
    check_specs=[dg.AssetCheckSpec("engagement_values_in_range", asset="metrics_user_engagement",
                                   description="hour shares sum to 1, scores and probabilities within 0..1")],
)
def metrics_user_engagement(context: dg.AssetExecutionContext, warehouse: WarehouseResource) -> dg.MaterializeResult:
    wh, day = _prepare(context, warehouse)
    frame = queries.user_engagement(wh, day)
    model = fit_churn_model(
        day,
        queries.history_start(wh, day),
        frame,
        features_as_of=lambda snapshot: queries.user_engagement(wh, snapshot),
        active_between=lambda first, last: queries.active_users(wh, first, last),
    )
    context.log.info(f"churn model: {model.status}")
    if model.probabilities is not None:
        frame["churn_probability"] = model.probabilities.reindex(frame["user_key"]).to_numpy()
    else:
        frame["churn_probability"] = pd.array([None] * len(frame), dtype="Float64")
    hours = frame[[f"h{h:02d}" for h in range(24)]].astype(float)
    probabilities = frame["churn_probability"].dropna().astype(float)
    problems = {
        "hour_shares_not_summing_to_1": int((~np.isclose(hours.sum(axis=1), 1.0)).sum()),
        "scores_out_of_range": int((~frame["engagement_score"].astype(float).between(0, 1)).sum()),
        "probabilities_out_of_range": int((~probabilities.between(0, 1)).sum()),
    }
    risk = frame["churn_risk"].value_counts()
    metadata = {
        "users": len(frame),
        **{f"churn_risk_{level}": int(risk.get(level, 0)) for level in ("low", "medium", "high")},
        "mean_engagement_score": float(frame["engagement_score"].mean()) if len(frame) else 0.0,
        "churn_model_status": model.status,
        **model.metadata,
    }
    if "churn_model_coefficients" in metadata:
        metadata["churn_model_coefficients"] = dg.MetadataValue.json(metadata["churn_model_coefficients"])
    return dg.MaterializeResult(
        metadata=_store_partition(
            context, wh, "metrics_user_engagement", frame, day, metadata,
            preview_columns=["user_key", "active_days", "sessions", "days_since_last_activity", "engagement_score",
                             "churn_risk", "churn_probability"],
        ),
        check_results=[dg.AssetCheckResult(check_name="engagement_values_in_range",
                                           passed=not any(problems.values()), metadata=problems)],
    )


class ExperimentsConfig(dg.Config):
    experiments_file: str = DEFAULT_EXPERIMENTS_FILE


@_metric_asset(
    "metrics_ab_tests",
    "A/B test results as of the Moscow day for the experiments in config/experiments.yaml: per variant "
    "exposures, conversions, lift with 95% CI, p-values (z-test / Welch), Holm correction, sample-ratio check, "
    "minimum-data rule and a recommendation.",
    kinds={"sql", "scipy"},
    check_specs=[dg.AssetCheckSpec("ab_sample_ratio", asset="metrics_ab_tests",
                                   description="exposures match every experiment's planned split (chi-square "
                                               "p >= 0.001)")],
)
def metrics_ab_tests(context: dg.AssetExecutionContext, config: ExperimentsConfig,
                     warehouse: WarehouseResource) -> dg.MaterializeResult:
    wh, day = _prepare(context, warehouse)
    experiments = [e for e in load_experiments(config.experiments_file) if e.start_date <= day]
    rows, summaries, mismatched = [], {}, []
    for experiment in experiments:
        stats = {metric.name: queries.ab_variant_stats(wh, day, experiment, metric) for metric in experiment.metrics}
        analysis = analyse_experiment(experiment, day, stats)
        rows.extend(analysis.rows)
        summaries[experiment.flag_key] = {
            "recommendation": analysis.summary,
            "exposures": analysis.exposures,
            "days_running": analysis.days_running,
            "srm_p_value": analysis.srm.p_value,
            "users_in_several_variants": analysis.conflicting_users,
            "users_in_unplanned_variants": analysis.unplanned_variant_users,
        }
        if analysis.srm.mismatch:
            mismatched.append(experiment.flag_key)
        context.log.info(f"{experiment.flag_key}: {analysis.summary}")
    columns = ["metric_date", "experiment", "metric", "metric_kind", "variant", "is_control", "exposures",
               "conversions", "metric_value", "metric_variance", "absolute_lift", "absolute_lift_ci_low",
               "absolute_lift_ci_high", "relative_lift", "relative_lift_ci_low", "relative_lift_ci_high", "p_value",
               "p_value_holm", "significant", "srm_p_value", "srm_detected", "enough_data", "recommendation",
               "experiment_recommendation"]
    frame = pd.DataFrame([{"metric_date": day, **row} for row in rows], columns=columns)
    for column in columns[8:20]:
        if column != "significant":
            frame[column] = frame[column].astype("Float64")
    frame["significant"] = frame["significant"].astype("boolean")
    return dg.MaterializeResult(
        metadata=_store_partition(
            context, wh, "metrics_ab_tests", frame, day,
            {"experiments": dg.MetadataValue.json(summaries), "experiments_file": config.experiments_file},
            preview_columns=["experiment", "metric", "variant", "exposures", "conversions", "metric_value",
                             "relative_lift", "p_value_holm", "recommendation"],
        ),
        check_results=[dg.AssetCheckResult(
            check_name="ab_sample_ratio", passed=not mismatched, severity=dg.AssetCheckSeverity.WARN,
            metadata={"experiments_with_srm": ", ".join(mismatched) or "none"},
        )],
    )


@_metric_asset(
    "metrics_forecasts",
    "DAU and the top event types forecast 30 days ahead with 95% prediction intervals (Holt-Winters with weekly "
    "seasonality or seasonal naive, chosen by a backtest; MASE in the metadata).",
    kinds={"sql", "statsmodels"},
    check_specs=[dg.AssetCheckSpec("forecast_inside_interval", asset="metrics_forecasts",
                                   description="every forecast lies within its prediction interval")],
)
def metrics_forecasts(context: dg.AssetExecutionContext, warehouse: WarehouseResource) -> dg.MaterializeResult:
    wh, day = _prepare(context, warehouse)
    history = queries.daily_series(wh, day)
    dau_history = history[history["series"] == "dau"]
    frames, metadata = [], {}
    if len(dau_history):
        first_day = dau_history["event_date"].min()
        for series in dict.fromkeys(history["series"]):
            values = complete_daily(history[history["series"] == series], first_day, day)
            forecast = forecast_series(values, FORECAST_HORIZON_DAYS)
            if forecast is None:
                continue
            frames.append(forecast.frame().assign(metric_date=day, series=series))
            metadata[f"{series} method"] = forecast.method
            for name in ("mase_holt_winters", "mase_seasonal_naive"):
                value = getattr(forecast, name)
                if value is not None:
                    metadata[f"{series} {name}"] = value
    columns = ["metric_date", "series", "forecast_date", "horizon_days", "forecast", "lower_95", "upper_95", "method",
               "history_days", "mase_holt_winters", "mase_seasonal_naive"]
    frame = pd.concat(frames, ignore_index=True)[columns] if frames else pd.DataFrame(columns=columns)
    frame["mase_holt_winters"] = frame["mase_holt_winters"].astype("Float64")
    frame["mase_seasonal_naive"] = frame["mase_seasonal_naive"].astype("Float64")
    outside = int(((frame["forecast"] < frame["lower_95"] - 1e-9) | (frame["forecast"] > frame["upper_95"] + 1e-9)).sum())
    return dg.MaterializeResult(
        metadata=_store_partition(
            context, wh, "metrics_forecasts", frame, day, metadata,
            preview_columns=["series", "forecast_date", "forecast", "lower_95", "upper_95", "method"],
        ),
        check_results=[dg.AssetCheckResult(check_name="forecast_inside_interval", passed=outside == 0,
                                           metadata={"rows_outside": outside})],
    )


@_metric_asset(
    "metrics_report",
    "The day's metric tables exported as CSV, XLSX and Parquet and a self-contained HTML dashboard, in the object "
    "store under reports/metrics/<day>/.",
    kinds={"plotly", "parquet", "html"},
    deps=[asset.key for asset in (metrics_activity, metrics_top_events, metrics_lifecycle, metrics_retention_daily,
                                  metrics_retention_weekly, metrics_user_engagement, metrics_ab_tests,
                                  metrics_forecasts)],
)
def metrics_report(context: dg.AssetExecutionContext, warehouse: WarehouseResource,
                   object_store: ObjectStoreResource) -> dg.MaterializeResult:
    wh, day = _prepare(context, warehouse)
    tables = {table.removeprefix("metrics_"): queries.metric_rows(wh, table, day) for table in queries.METRIC_TABLES}
    risk_order = tables["user_engagement"]["churn_risk"].map({"high": 0, "medium": 1, "low": 2})
    tables["user_engagement"] = (
        tables["user_engagement"].assign(_risk=risk_order)
        .sort_values(["_risk", "churn_probability", "engagement_score"], ascending=[True, False, True],
                     na_position="last", kind="stable")
        .drop(columns="_risk").reset_index(drop=True)
    )
    ab = tables["ab_tests"]
    data = DashboardData(
        day=day,
        state=_day_state(wh, day),
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
        is_demo=queries.is_demo(wh, day),
        first_loaded_day=queries.first_loaded_day(wh),
    )
    store = object_store.store()
    prefix = f"{REPORT_PREFIX}/{day.isoformat()}"
    with tempfile.TemporaryDirectory() as tmp:
        files = write_exports(tables, day, Path(tmp), data.state, is_demo=data.is_demo)
        dashboard = Path(tmp) / "dashboard.html"
        dashboard.write_text(render_dashboard(data, LATE_DAYS), encoding="utf-8")
        files[dashboard.name] = dashboard
        manifest = {"day": day.isoformat(), "files": {name: path.stat().st_size for name, path in files.items()},
                    "rows": {name: len(frame) for name, frame in tables.items()}}
        store.replace_prefix(prefix, files, commit_name="_manifest.json",
                             commit_data=json.dumps(manifest, indent=2).encode())
    dashboard_key = f"{prefix}/dashboard.html"
    context.log.info(f"dashboard: {store.uri(dashboard_key)}")
    local = store.local_path(dashboard_key)
    metadata = {
        "dagster/row_count": sum(manifest["rows"].values()),
        "dashboard": dg.MetadataValue.url(store.uri(dashboard_key)),
        "xlsx": dg.MetadataValue.url(store.uri(f"{prefix}/metrics_{day.isoformat()}.xlsx")),
        "exports": dg.MetadataValue.md("\n".join(f"- [{name}]({store.uri(f'{prefix}/{name}')})"
                                                 for name in sorted(manifest["files"]))),
        "files": len(files),
        "bytes": sum(manifest["files"].values()),
        "rows_per_table": dg.MetadataValue.json(manifest["rows"]),
        **data.state.as_metadata(),
    }
    if local is not None:
        metadata["dashboard_path"] = dg.MetadataValue.path(str(local))
    return dg.MaterializeResult(metadata=metadata)
