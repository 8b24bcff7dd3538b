"""One metric table for one Moscow day: its rows, the figures shown beside them, and the verdicts of its checks.

Each ``compute_*`` function reads the warehouse for ``day`` and returns a :class:`MetricDay`; nothing here writes
or knows about Dagster (``defs/metrics/assets.py`` stores the rows and turns the rest into metadata and check
results). ``METRIC_DAYS`` maps each metric table to its function.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from analytics_dagster.lib.metrics import queries
from analytics_dagster.lib.metrics.ab_results import analyse_experiment
from analytics_dagster.lib.metrics.churn_model import fit_churn_model
from analytics_dagster.lib.metrics.experiments import load_experiments
from analytics_dagster.lib.metrics.forecasting import complete_daily, forecast_series
from analytics_dagster.lib.metrics.rules import FORECAST_HORIZON_DAYS
from analytics_dagster.lib.warehouse import Warehouse


@dataclass(frozen=True)
class CheckOutcome:
    passed: bool
    metadata: dict[str, Any]
    warn_only: bool = False


@dataclass
class MetricDay:
    frame: pd.DataFrame  # the table's rows for the day
    figures: dict[str, Any] = field(default_factory=dict)  # plain figures shown as metadata
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)  # small frames shown as Markdown tables
    documents: dict[str, Any] = field(default_factory=dict)  # nested values shown as JSON
    checks: dict[str, CheckOutcome] = field(default_factory=dict)
    preview_columns: list[str] | None = None
    log: list[str] = field(default_factory=list)  # lines worth a log entry


def activity(wh: Warehouse, day: dt.date) -> MetricDay:
    frame = queries.activity(wh, day)
    overall = frame[frame["dimension"] == "all"]
    problems = [
        f"{r.dimension}/{r.segment}"
        for r in frame.itertuples()
        if not (r.new_users <= r.dau <= r.wau <= r.mau)
        or (len(overall) and (r.dau > overall["dau"].iloc[0] or r.mau > overall["mau"].iloc[0]))
    ]
    figures = {}
    if len(overall):
        row = overall.iloc[0]
        figures = {
            "dau": int(row["dau"]),
            "wau": int(row["wau"]),
            "mau": int(row["mau"]),
            "new_users": int(row["new_users"]),
            "stickiness": float(row["stickiness"]) if pd.notna(row["stickiness"]) else 0.0,
        }
    return MetricDay(
        frame,
        figures,
        checks={
            "activity_counts_consistent": CheckOutcome(
                not problems, {"inconsistent_segments": ", ".join(problems) or "none"}
            )
        },
    )


def top_events(wh: Warehouse, day: dt.date) -> MetricDay:
    frame = queries.top_events(wh, day)
    overall = frame[frame["dimension"] == "all"]
    return MetricDay(frame, tables={"top_events": overall[["event_rank", "event_type", "event_count", "unique_users"]]})


def lifecycle(wh: Warehouse, day: dt.date) -> MetricDay:
    frame = queries.lifecycle(wh, day)
    row = frame.iloc[0]
    figures = {state: int(row[f"{state}_users"]) for state in ("new", "returning", "resurrecting", "dormant")}
    return MetricDay(frame, figures)


def retention_daily(wh: Warehouse, day: dt.date) -> MetricDay:
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
    sums = (
        first_time.astype({"returned_on_day": float, "cohort_size": float})
        .groupby("day_number")[["returned_on_day", "cohort_size"]]
        .sum()
    )
    figures = {
        f"first_time_d{int(n)}_retention": float(row["returned_on_day"] / row["cohort_size"])
        for n, row in sums.iterrows()
    }
    return MetricDay(
        frame, figures, checks={"retention_curves_consistent": CheckOutcome(not any(problems.values()), problems)}
    )


def retention_weekly(wh: Warehouse, day: dt.date) -> MetricDay:
    frame = queries.retention_weekly(wh, day)
    first_time = frame[frame["cohort_type"] == "first_time"]
    return MetricDay(
        frame,
        {"cohorts": int(first_time["cohort_start"].nunique())},
        preview_columns=["cohort_type", "cohort_start", "cohort_size", "week_label", "is_complete", "retention_rate"],
    )


def user_engagement(wh: Warehouse, day: dt.date) -> MetricDay:
    frame = queries.user_engagement(wh, day)
    model = fit_churn_model(
        day,
        queries.history_start(wh, day),
        frame,
        features_as_of=lambda snapshot: queries.user_engagement(wh, snapshot),
        active_between=lambda first, last: queries.active_users(wh, first, last),
    )
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
    figures = {
        "users": len(frame),
        **{f"churn_risk_{level}": int(risk.get(level, 0)) for level in ("low", "medium", "high")},
        "mean_engagement_score": float(frame["engagement_score"].mean()) if len(frame) else 0.0,
        "churn_model_status": model.status,
        **model.metadata,
    }
    documents = {}
    if "churn_model_coefficients" in figures:
        documents["churn_model_coefficients"] = figures.pop("churn_model_coefficients")
    return MetricDay(
        frame,
        figures,
        documents=documents,
        checks={"engagement_values_in_range": CheckOutcome(not any(problems.values()), problems)},
        preview_columns=[
            "user_key",
            "active_days",
            "sessions",
            "days_since_last_activity",
            "engagement_score",
            "churn_risk",
            "churn_probability",
        ],
        log=[f"churn model: {model.status}"],
    )


AB_COLUMNS = [
    "metric_date",
    "experiment",
    "metric",
    "metric_kind",
    "variant",
    "is_control",
    "exposures",
    "conversions",
    "metric_value",
    "metric_variance",
    "absolute_lift",
    "absolute_lift_ci_low",
    "absolute_lift_ci_high",
    "relative_lift",
    "relative_lift_ci_low",
    "relative_lift_ci_high",
    "p_value",
    "p_value_holm",
    "significant",
    "srm_p_value",
    "srm_detected",
    "enough_data",
    "recommendation",
    "experiment_recommendation",
]


def ab_tests(wh: Warehouse, day: dt.date, experiments_file: str) -> MetricDay:
    experiments = [e for e in load_experiments(experiments_file) if e.start_date <= day]
    rows, summaries, mismatched, log = [], {}, [], []
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
        log.append(f"{experiment.flag_key}: {analysis.summary}")
    frame = pd.DataFrame([{"metric_date": day, **row} for row in rows], columns=AB_COLUMNS)
    for column in AB_COLUMNS[8:20]:
        if column != "significant":
            frame[column] = frame[column].astype("Float64")
    frame["significant"] = frame["significant"].astype("boolean")
    return MetricDay(
        frame,
        {"experiments_file": experiments_file},
        documents={"experiments": summaries},
        checks={
            "ab_sample_ratio": CheckOutcome(
                not mismatched, {"experiments_with_srm": ", ".join(mismatched) or "none"}, warn_only=True
            )
        },
        preview_columns=[
            "experiment",
            "metric",
            "variant",
            "exposures",
            "conversions",
            "metric_value",
            "relative_lift",
            "p_value_holm",
            "recommendation",
        ],
        log=log,
    )


FORECAST_COLUMNS = [
    "metric_date",
    "series",
    "forecast_date",
    "horizon_days",
    "forecast",
    "lower_95",
    "upper_95",
    "method",
    "history_days",
    "mase_holt_winters",
    "mase_seasonal_naive",
]


def forecasts(wh: Warehouse, day: dt.date) -> MetricDay:
    history = queries.daily_series(wh, day)
    dau_history = history[history["series"] == "dau"]
    frames, figures = [], {}
    if len(dau_history):
        first_day = dau_history["event_date"].min()
        for series in dict.fromkeys(history["series"]):
            values = complete_daily(history[history["series"] == series], first_day, day)
            forecast = forecast_series(values, FORECAST_HORIZON_DAYS)
            if forecast is None:
                continue
            frames.append(forecast.frame().assign(metric_date=day, series=series))
            figures[f"{series} method"] = forecast.method
            for name in ("mase_holt_winters", "mase_seasonal_naive"):
                value = getattr(forecast, name)
                if value is not None:
                    figures[f"{series} {name}"] = value
    frame = pd.concat(frames, ignore_index=True)[FORECAST_COLUMNS] if frames else pd.DataFrame(columns=FORECAST_COLUMNS)
    frame["mase_holt_winters"] = frame["mase_holt_winters"].astype("Float64")
    frame["mase_seasonal_naive"] = frame["mase_seasonal_naive"].astype("Float64")
    outside = int(
        ((frame["forecast"] < frame["lower_95"] - 1e-9) | (frame["forecast"] > frame["upper_95"] + 1e-9)).sum()
    )
    return MetricDay(
        frame,
        figures,
        checks={"forecast_inside_interval": CheckOutcome(outside == 0, {"rows_outside": outside})},
        preview_columns=["series", "forecast_date", "forecast", "lower_95", "upper_95", "method"],
    )


# metric table -> its day computation (ab_tests also takes the experiments file)
METRIC_DAYS: dict[str, Callable[..., MetricDay]] = {
    "metrics_activity": activity,
    "metrics_top_events": top_events,
    "metrics_lifecycle": lifecycle,
    "metrics_retention_daily": retention_daily,
    "metrics_retention_weekly": retention_weekly,
    "metrics_user_engagement": user_engagement,
    "metrics_ab_tests": ab_tests,
    "metrics_forecasts": forecasts,
}
