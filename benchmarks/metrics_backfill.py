"""Benchmark: a 30-day backfill of every metric asset over 100,000 events a day, and reading one day's DAU.

Fast path: the events are generated straight into the warehouse tables (events_part, tmp_event_properties,
tmp_user_properties) with DuckDB SQL, not through the demo source and the DWH ETL. The population is realistic
enough for the metrics to work: daily cohorts whose activity decays with age, web and mobile users, sessions,
Moscow-hour profile, purchases with revenue, 5% of events uploaded 1-3 days late and 1% 4 days late (not counted),
and the new-onboarding experiment (exposure events and the `[Experiment]` user property).

    .venv/bin/python benchmarks/metrics_backfill.py [--days 30] [--events-per-day 100000] [--data-dir DIR]
                                                     [--screenshot docs/img/metrics_dashboard.png]

Prints the load time, the time of each partition (all metric assets, one Dagster run per partition), per-asset
totals, and the median time of reading one day's DAU from its rollup (fresh connection per read, as a dashboard
query would, and on an open connection).
"""

from __future__ import annotations

import argparse
import datetime as dt
import statistics
import sys
import tempfile
import time
from pathlib import Path

import dagster as dg

from analytics_dagster.defs.metrics.assets import METRIC_ASSETS
from analytics_dagster.defs.resources import ObjectStoreResource, WarehouseResource
from analytics_dagster.lib.metrics import queries
from analytics_dagster.lib.replays.browser import CHROMIUM_ARGS, DEBIAN_CHROMIUM
from analytics_dagster.lib.sql import SQL_DIR, read_sql

FIRST_DAY = dt.date(2025, 6, 2)  # a Monday; the shipped experiment config starts on 2025-01-01
USERS = 160_000

GENERATE = """
SELECT setseed(0.42);
CREATE OR REPLACE TEMP TABLE bench_users AS
SELECT
    i AS uid,
    CAST(floor(random() * ($days + 60)) AS INTEGER) - 60 AS cohort,   -- acquisition day relative to the first day
    random() < 0.55 AS web,
    random() < 0.5 AS treatment,
    0.3 + 0.7 * random() AS loyalty
FROM range($users) AS t(i);

CREATE OR REPLACE TEMP TABLE bench_active AS
SELECT d, uid, web, treatment, cohort,
       row_number() OVER (PARTITION BY d ORDER BY uid) - 1 AS k
FROM bench_users CROSS JOIN range($days) AS r(d)
WHERE d >= cohort
  AND random() < CASE WHEN d = cohort THEN 0.95 ELSE loyalty * (0.06 + 0.35 * exp(-(d - cohort) / 7.0)) END;

CREATE OR REPLACE TEMP TABLE bench_day_sizes AS SELECT d, count(*) AS n FROM bench_active GROUP BY d;

CREATE OR REPLACE TEMP TABLE bench_events AS
WITH slots AS (
    -- each event slot of a day goes to one of the day's active users (some get several, some one)
    SELECT days.d, ids.i, CAST(hash(days.d, ids.i) % s.n AS BIGINT) AS k
    FROM range($days) AS days(d)
    CROSS JOIN range($events_per_day) AS ids(i)
    JOIN bench_day_sizes AS s ON s.d = days.d
),
raw AS (
    SELECT slots.d, slots.i, a.uid, a.web, a.treatment, a.cohort,
           -- Moscow hour: daytime-heavy profile
           CAST(floor(24 * pow(random(), 0.7)) AS INTEGER) AS hour_raw,
           random() AS r_type, random() AS r_late, random() AS r_min
    FROM slots
    JOIN bench_active AS a ON a.d = slots.d AND a.k = slots.k
)
SELECT
    CAST(d AS INTEGER) AS d, uid, web, treatment, cohort,
    (hour_raw + 9) % 24 AS hour,
    CASE WHEN web THEN
        list_element(['Page Viewed', 'Page Viewed', 'Page Viewed', 'Button Clicked', 'Product Viewed',
                      'Search Performed', 'Product Added to Cart', 'Checkout Started', 'Purchase Completed',
                      'Error Shown'], 1 + CAST(floor(r_type * 10) AS INTEGER))
    ELSE
        list_element(['screen_view', 'screen_view', 'screen_view', 'product_view', 'search', 'add_to_cart',
                      'checkout_start', 'purchase', 'app_error', 'push_opened'],
                     1 + CAST(floor(r_type * 10) AS INTEGER))
    END AS event_type,
    CASE WHEN r_late < 0.01 THEN 4 WHEN r_late < 0.06 THEN 1 + CAST(floor(r_late * 1000) AS INTEGER) % 3 ELSE 0 END
        AS delay,
    CAST(floor(r_min * 60) AS INTEGER) AS minute,
    i
FROM raw;

INSERT INTO events_part (uuid, source, partition_date, event_type, event_time, event_date, user_key, user_id,
                         device_id, session_id, platform, revenue)
SELECT
    'b-' || d || '-' || i,
    CASE WHEN web THEN 'amplitude' ELSE 'appmetrica' END,
    CAST($first_day AS DATE) + d + delay,
    event_type,
    CAST($first_day AS DATE) + d + to_hours(hour) + to_minutes(minute) - INTERVAL 3 HOUR,
    CAST($first_day AS DATE) + d,
    'u' || uid,
    'u' || uid,
    'd' || uid,
    CASE WHEN web THEN epoch_ms(CAST($first_day AS DATE) + d + to_hours(hour)) ELSE uid * 1000 + d * 24 + hour END,
    CASE WHEN web THEN 'Web' WHEN uid % 2 = 0 THEN 'Android' ELSE 'iOS' END,
    CASE WHEN event_type IN ('Purchase Completed', 'purchase') THEN 5 + (i % 100) END
FROM bench_events;

-- Exposures: every user acquired in the window, at 08:00 Moscow of the acquisition day, and a purchase shortly
-- after for 10% (control) / 12.5% (treatment) of them.
INSERT INTO events_part (uuid, source, partition_date, event_type, event_time, event_date, user_key, user_id,
                         device_id, session_id, platform, revenue)
SELECT 'x-' || uid || '-' || kind, CASE WHEN web THEN 'amplitude' ELSE 'appmetrica' END,
       CAST($first_day AS DATE) + cohort, event_type,
       CAST($first_day AS DATE) + cohort + INTERVAL 5 HOUR + to_minutes(kind), CAST($first_day AS DATE) + cohort,
       'u' || uid, 'u' || uid, 'd' || uid, -1, CASE WHEN web THEN 'Web' WHEN uid % 2 = 0 THEN 'Android' ELSE 'iOS' END,
       CASE WHEN kind = 1 THEN 20.0 END
FROM (
    SELECT uid, web, cohort, 0 AS kind, CASE WHEN web THEN '$exposure' ELSE 'experiment_exposure' END AS event_type
    FROM bench_users WHERE cohort BETWEEN 0 AND $days - 1
    UNION ALL
    SELECT uid, web, cohort, 1, CASE WHEN web THEN 'Purchase Completed' ELSE 'purchase' END
    FROM bench_users
    WHERE cohort BETWEEN 0 AND $days - 1 AND hash(uid, 'buy') % 1000 < CASE WHEN treatment THEN 125 ELSE 100 END
) AS x;

INSERT INTO tmp_event_properties
SELECT e.uuid, e.source, e.partition_date, e.event_time, e.event_type,
       CASE WHEN e.event_type IN ('$exposure', 'experiment_exposure')
            THEN json_object('flag_key', 'new-onboarding',
                             'variant', CASE WHEN u.treatment THEN 'treatment' ELSE 'control' END)
            WHEN e.revenue IS NOT NULL THEN json_object('revenue', e.revenue, 'currency', 'USD')
            ELSE json_object('page', e.event_type) END
FROM events_part AS e JOIN bench_users AS u ON e.user_key = 'u' || u.uid;

-- Web events carry the user-property bag (with the experiment variant once exposed); AppMetrica's do not.
INSERT INTO tmp_user_properties
SELECT e.uuid, e.source, e.partition_date, e.user_key, e.event_time,
       CASE WHEN e.source = 'amplitude' THEN
            CASE WHEN u.cohort >= 0 AND e.event_date >= CAST($first_day AS DATE) + u.cohort
                 THEN json_object('plan', 'free', '[Experiment] new-onboarding',
                                  CASE WHEN u.treatment THEN 'treatment' ELSE 'control' END)
                 ELSE json_object('plan', 'free') END
       END,
       FALSE, CASE WHEN e.source = 'amplitude' THEN 2 ELSE 0 END, 0
FROM events_part AS e JOIN bench_users AS u ON e.user_key = 'u' || u.uid;
"""


def generate(warehouse, days: int, events_per_day: int) -> None:
    sql = GENERATE
    for name, value in (
        ("$days", str(days)),
        ("$users", str(USERS)),
        ("$events_per_day", str(events_per_day)),
        ("$first_day", f"DATE '{FIRST_DAY.isoformat()}'"),
    ):
        sql = sql.replace(name, value)
    with warehouse.connect() as con:
        for table in ("events_part", "tmp_event_properties", "tmp_user_properties"):
            con.execute((SQL_DIR / "dwh" / "ddl" / f"{table}.sql").read_text())
        con.execute(sql)


def step_seconds(instance: dg.DagsterInstance, run_id: str) -> dict[str, float]:
    started, durations = {}, {}
    for entry in instance.all_logs(run_id):
        event = entry.dagster_event
        if event is None:
            continue
        if event.event_type_value == "STEP_START":
            started[event.step_key] = entry.timestamp
        elif event.event_type_value == "STEP_SUCCESS":
            durations[event.step_key] = entry.timestamp - started[event.step_key]
    return durations


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--events-per-day", type=int, default=100_000)
    parser.add_argument("--data-dir", type=Path, default=None, help="kept afterwards (default: a temporary folder)")
    parser.add_argument("--reads", type=int, default=200)
    parser.add_argument("--screenshot", type=Path, default=None, help="save a PNG of the last day's dashboard")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        root = args.data_dir or Path(tmp)
        root.mkdir(parents=True, exist_ok=True)
        (root / "warehouse.duckdb").unlink(missing_ok=True)
        warehouse_resource = WarehouseResource(kind="duckdb", duckdb_path=str(root / "warehouse.duckdb"))
        store_resource = ObjectStoreResource(local_dir=str(root / "objects"))
        warehouse = warehouse_resource.get()

        started = time.perf_counter()
        generate(warehouse, args.days, args.events_per_day)
        load_seconds = time.perf_counter() - started
        counts = warehouse.query_df(
            "SELECT count(*) AS events, count(DISTINCT user_key) AS users, "
            "sum(CASE WHEN partition_date > event_date THEN 1 ELSE 0 END) AS late "
            "FROM events_part"
        )
        print(
            f"generated {int(counts['events'][0]):,} events of {int(counts['users'][0]):,} users "
            f"({int(counts['late'][0]):,} uploaded late) over {args.days} days in {load_seconds:.1f} s"
        )

        instance = dg.DagsterInstance.ephemeral()
        resources = {"warehouse": warehouse_resource, "object_store": store_resource}
        per_partition, per_asset = [], {}
        backfill_started = time.perf_counter()
        for offset in range(args.days):
            day = FIRST_DAY + dt.timedelta(days=offset)
            t0 = time.perf_counter()
            result = dg.materialize(
                METRIC_ASSETS,
                partition_key=day.isoformat(),
                resources=resources,
                instance=instance,
                raise_on_error=True,
            )
            seconds = time.perf_counter() - t0
            per_partition.append(seconds)
            for step, duration in step_seconds(instance, result.run_id).items():
                per_asset[step] = per_asset.get(step, 0.0) + duration
            print(f"  {day}: {seconds:6.2f} s", flush=True)
        total = time.perf_counter() - backfill_started
        print(
            f"backfill: {args.days} partitions x {len(METRIC_ASSETS)} assets in {total:.1f} s "
            f"(per partition: median {statistics.median(per_partition):.2f} s, max {max(per_partition):.2f} s)"
        )
        for step, seconds in sorted(per_asset.items(), key=lambda item: -item[1]):
            print(f"  {step:28s} {seconds:7.1f} s total, {seconds / args.days:5.2f} s per partition")

        day = FIRST_DAY + dt.timedelta(days=args.days // 2)
        fresh = []
        for _ in range(args.reads):
            t0 = time.perf_counter()
            dau = queries.dau(warehouse, day)
            fresh.append((time.perf_counter() - t0) * 1000)
        with warehouse.connect() as con:
            statement = read_sql("metrics/dau_rollup.sql")
            open_connection = []
            for _ in range(args.reads):
                t0 = time.perf_counter()
                con.execute(statement, {"day": day}).fetchall()
                open_connection.append((time.perf_counter() - t0) * 1000)
        print(
            f"DAU of {day} from metrics_activity = {dau:,}: median {statistics.median(fresh):.2f} ms "
            f"(p95 {sorted(fresh)[int(0.95 * len(fresh))]:.2f} ms) with a new connection per read, "
            f"median {statistics.median(open_connection):.3f} ms on an open connection ({args.reads} reads)"
        )

        last_day = FIRST_DAY + dt.timedelta(days=args.days - 1)
        dashboard = store_resource.store().local_path(f"reports/metrics/{last_day}/dashboard.html")
        print(f"dashboard of {last_day}: {dashboard}")
        if args.screenshot:
            save_screenshot(dashboard, args.screenshot)
            print(f"screenshot: {args.screenshot}")
    return 0


def save_screenshot(dashboard: Path, target: Path) -> None:
    from playwright.sync_api import sync_playwright

    target.parent.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=DEBIAN_CHROMIUM, args=list(CHROMIUM_ARGS))
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 900})
            page.goto(dashboard.as_uri())
            page.wait_for_function("document.querySelectorAll('.js-plotly-plot .main-svg').length >= 9")
            page.screenshot(path=str(target), full_page=True)
        finally:
            browser.close()


if __name__ == "__main__":
    sys.exit(main())
