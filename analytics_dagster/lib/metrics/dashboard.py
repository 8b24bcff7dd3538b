"""The daily metrics dashboard: one self-contained HTML file (plotly.js inlined, works offline) with DAU/WAU/MAU
lines, the retention heatmap, top events, lifecycle, A/B results, the forecast with its interval band and the
per-user picture (activity by hour, churn risk).

It says what the data does not cover: a window longer than the loaded history is labelled "MAU over 8 of 30 days"
(stickiness too, and its line is dotted on the chart), cohorts that began before the first loaded day are left out
or marked partial with a note (their users were seen only through late uploads), a chart without data says why,
and demo data is labelled in the title and the header."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import jinja2
import pandas as pd
from plotly.offline import get_plotlyjs

from analytics_dagster.lib.day_state import DayState, DayStatus
from analytics_dagster.lib.metrics.dashboard_figures import (
    ab_figure,
    activity_figure,
    churn_figure,
    daily_retention_figure,
    forecast_figure,
    hours_figure,
    lifecycle_figure,
    retention_heatmap,
    top_events_figure,
)
from analytics_dagster.lib.metrics.rules import MONTH_DAYS, WEEK_DAYS

STATUS_COLOURS = {
    DayStatus.FINAL: "#dcfce7",
    DayStatus.PRELIMINARY: "#fef9c3",
    DayStatus.INCOMPLETE: "#fecaca",
    DayStatus.NO_DATA: "#e2e8f0",
}


@dataclass
class DashboardData:
    day: dt.date
    state: DayState  # final / preliminary / incomplete / no data, and why (lib/day_state.py)
    activity: pd.DataFrame  # metrics_activity rows of the day
    activity_history: pd.DataFrame  # metric_date, dau, wau, mau, new_users, stickiness
    top_events: pd.DataFrame
    lifecycle_history: pd.DataFrame
    retention_weekly: pd.DataFrame
    retention_daily: pd.DataFrame
    ab_tests: pd.DataFrame
    ab_summaries: dict[str, str]  # experiment -> overall recommendation
    forecasts: pd.DataFrame
    forecast_history: pd.DataFrame  # series, event_date, value
    user_engagement: pd.DataFrame
    is_demo: bool = False  # the day's events came from the built-in demo source (queries.is_demo)
    first_loaded_day: dt.date | None = None  # the first upload day in the warehouse (queries.first_loaded_day)

    def covered_days(self, window: int, day: dt.date | None = None) -> int:
        """How many of the ``window`` days ending on ``day`` (default: the dashboard's day) have loaded data."""
        day = day or self.day
        if self.first_loaded_day is None:
            return window
        return max(0, min(window, (day - self.first_loaded_day).days + 1))

    def window_label(self, name: str, window: int) -> str:
        """'MAU (30 days)', or 'MAU over 8 of 30 days' while the loaded history is shorter than the window."""
        covered = self.covered_days(window)
        return f"{name} ({window} days)" if covered == window else f"{name} over {covered} of {window} days"


# The page lives beside this module, so its markup is edited as HTML, not as a Python string.
_TEMPLATE = jinja2.Environment(
    loader=jinja2.FileSystemLoader(Path(__file__).parent / "templates"), autoescape=True
).get_template("dashboard.html.j2")


@dataclass
class _Chart:
    title: str
    div_id: str
    html: str | None
    empty: str = ""
    wide: bool = False
    note: str = ""


def _chart(
    title: str, build, frame: pd.DataFrame, empty: str, *, wide: bool = False, div_id: str, note: str = ""
) -> _Chart:
    """A chart card; ``frame`` is exactly what the chart plots, so an empty one gets ``empty`` (why) instead of
    blank axes."""
    if frame is None or frame.empty:
        return _Chart(title, div_id, None, empty, wide, note)
    figure = build()
    return _Chart(
        title,
        div_id,
        figure.to_html(
            full_html=False, include_plotlyjs=False, div_id=div_id, config={"displaylogo": False, "responsive": True}
        ),
        wide=wide,
        note=note,
    )


def _fmt(value, pattern: str) -> str:
    return "" if value is None or pd.isna(value) else pattern.format(value)


def _ab_rows(ab: pd.DataFrame) -> list[dict[str, str]]:
    rows = []
    for r in ab.to_dict("records"):
        percent = r["metric_kind"] == "conversion"
        rows.append(
            {
                "experiment": r["experiment"],
                "metric": r["metric"],
                "variant": r["variant"],
                "exposures": r["exposures"],
                "conversions": r["conversions"],
                "value": _fmt(r["metric_value"], "{:.2%}" if percent else "{:.3f}"),
                "lift": _fmt(r["relative_lift"], "{:+.1%}"),
                "ci": ""
                if pd.isna(r["relative_lift_ci_low"])
                else f"{r['relative_lift_ci_low']:+.1%} … {r['relative_lift_ci_high']:+.1%}",
                "p": _fmt(r["p_value_holm"], "{:.3g}"),
                "srm": _fmt(r["srm_p_value"], "{:.3g}"),
                "recommendation": r["recommendation"],
            }
        )
    return rows


@dataclass
class _Kpi:
    label: str
    value: str
    note: str = ""


def _kpis(data: DashboardData) -> list[_Kpi]:
    overall = data.activity[data.activity["dimension"] == "all"]
    if overall.empty:
        return [_Kpi("DAU", "no data")]
    row = overall.iloc[0]
    mau_short = data.covered_days(MONTH_DAYS) < MONTH_DAYS
    kpis = [
        _Kpi("DAU", f"{int(row['dau']):,}"),
        _Kpi(data.window_label("WAU", WEEK_DAYS), f"{int(row['wau']):,}"),
        _Kpi(data.window_label("MAU", MONTH_DAYS), f"{int(row['mau']):,}"),
        _Kpi(
            "New users",
            f"{int(row['new_users']):,}",
            f"first seen since {data.first_loaded_day}" if mau_short and data.first_loaded_day else "",
        ),
        # Stickiness divides by MAU, so it carries MAU's caveat.
        _Kpi(
            "Stickiness DAU/MAU",
            _fmt(row["stickiness"], "{:.1%}"),
            data.window_label("MAU", MONTH_DAYS) if mau_short else "",
        ),
    ]
    # Segments as named in metrics_activity: by source (Amplitude, AppMetrica) and by the platform field.
    for dimension in ("source", "platform"):
        for segment in data.activity[data.activity["dimension"] == dimension].itertuples():
            kpis.append(_Kpi(f"DAU · {dimension} {segment.segment}", f"{int(segment.dau):,}"))
    return kpis


def _coverage(data: DashboardData) -> str:
    if data.first_loaded_day is None or data.covered_days(MONTH_DAYS) == MONTH_DAYS:
        return ""
    covered = data.covered_days(MONTH_DAYS)
    return (
        f"Data starts on {data.first_loaded_day}: {covered} day{'s' if covered != 1 else ''} loaded, so windows "
        "longer than that (WAU, MAU, stickiness) cover only those days and say so."
    )


def _loaded_cohorts(data: DashboardData) -> tuple[pd.DataFrame, pd.DataFrame, str]:
    """The weekly and daily retention rows of cohorts that began on or after the first loaded day (a week that
    began before it is kept, marked partial), and the note saying what was left out."""
    weekly, daily, first = data.retention_weekly, data.retention_daily, data.first_loaded_day
    if first is None or (weekly.empty and daily.empty):
        return weekly, daily, ""
    cohort_end = pd.to_datetime(weekly["cohort_end"]).dt.date if len(weekly) else pd.Series(dtype=object)
    cohort_start = pd.to_datetime(weekly["cohort_start"]).dt.date if len(weekly) else pd.Series(dtype=object)
    cohort_date = pd.to_datetime(daily["cohort_date"]).dt.date if len(daily) else pd.Series(dtype=object)
    early_weeks = cohort_end < first
    early_days = cohort_date < first
    partial = bool((~early_weeks & (cohort_start < first)).any())
    if not early_weeks.any() and not early_days.any() and not partial:
        return weekly, daily, ""
    note = (
        f"Data starts on {first}: cohorts that began before it are left out (their users were seen only "
        "through events uploaded late)"
    )
    note += "; the week it falls in is marked partial." if partial else "."
    return weekly[~early_weeks.to_numpy()], daily[~early_days.to_numpy()], note


def _complete_days(daily: pd.DataFrame) -> pd.DataFrame:
    return daily[daily["is_complete"].astype(bool)] if len(daily) else daily


def render_dashboard(data: DashboardData, late_days: int) -> str:
    day_forecast = data.forecasts
    weekly, daily, cohort_note = _loaded_cohorts(data)
    first_time_weeks = weekly[weekly["cohort_type"] == "first_time"] if len(weekly) else weekly
    complete_days = _complete_days(daily)
    charts = [
        _chart(
            "Active users",
            lambda: activity_figure(data),
            data.activity_history,
            "No daily rollups yet: materialize metrics_activity for the days before this one.",
            wide=True,
            div_id="chart-activity",
        ),
        _chart(
            "DAU forecast",
            lambda: forecast_figure(day_forecast, data.forecast_history),
            day_forecast[day_forecast["series"] == "dau"] if not day_forecast.empty else day_forecast,
            "Forecasts need at least 2 days of history.",
            div_id="chart-forecast",
        ),
        _chart(
            "Top events",
            lambda: top_events_figure(data.top_events),
            data.top_events,
            "No events on this day.",
            div_id="chart-top-events",
        ),
        _chart(
            "Weekly retention",
            lambda: retention_heatmap(weekly, data.first_loaded_day),
            first_time_weeks,
            "No first-time cohort since the data starts." if cohort_note else "No cohorts yet.",
            div_id="chart-retention-weekly",
            note=cohort_note,
        ),
        _chart(
            "N-day retention",
            lambda: daily_retention_figure(complete_days),
            complete_days,
            "No cohort day is over yet: day N of a cohort counts once that day has ended.",
            div_id="chart-retention-daily",
            note=cohort_note,
        ),
        _chart(
            "Lifecycle",
            lambda: lifecycle_figure(data.lifecycle_history),
            data.lifecycle_history,
            "No lifecycle yet: materialize metrics_lifecycle for the days before this one.",
            div_id="chart-lifecycle",
        ),
        _chart(
            "A/B tests",
            lambda: ab_figure(data.ab_tests),
            data.ab_tests[data.ab_tests["relative_lift"].notna()] if not data.ab_tests.empty else data.ab_tests,
            "No experiment has a variant to compare with its control yet.",
            div_id="chart-ab",
        ),
        _chart(
            "Activity by hour",
            lambda: hours_figure(data.user_engagement),
            data.user_engagement,
            "No active users in the last 30 days.",
            div_id="chart-hours",
        ),
        _chart(
            "Churn risk",
            lambda: churn_figure(data.user_engagement),
            data.user_engagement,
            "No active users in the last 30 days.",
            div_id="chart-churn",
        ),
    ]
    return _TEMPLATE.render(
        day=data.day.isoformat(),
        state=data.state,
        status_colour=STATUS_COLOURS[data.state.status],
        late_days=late_days,
        plotly_js=get_plotlyjs(),
        is_demo=data.is_demo,
        coverage=_coverage(data),
        kpis=_kpis(data),
        charts=charts,
        ab_rows=_ab_rows(data.ab_tests),
        ab_summaries=data.ab_summaries,
    )
