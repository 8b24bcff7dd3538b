"""The report: exports equal the warehouse tables, and the dashboard renders its charts in headless Chromium."""

from __future__ import annotations

import base64
import json
import re

import pandas as pd
import pytest
from openpyxl import load_workbook
from playwright.sync_api import sync_playwright

from analytics_dagster.lib.day_state import day_state
from analytics_dagster.lib.metrics.exports import XLSX_MAX_ROWS, write_xlsx
from analytics_dagster.lib.metrics.queries import METRIC_TABLES
from analytics_dagster.lib.replays.browser import CHROMIUM_ARGS, DEBIAN_CHROMIUM
from analytics_dagster_tests.metrics.conftest import TEST_DAYS

CHART_IDS = [
    "chart-activity",
    "chart-forecast",
    "chart-top-events",
    "chart-retention-weekly",
    "chart-retention-daily",
    "chart-lifecycle",
    "chart-ab",
    "chart-hours",
    "chart-churn",
]
# Counts distinct colours, non-white pixels and coloured (not grey: chart marks, not text or axes) pixels of a PNG,
# decoded by the browser itself.
COUNT_PIXELS_JS = """async (source) => {
  const image = new Image(); image.src = source; await image.decode();
  const canvas = document.createElement('canvas'); canvas.width = image.width; canvas.height = image.height;
  const context = canvas.getContext('2d'); context.drawImage(image, 0, 0);
  const data = context.getImageData(0, 0, image.width, image.height).data;
  const colours = new Set(); let nonWhite = 0; let coloured = 0;
  for (let i = 0; i < data.length; i += 4) {
    const [r, g, b] = [data[i], data[i + 1], data[i + 2]];
    colours.add((r << 16) | (g << 8) | b);
    if (r < 240 || g < 240 || b < 240) nonWhite++;
    if (Math.max(r, g, b) - Math.min(r, g, b) > 60) coloured++;
  }
  const pixels = data.length / 4;
  return {colours: colours.size, nonWhiteShare: nonWhite / pixels, colouredShare: coloured / pixels};
}"""


@pytest.fixture(scope="module")
def report(materialized):
    day = TEST_DAYS[0]
    store = materialized.object_store.store()
    prefix = f"reports/metrics/{day}"
    return day, store, prefix


def test_exports_equal_the_warehouse_tables(materialized, report, tmp_path):
    day, store, prefix = report
    manifest = json.loads(store.get_bytes(f"{prefix}/_manifest.json"))
    workbook = load_workbook(store.local_path(f"{prefix}/metrics_{day}.xlsx"), read_only=True)
    for table in METRIC_TABLES:
        name = table.removeprefix("metrics_")
        expected = materialized.table(table, day)
        assert manifest["rows"][name] == len(expected)
        parquet = pd.read_parquet(store.local_path(f"{prefix}/{name}.parquet"))
        csv = pd.read_csv(store.local_path(f"{prefix}/{name}.csv"))
        assert list(parquet.columns) == list(csv.columns) == list(expected.columns)
        assert len(parquet) == len(csv) == len(expected)
        sheet = list(workbook[name].values)
        assert list(sheet[0]) == list(expected.columns) and len(sheet) == min(len(expected), XLSX_MAX_ROWS) + 1
        for column in expected.select_dtypes("number").columns:
            assert parquet[column].astype(float).sum() == pytest.approx(expected[column].astype(float).sum())
            assert csv[column].astype(float).sum() == pytest.approx(expected[column].astype(float).sum())
    assert set(manifest["files"]) == {
        f"{t.removeprefix('metrics_')}.{ext}" for t in METRIC_TABLES for ext in ("csv", "parquet")
    } | {f"metrics_{day}.xlsx", "dashboard.html", "day_state.json"}
    state = json.loads(store.get_bytes(f"{prefix}/day_state.json"))
    assert state["day_state"] == materialized.metadata("metrics_report", day)["day_state"]
    metadata = materialized.metadata("metrics_report", day)
    assert metadata["dashboard"] == store.public_url(f"{prefix}/dashboard.html")
    overall = materialized.table("metrics_activity", day).query("dimension == 'all'").iloc[0]
    assert (
        f"| all | all | {overall['dau']} | {overall['wau']} | {overall['mau']} | {overall['new_users']} |"
        in (metadata["headline"])
    )
    top = materialized.table("metrics_top_events", day).query("dimension == 'all' and event_rank == 1").iloc[0]
    assert f"| 1 | {top['event_type']} | {top['event_count']} | {top['unique_users']} |" in metadata["top_events"]


def test_users_most_at_risk_come_first_and_long_sheets_are_cut(materialized, report, tmp_path):
    day, store, prefix = report
    users = pd.read_parquet(store.local_path(f"{prefix}/user_engagement.parquet"))
    risk = users["churn_risk"].map({"high": 0, "medium": 1, "low": 2})
    assert risk.is_monotonic_increasing
    path = tmp_path / "long.xlsx"
    long = pd.DataFrame({"n": range(XLSX_MAX_ROWS + 5)})
    write_xlsx({"long": long, "short": long.head(3)}, path, day, day_state(day, {}, 1, late_days=3))
    workbook = load_workbook(path, read_only=True)
    assert len(list(workbook["long"].values)) == XLSX_MAX_ROWS + 1
    about = list(workbook["about"].values)
    assert ("long", XLSX_MAX_ROWS + 5, XLSX_MAX_ROWS, "long.csv / long.parquet") in about
    assert ("short", 3, 3, "this sheet") in about


def test_dashboard_is_self_contained(report):
    _, store, prefix = report
    html = store.get_bytes(f"{prefix}/dashboard.html").decode()
    assert not re.search(r"<(script|link|img)[^>]+(src|href)=[\"']https?://", html)
    assert "Plotly.newPlot" in html or "Plotly.react" in html
    assert "incomplete" in html  # the retention heatmap marks weeks still running


def test_dashboard_renders_in_headless_chromium(report, tmp_path):
    _, store, prefix = report
    errors: list[str] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=DEBIAN_CHROMIUM, args=list(CHROMIUM_ARGS))
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 900})
            page.set_default_timeout(300_000)  # generous: a loaded machine renders the charts slowly
            page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
            page.on("pageerror", lambda error: errors.append(str(error)))
            page.goto(store.uri(f"{prefix}/dashboard.html"))
            page.wait_for_function("ids => ids.every(id => document.querySelector(`#${id} .main-svg`))", arg=CHART_IDS)
            traces = page.evaluate("ids => ids.map(id => document.getElementById(id).data.length)", CHART_IDS)
            assert all(count > 0 for count in traces), dict(zip(CHART_IDS, traces))
            screenshot = page.screenshot(full_page=True)
            charts = {chart: page.locator(f"#{chart}").screenshot() for chart in CHART_IDS}
            blank = browser.new_page()
            whole = blank.evaluate(COUNT_PIXELS_JS, "data:image/png;base64," + base64.b64encode(screenshot).decode())
            per_chart = {
                chart: blank.evaluate(COUNT_PIXELS_JS, "data:image/png;base64," + base64.b64encode(png).decode())
                for chart, png in charts.items()
            }
        finally:
            browser.close()
    assert errors == []
    assert whole["colours"] > 200
    for chart, pixels in per_chart.items():
        # Lines, bars, markers and heatmap cells: many anti-aliased colours and coloured marks, not just axes.
        assert pixels["colours"] > 30 and pixels["colouredShare"] > 0.003, (chart, pixels)


def test_demo_exports_say_so_where_a_reader_looks_first(tmp_path):
    import pyarrow.parquet as pq

    from analytics_dagster.lib.metrics.exports import DEMO_NOTE, write_exports

    day = TEST_DAYS[0]
    state = day_state(day, {}, 1, late_days=3)
    tables = {"activity": pd.DataFrame({"dau": [3]})}
    demo = write_exports(tables, day, tmp_path / "demo", state, is_demo=True)
    real = write_exports(tables, day, tmp_path / "real", state)
    assert sorted(demo) == sorted(real)  # the same file names: links stay stable
    about = list(load_workbook(demo[f"metrics_{day}.xlsx"], read_only=True)["about"].values)
    assert about[0] == (DEMO_NOTE,) and about[1][0].startswith("Product metrics of")
    assert list(load_workbook(real[f"metrics_{day}.xlsx"], read_only=True)["about"].values)[0][0].startswith(
        "Product metrics of"
    )
    assert pq.read_schema(demo["activity.parquet"]).metadata[b"demo_data"] == b"true"
    assert pq.read_schema(real["activity.parquet"]).metadata[b"demo_data"] == b"false"
    assert json.loads(demo["day_state.json"].read_text())["demo_data"] is True
    assert pd.read_parquet(demo["activity.parquet"])["dau"].tolist() == [3]
