"""The dashboard's plotly figures, each from exactly the frame its chart card shows (lib/metrics/dashboard.py)."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

import pandas as pd
import plotly.graph_objects as go

from analytics_dagster.lib.metrics.rules import MONTH_DAYS, WEEK_DAYS

if TYPE_CHECKING:  # the dashboard module imports these figures
    from analytics_dagster.lib.metrics.dashboard import DashboardData

COLORS = {
    "dau": "#2563eb",
    "wau": "#16a34a",
    "mau": "#9333ea",
    "forecast": "#ea580c",
    "band": "rgba(234,88,12,0.18)",
    "new": "#2563eb",
    "returning": "#16a34a",
    "resurrecting": "#f59e0b",
    "dormant": "#dc2626",
    "low": "#16a34a",
    "medium": "#f59e0b",
    "high": "#dc2626",
}


def _layout(fig: go.Figure, title: str, height: int = 380) -> go.Figure:
    fig.update_layout(
        title=title,
        height=height,
        margin=dict(l=60, r=20, t=50, b=50),
        template="plotly_white",
        legend=dict(orientation="h", y=-0.2),
    )
    return fig


def _dates(values) -> list[str]:
    return [pd.Timestamp(v).date().isoformat() for v in values]


def _daily_axis(fig: go.Figure, days: int) -> go.Figure:
    # Whole days on the axis; plotly would otherwise zoom into hours when only a few days exist yet.
    fig.update_xaxes(type="date", tickformat="%d %b", dtick=86_400_000 if days <= 14 else None)
    return fig


def activity_figure(data: DashboardData) -> go.Figure:
    history = data.activity_history
    days = [pd.Timestamp(v).date() for v in history["metric_date"]]
    fig = go.Figure()
    fig.add_trace(
        go.Scatter(
            x=_dates(days),
            y=history["dau"].astype(float).tolist(),
            mode="lines+markers",
            name="DAU",
            line=dict(color=COLORS["dau"]),
        )
    )
    for column, window in (("wau", WEEK_DAYS), ("mau", MONTH_DAYS)):
        covered = [data.covered_days(window, day) == window for day in days]
        values = history[column].astype(float).tolist()
        # Days whose window reaches back before the data starts: a dotted line, so a climb is not read as growth.
        partial_end = max((i for i, full in enumerate(covered) if not full), default=-1)
        if partial_end >= 0:
            fig.add_trace(
                go.Scatter(
                    x=_dates(days[: partial_end + 2]),
                    y=values[: partial_end + 2],
                    mode="lines+markers",
                    name=f"{column.upper()}, window not yet covered by data",
                    line=dict(color=COLORS[column], dash="dot"),
                    marker=dict(symbol="circle-open"),
                )
            )
        if partial_end + 1 < len(days):
            fig.add_trace(
                go.Scatter(
                    x=_dates(days[partial_end + 1 :]),
                    y=values[partial_end + 1 :],
                    mode="lines+markers",
                    name=column.upper(),
                    line=dict(color=COLORS[column]),
                )
            )
    return _layout(
        _daily_axis(fig, len(history)),
        f"Active users (DAU; WAU = {WEEK_DAYS} days; MAU = {MONTH_DAYS} days; dotted = window not yet covered by data)",
    )


def top_events_figure(top: pd.DataFrame) -> go.Figure:
    overall = top[top["dimension"] == "all"].sort_values("event_rank", ascending=False).tail(12)
    fig = go.Figure(
        [
            go.Bar(
                y=overall["event_type"].tolist(),
                x=overall["event_count"].astype(float).tolist(),
                orientation="h",
                name="events",
                marker_color="#2563eb",
            ),
            go.Bar(
                y=overall["event_type"].tolist(),
                x=overall["unique_users"].astype(float).tolist(),
                orientation="h",
                name="unique users",
                marker_color="#16a34a",
            ),
        ]
    )
    fig.update_layout(barmode="group")
    return _layout(fig, "Top events of the day (count and unique users)", height=460)


def retention_heatmap(weekly: pd.DataFrame, first_loaded_day: dt.date | None) -> go.Figure:
    first_time = weekly[weekly["cohort_type"] == "first_time"].sort_values(["cohort_start", "week_number"])
    labels = [f"Week {k}" for k in range(5)] + ["Week 5+"]

    def cohort_label(start, size) -> str:
        start = pd.Timestamp(start).date()
        partial = first_loaded_day is not None and start < first_loaded_day
        return f"{start} (n={int(size)}{', partial week' if partial else ''})"

    cohorts = [
        cohort_label(s, n)
        for s, n in first_time[["cohort_start", "cohort_size"]].drop_duplicates().itertuples(index=False)
    ]
    rates = first_time.pivot(index="cohort_start", columns="week_number", values="retention_rate")
    complete = first_time.pivot(index="cohort_start", columns="week_number", values="is_complete").astype(bool)
    rate_z = [
        [float(rates.iloc[i, k]) * 100 if complete.iloc[i, k] else None for k in range(6)] for i in range(len(cohorts))
    ]
    # Weeks still running get their own grey layer, labelled: an empty or zero cell would read as "nobody stayed".
    running_z = [[None if complete.iloc[i, k] else 0 for k in range(6)] for i in range(len(cohorts))]
    rate_text = [["" if z is None else f"{z:.1f}%" for z in row] for row in rate_z]
    running_text = [["" if z is None else "incomplete" for z in row] for row in running_z]
    fig = go.Figure(
        [
            go.Heatmap(
                z=running_z,
                x=labels,
                y=cohorts,
                text=running_text,
                texttemplate="%{text}",
                colorscale=[[0, "#e2e8f0"], [1, "#e2e8f0"]],
                showscale=False,
                hoverongaps=False,
            ),
            go.Heatmap(
                z=rate_z,
                x=labels,
                y=cohorts,
                text=rate_text,
                texttemplate="%{text}",
                colorscale="Blues",
                zmin=0,
                zmax=100,
                colorbar=dict(title="%"),
                hoverongaps=False,
            ),
        ]
    )
    fig.update_yaxes(autorange="reversed", type="category")
    fig.update_xaxes(type="category")
    return _layout(fig, "Weekly retention, first-time cohorts (Moscow weeks; grey = week not over yet)", height=420)


def daily_retention_figure(daily: pd.DataFrame) -> go.Figure:
    """Curves of the complete cohort days only (``daily`` holds nothing else; see _complete_days)."""
    fig = go.Figure()
    for cohort_type, dash in (("first_time", "solid"), ("recurring", "dot")):
        rows = daily[daily["cohort_type"] == cohort_type]
        grouped = rows.groupby("day_number").agg(
            returned=("returned_on_day", "sum"), after=("returned_on_or_after_day", "sum"), size=("cohort_size", "sum")
        )
        for column, label in (("returned", "on day N"), ("after", "on or after day N")):
            rate = (grouped[column].astype(float) / grouped["size"].astype(float) * 100).round(2)
            fig.add_trace(
                go.Scatter(
                    x=grouped.index.tolist(),
                    y=rate.tolist(),
                    mode="lines",
                    name=f"{cohort_type.replace('_', '-')} {label}",
                    line=dict(dash=dash if column == "returned" else "dash"),
                )
            )
    # Whole days only: plotly would otherwise put ticks at half days on a short range.
    fig.update_xaxes(
        title="day N",
        tickmode="linear",
        tick0=0,
        dtick=1 if daily["day_number"].max() <= 15 else 5,
        tickformat="d",
        rangemode="tozero",
    )
    fig.update_yaxes(title="% of cohort", range=[0, 100])
    return _layout(fig, "N-day retention D0..D30 (complete cohort days only, size-weighted)")


def lifecycle_figure(history: pd.DataFrame) -> go.Figure:
    x = _dates(history["metric_date"])
    fig = go.Figure()
    for state in ("new", "returning", "resurrecting"):
        fig.add_trace(
            go.Bar(x=x, y=history[f"{state}_users"].astype(float).tolist(), name=state, marker_color=COLORS[state])
        )
    fig.add_trace(
        go.Bar(
            x=x, y=(-history["dormant_users"].astype(float)).tolist(), name="dormant", marker_color=COLORS["dormant"]
        )
    )
    fig.update_layout(barmode="relative")
    return _layout(_daily_axis(fig, len(history)), "Lifecycle: new, returning, resurrecting and dormant users per day")


def ab_figure(ab: pd.DataFrame) -> go.Figure:
    rows = ab[~ab["is_control"].astype(bool) & ab["relative_lift"].notna()]
    labels = [f"{r.experiment}: {r.metric} ({r.variant})" for r in rows.itertuples()]
    lift = rows["relative_lift"].astype(float) * 100
    fig = go.Figure(
        go.Bar(
            x=lift.tolist(),
            y=labels,
            orientation="h",
            marker_color=["#16a34a" if s else "#94a3b8" for s in rows["significant"].astype("boolean").fillna(False)],
            error_x=dict(
                type="data",
                symmetric=False,
                array=(rows["relative_lift_ci_high"].astype(float) * 100 - lift).tolist(),
                arrayminus=(lift - rows["relative_lift_ci_low"].astype(float) * 100).tolist(),
            ),
        )
    )
    fig.add_vline(x=0, line_color="#334155")
    fig.update_xaxes(title="relative lift vs control, % (95% CI)")
    return _layout(
        fig,
        "A/B tests: relative lift with 95% confidence interval (green = significant after Holm)",
        height=max(260, 90 * len(labels) + 120),
    )


def forecast_figure(forecasts: pd.DataFrame, history: pd.DataFrame, series: str = "dau") -> go.Figure:
    past = history[history["series"] == series].tail(60)
    ahead = forecasts[forecasts["series"] == series].sort_values("horizon_days")
    method = ahead["method"].iloc[0] if len(ahead) else "none"
    x_ahead = _dates(ahead["forecast_date"])
    fig = go.Figure(
        [
            go.Scatter(
                x=x_ahead + x_ahead[::-1],
                y=ahead["upper_95"].astype(float).tolist() + ahead["lower_95"].astype(float).tolist()[::-1],
                fill="toself",
                fillcolor=COLORS["band"],
                line=dict(color="rgba(0,0,0,0)"),
                name="95% prediction interval",
                hoverinfo="skip",
            ),
            go.Scatter(
                x=_dates(past["event_date"]),
                y=past["value"].astype(float).tolist(),
                mode="lines+markers",
                name="actual",
                line=dict(color=COLORS["dau"]),
            ),
            go.Scatter(
                x=x_ahead,
                y=ahead["forecast"].astype(float).tolist(),
                mode="lines",
                name=f"forecast ({method})",
                line=dict(color=COLORS["forecast"], dash="dash"),
            ),
        ]
    )
    return _layout(fig, f"{series.upper() if series == 'dau' else series}: forecast with 95% interval")


def hours_figure(users: pd.DataFrame) -> go.Figure:
    hours = [f"h{h:02d}" for h in range(24)]
    # Events-weighted: the share of all events of the window in each Moscow hour.
    weighted = (
        users[hours].astype(float).mul(users["events"].astype(float), axis=0).sum()
        / max(float(users["events"].sum()), 1.0)
        * 100
    )
    fig = go.Figure(go.Bar(x=list(range(24)), y=weighted.tolist(), marker_color="#0891b2", name="events"))
    fig.update_xaxes(title="hour of day, Moscow", dtick=2)
    fig.update_yaxes(title="% of events")
    return _layout(fig, "Activity by hour of day (last 30 days)", height=340)


def churn_figure(users: pd.DataFrame) -> go.Figure:
    counts = users["churn_risk"].value_counts()
    levels = ["low", "medium", "high"]
    fig = go.Figure(
        go.Bar(
            x=levels,
            y=[int(counts.get(level, 0)) for level in levels],
            marker_color=[COLORS[level] for level in levels],
        )
    )
    fig.update_yaxes(title="users")
    return _layout(fig, "Churn risk of the users active in the last 30 days", height=340)
