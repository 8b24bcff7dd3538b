"""The dashboard tells the truth about short history: rendered by the metric assets from an 8-day and a 60-day
warehouse and read in headless Chromium (Debian's /usr/bin/chromium through Playwright).

The 8-day warehouse is what a new installation looks like after a week: the upload days of 2026-03-08..03-15
(demo source), whose late uploads also carry events of days before the data starts. Set DASHBOARD_SCREENSHOTS_DIR
to keep full-page screenshots of both dashboards (docs/img/ holds the ones in the documentation)."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import pandas as pd
import pytest
from playwright.sync_api import sync_playwright

from analytics_dagster.defs.resources import ObjectStoreResource, WarehouseResource
from analytics_dagster.lib.day_state import day_state
from analytics_dagster.lib.metrics.dashboard import DashboardData, render_dashboard
from analytics_dagster_tests.metrics.conftest import ALL_METRIC_ASSETS, fill_daily_rollups, materialize_day
from analytics_dagster_tests.metrics.dataset import Dataset, build_dataset, load_dataset, record_loaded_uploads
from analytics_dagster_tests.metrics.test_report import CHART_IDS, CHROMIUM_ARGS

LAST_DAY = dt.date(2026, 3, 15)
SHORT_FIRST_DAY = LAST_DAY - dt.timedelta(days=7)
LONG_FIRST_DAY = LAST_DAY - dt.timedelta(days=59)

# What the page shows: its title, the header, the KPI tiles, each chart card's note or empty message, and each
# chart's traces (name, number of points) and axis settings, as plotly holds them.
READ_PAGE_JS = """ids => ({
  title: document.title,
  demo: document.getElementById('demo-data')?.textContent ?? null,
  coverage: document.getElementById('coverage')?.textContent ?? null,
  kpis: [...document.querySelectorAll('.kpi')].map(k => ({
    label: k.querySelector('span').textContent, value: k.querySelector('b').textContent,
    note: k.querySelector('small')?.textContent ?? ''})),
  cards: Object.fromEntries(ids.map(id => {
    const card = document.getElementById('card-' + id);
    const chart = document.getElementById(id);
    return [id, {
      note: card.querySelector('.note')?.textContent ?? '',
      empty: card.querySelector('.empty')?.textContent ?? null,
      traces: chart ? chart.data.map(t => ({name: t.name, points: (t.y || []).length, y: t.y})) : [],
      xaxis: chart ? {dtick: chart.layout.xaxis.dtick, tickformat: chart.layout.xaxis.tickformat,
                      ticks: [...chart.querySelectorAll('.xtick text')].map(t => t.textContent)} : null,
    }];
  })),
})"""


def _dashboard(root: Path, dataset: Dataset, loaded_days: list[dt.date], *, demo: bool) -> Path:
    """Loads ``dataset`` with ``loaded_days`` as the loaded upload days, fills the daily rollups of those days and
    materializes every metric asset for the last one; returns the dashboard file."""
    warehouse = WarehouseResource(kind="duckdb", duckdb_path=str(root / "warehouse.duckdb"))
    object_store = ObjectStoreResource(local_dir=str(root / "objects"))
    load_dataset(warehouse.get(), dataset)
    record_loaded_uploads(warehouse.get(), loaded_days)
    if demo:
        warehouse.get().execute("UPDATE dwh_partition_loads SET origin = 'demo'")
    fill_daily_rollups(warehouse.get(), loaded_days[0], loaded_days[-1])
    materialize_day(ALL_METRIC_ASSETS, loaded_days[-1], {"warehouse": warehouse, "object_store": object_store})
    return object_store.store().local_path(f"reports/metrics/{loaded_days[-1]}/dashboard.html")


def _days(first: dt.date, last: dt.date) -> list[dt.date]:
    return [first + dt.timedelta(days=n) for n in range((last - first).days + 1)]


@pytest.fixture(scope="module")
def dashboards(tmp_path_factory) -> dict[str, Path]:
    # Eight upload days cut from a longer history: their late uploads hold events of days before the data starts.
    history = build_dataset(seed=3, users=150, first_day=LAST_DAY - dt.timedelta(days=30), last_day=LAST_DAY)
    events = history.events
    kept = (pd.to_datetime(events["partition_date"]).dt.date >= SHORT_FIRST_DAY).to_numpy()
    short = Dataset(
        events[kept].reset_index(drop=True),
        history.event_properties[kept].reset_index(drop=True),
        history.user_properties[kept].reset_index(drop=True),
    )
    assert (pd.to_datetime(short.events["event_date"]).dt.date < SHORT_FIRST_DAY).any()
    long = build_dataset(seed=5, users=150, first_day=LONG_FIRST_DAY, last_day=LAST_DAY)
    return {
        "8 days": _dashboard(tmp_path_factory.mktemp("short"), short, _days(SHORT_FIRST_DAY, LAST_DAY), demo=True),
        "60 days": _dashboard(tmp_path_factory.mktemp("long"), long, _days(LONG_FIRST_DAY, LAST_DAY), demo=False),
    }


@pytest.fixture(scope="module")
def pages(dashboards) -> dict[str, dict]:
    shots = os.environ.get("DASHBOARD_SCREENSHOTS_DIR")
    read: dict[str, dict] = {}
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        try:
            for name, path in dashboards.items():
                page = browser.new_page(viewport={"width": 1400, "height": 900})
                errors: list[str] = []
                page.on("pageerror", lambda error, errors=errors: errors.append(str(error)))
                page.goto(path.as_uri())
                page.wait_for_function(
                    "() => document.querySelectorAll('.js-plotly-plot .main-svg').length > 0", timeout=60_000
                )
                read[name] = {**page.evaluate(READ_PAGE_JS, CHART_IDS), "errors": errors}
                if shots:
                    page.screenshot(path=str(Path(shots) / f"dashboard-{name.replace(' ', '-')}.png"), full_page=True)
                page.close()
        finally:
            browser.close()
    return read


def _kpi(page: dict, label: str) -> dict:
    [kpi] = [k for k in page["kpis"] if k["label"] == label]
    return kpi


def test_demo_data_is_labelled_only_when_it_is(pages):
    short, long = pages["8 days"], pages["60 days"]
    assert short["title"] == f"[DEMO] Product metrics {LAST_DAY}" and short["demo"] == "DEMO DATA"
    assert long["title"] == f"Product metrics {LAST_DAY}" and long["demo"] is None
    assert short["errors"] == long["errors"] == []


def test_windows_longer_than_the_data_say_how_much_they_cover(pages):
    short, long = pages["8 days"], pages["60 days"]
    assert f"Data starts on {SHORT_FIRST_DAY}: 8 days loaded" in short["coverage"]
    assert _kpi(short, "MAU over 8 of 30 days")["value"]
    assert _kpi(short, "WAU (7 days)")["value"]  # a week is covered
    # Stickiness divides by MAU: it carries the same caveat.
    assert _kpi(short, "Stickiness DAU/MAU")["note"] == "MAU over 8 of 30 days"
    assert _kpi(long, "MAU (30 days)")["value"] and _kpi(long, "Stickiness DAU/MAU")["note"] == ""
    assert long["coverage"] is None
    # On the chart, MAU's days before its window is covered are a separate, dotted trace.
    short_traces = {t["name"]: t["points"] for t in short["cards"]["chart-activity"]["traces"]}
    assert short_traces["MAU, window not yet covered by data"] == 8 and "MAU" not in short_traces
    long_traces = {t["name"]: t["points"] for t in long["cards"]["chart-activity"]["traces"]}
    assert long_traces["MAU"] == 60 - 29 and long_traces["MAU, window not yet covered by data"] == 30


def test_cohorts_before_the_first_loaded_day_are_left_out_with_a_note(pages):
    short, long = pages["8 days"], pages["60 days"]
    for chart in ("chart-retention-weekly", "chart-retention-daily"):
        assert (
            f"Data starts on {SHORT_FIRST_DAY}: cohorts that began before it are left out"
            in (short["cards"][chart]["note"])
        )
        assert long["cards"][chart]["note"] == ""
    # 2026-03-08 is a Sunday: its week (from 03-02) is kept and marked partial; earlier weeks are gone.
    cohorts = short["cards"]["chart-retention-weekly"]["traces"][1]["y"]
    assert [c.split(" ")[0] for c in cohorts] == ["2026-03-02", "2026-03-09"]
    assert cohorts[0].endswith(", partial week)") and "partial" not in cohorts[1]


def test_segments_are_named_by_source_and_platform(pages):
    for page in pages.values():
        labels = {k["label"] for k in page["kpis"]}
        assert {
            "DAU · source Amplitude",
            "DAU · source AppMetrica",
            "DAU · platform Web",
            "DAU · platform iOS",
            "DAU · platform Android",
        } <= labels
        assert not {"DAU web", "DAU mobile"} & labels


def test_retention_days_are_whole_numbers(pages):
    for page in pages.values():
        axis = page["cards"]["chart-retention-daily"]["xaxis"]
        assert axis["dtick"] in (1, 5) and axis["tickformat"] == "d"
        assert axis["ticks"] and all(tick.isdigit() for tick in axis["ticks"]), axis["ticks"]


def test_every_chart_shows_data_or_says_why_not(pages):
    for name, page in pages.items():
        for chart, card in page["cards"].items():
            if card["empty"] is None:
                assert any(t["points"] for t in card["traces"]), (name, chart)
            else:
                assert card["empty"].strip() and not card["traces"], (name, chart)


def test_an_empty_chart_says_why():
    empty = pd.DataFrame()
    data = DashboardData(
        day=LAST_DAY,
        state=day_state(LAST_DAY, {}, 0, late_days=3),
        activity=pd.DataFrame({"dimension": []}),
        activity_history=empty,
        top_events=empty,
        lifecycle_history=empty,
        retention_weekly=empty,
        retention_daily=pd.DataFrame(
            {"cohort_type": ["first_time"], "cohort_date": [LAST_DAY], "day_number": [1], "is_complete": [False]}
        ),
        ab_tests=empty,
        ab_summaries={},
        forecasts=empty,
        forecast_history=empty,
        user_engagement=empty,
        first_loaded_day=LAST_DAY,
    )
    html = render_dashboard(data, late_days=3)
    assert "No cohort day is over yet: day N of a cohort counts once that day has ended." in html
    assert "No daily rollups yet" in html and "No events on this day." in html
    assert '<div id="chart-retention-daily"' not in html and 'id="card-chart-retention-daily"' in html
