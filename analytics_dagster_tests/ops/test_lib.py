"""The plain observability logic (lib/ops): deadlines, alert texts and redaction, metric families, status rules."""

from __future__ import annotations

import datetime as dt
import json
import re

import pytest

from analytics_dagster.lib.ops.alerts import Alert, AlertKind, first_line, redact, run_url
from analytics_dagster.lib.ops.freshness import MOSCOW, Deadline, day_due_at, deadlines, expected_day, parse_deadline
from analytics_dagster.lib.ops.prometheus import (
    FinalDay,
    check_families,
    materialization_families,
    platform_families,
    step_families,
)
from analytics_dagster.lib.ops.status import FailingCheck, GroupFacts, evaluate, render
from analytics_dagster.lib.settings import PROJECT_ROOT

MSK = dt.timezone(dt.timedelta(hours=3))


def test_deadlines_default_and_from_environment():
    defaults = deadlines({})
    assert {g: str(d) for g, d in defaults.items()} == {
        "ingest": "10:30 Moscow",
        "dwh": "10:30 Moscow",
        "metrics": "11:00 Moscow",
        "replays": "11:00 Moscow",
    }
    assert defaults["dwh"].cron == "30 10 * * *"
    assert deadlines({"FRESHNESS_DEADLINE_METRICS": "7:05"})["metrics"].cron == "5 7 * * *"
    with pytest.raises(ValueError, match=r"FRESHNESS_DEADLINE_DWH='25:00' is not a Moscow time of day"):
        parse_deadline("dwh", "25:00")


def test_expected_day_switches_at_the_deadline():
    deadline = Deadline("dwh", dt.time(10, 30))
    assert expected_day(dt.datetime(2026, 3, 16, 10, 29, tzinfo=MSK), deadline) == dt.date(2026, 3, 14)
    assert expected_day(dt.datetime(2026, 3, 16, 10, 30, tzinfo=MSK), deadline) == dt.date(2026, 3, 15)
    # 22:00 UTC on the 15th is already the 16th in Moscow.
    assert expected_day(dt.datetime(2026, 3, 15, 22, 0, tzinfo=dt.UTC), deadline) == dt.date(2026, 3, 14)
    assert day_due_at(dt.datetime(2026, 3, 16, 10, 30, tzinfo=MSK).timestamp()) == dt.date(2026, 3, 15)
    with pytest.raises(ValueError, match="timezone-aware"):
        expected_day(dt.datetime(2026, 3, 16, 11, 0), deadline)


def test_alert_text_is_short_and_redacted():
    alert = Alert(
        AlertKind.RUN_FAILED,
        "run daily_pipeline",
        "2026-03-15",
        first_line("\n  KeyError: token=abcdef123456 at postgresql://u:hunter22@db/x  \nTraceback..."),
        items=tuple(f"failed step s{i}" for i in range(12)),
        run_url=run_url("http://ui:3000/", "r1"),
    )
    text = alert.redacted(["abcdef123456", "x"]).text()
    assert text.splitlines()[:2] == [
        "[analytics_dagster] FAILED: run daily_pipeline, partition 2026-03-15",
        "Error: KeyError: token=[redacted] at postgresql://u:[redacted]@db/x",
    ]
    assert "- …and 2 more" in text and text.endswith("Run: http://ui:3000/runs/r1")
    assert "Traceback" not in text and "hunter22" not in text
    assert first_line("x" * 1000).endswith("…") and len(first_line("x" * 1000)) == 300
    # Too short to be a secret worth hiding: redacting it would mangle every message.
    assert redact("a 1 b", ["1"]) == "a 1 b"
    assert run_url(None, "r1") is None


def test_materialization_families_by_stage():
    def samples(families):
        return {(s.name, tuple(sorted(s.labels.items()))): s.value for f in families for s in f.samples}

    ingest = samples(
        materialization_families(
            "amplitude_raw_events",
            "ingest",
            {"dagster/row_count": 10, "bytes": 2048, "requests": 3, "retries": 1, "splits": 0, "origin": "export_api"},
            1.5,
        )
    )
    assert ingest[("analytics_dagster_raw_events", (("source", "amplitude"),))] == 10
    assert ingest[("analytics_dagster_api_requests_total", (("source", "amplitude"),))] == 3
    assert ingest[("analytics_dagster_api_splits_total", (("source", "amplitude"),))] == 0
    assert ingest[("analytics_dagster_materialization_timestamp_seconds", (("group", "ingest"),))] == 1.5

    dwh = samples(
        materialization_families(
            "events_part",
            "dwh",
            {
                "dagster/row_count": 9,
                "amplitude_loaded": 5,
                "appmetrica_loaded": 4,
                "amplitude_quarantined": 1,
                "quarantine_by_reason": {"bad json": 1},
                "demo_data": True,
            },
            2.0,
        )
    )
    assert dwh[("analytics_dagster_dwh_rows", (("table", "events_part"),))] == 9
    assert dwh[("analytics_dagster_dwh_events_loaded", (("source", "appmetrica"),))] == 4
    assert dwh[("analytics_dagster_dwh_quarantined_records_by_reason", (("reason", "bad json"),))] == 1
    assert not any(name.endswith("demo_data") for name, _ in dwh)

    activity = samples(
        materialization_families(
            "metrics_activity", "metrics", {"dau": 5, "wau": 7, "mau": 9, "day_state": "preliminary"}, 3.0
        )
    )
    assert activity[("analytics_dagster_active_users", (("window", "month"),))] == 9
    assert activity[("analytics_dagster_metric_day_final", ())] == 0


def test_platform_families():
    families = platform_families(
        {"ingest": dt.date(2026, 3, 15), "metrics": None}, FinalDay(dt.date(2026, 3, 12), {"dau": 4}), MOSCOW, 99.0
    )
    values = {(s.name, tuple(s.labels.values())): s.value for f in families for s in f.samples}
    midnight = dt.datetime(2026, 3, 15, tzinfo=MSK).timestamp()
    assert values[("analytics_dagster_newest_complete_partition_timestamp_seconds", ("ingest",))] == midnight
    assert ("analytics_dagster_newest_complete_partition_timestamp_seconds", ("metrics",)) not in values
    assert values[("analytics_dagster_final_day_active_users", ("day",))] == 4


NOW = dt.datetime(2026, 3, 16, 11, 30, tzinfo=MSK)
DEADLINE = Deadline("dwh", dt.time(10, 30))


def test_status_states_and_freshness():
    fresh = evaluate(GroupFacts("dwh", {"a": {"2026-03-14", "2026-03-15"}, "b": {"2026-03-15"}}), DEADLINE, NOW)
    assert (fresh.newest, fresh.state, fresh.late, fresh.healthy) == ("2026-03-15", "final", False, True)

    failed = evaluate(
        GroupFacts("dwh", {"a": {"2026-03-15"}, "b": {"2026-03-14"}}, {"b": {"2026-03-15"}}), DEADLINE, NOW
    )
    assert (failed.state, failed.late, failed.missing_expected, failed.healthy) == ("failed", True, ("b",), False)

    incomplete = evaluate(
        GroupFacts("metrics", {"a": {"2026-03-15"}, "b": set()}, day_state="preliminary"), DEADLINE, NOW
    )
    assert incomplete.state == "incomplete" and incomplete.late

    preliminary = evaluate(GroupFacts("metrics", {"a": {"2026-03-15"}}, day_state="preliminary"), DEADLINE, NOW)
    assert (preliminary.state, preliminary.healthy) == ("preliminary", True)

    warned = evaluate(
        GroupFacts("dwh", {"a": {"2026-03-15"}}, failing_checks=[FailingCheck("a", "c", "WARN")]), DEADLINE, NOW
    )
    assert warned.healthy
    errored = evaluate(
        GroupFacts("dwh", {"a": {"2026-03-15"}}, failing_checks=[FailingCheck("a", "c", "ERROR")]), DEADLINE, NOW
    )
    assert not errored.healthy

    nothing = evaluate(GroupFacts("replays", {"a": set()}), DEADLINE, NOW)
    assert (nothing.newest, nothing.state, nothing.late) == (None, "nothing materialized", True)

    text = render([fresh, failed, errored])
    assert "fresh (2026-03-15 due by 10:30 Moscow)" in text
    assert "LATE: 2026-03-15 due by 10:30 Moscow, missing in b" in text
    assert text.splitlines()[-1] == "UNHEALTHY: dwh late and failed, dwh failed"


def test_grafana_dashboard_queries_only_pushed_metrics():
    """Every metric the dashboard in docs/ queries is one the platform pushes."""
    families = [
        *materialization_families(
            "amplitude_raw_events",
            "ingest",
            {"dagster/row_count": 1, "bytes": 1, "requests": 1, "retries": 1, "splits": 1},
            1.0,
        ),
        *materialization_families(
            "events_part",
            "dwh",
            {
                "dagster/row_count": 1,
                "amplitude_loaded": 1,
                "amplitude_quarantined": 1,
                "quarantine_by_reason": {"r": 1},
            },
            1.0,
        ),
        *materialization_families(
            "metrics_activity", "metrics", {"dau": 1, "wau": 1, "mau": 1, "day_state": "final"}, 1.0
        ),
        *check_families("dwh", True, "ERROR", 1.0),
        *step_families("daily", "success", 1.0, 1.0),
        *platform_families({"dwh": dt.date(2026, 3, 15)}, FinalDay(dt.date(2026, 3, 12), {"dau": 1}), MOSCOW, 1.0),
    ]
    pushed = {sample.name for family in families for sample in family.samples}
    dashboard = json.loads((PROJECT_ROOT / "docs" / "grafana-dashboard.json").read_text())
    queried = {
        name
        for panel in dashboard["panels"]
        for target in panel.get("targets", [])
        for name in re.findall(r"analytics_dagster_\w+", target["expr"])
    }
    assert len(queried) >= 12 and queried <= pushed, queried - pushed
