"""Product metrics: one daily-partitioned asset per metric table (group ``metrics``), built from ``METRIC_SPECS``,
plus the report with the exports and the HTML dashboard.

Every metric counts events by the Moscow day they happened, and an event uploaded up to LATE_DAYS days late still
counts, so upload day U changes the metric days U-LATE_DAYS..U. A metric partition therefore follows the
``events_part`` partition of the same day, and a run over the partitions D1..D2 (one day, a backfill or
``--partition-range``) recomputes the metric days D1-LATE_DAYS..D2, and the metric days after D2 already computed
(their WAU/MAU, retention and forecast windows and "new user" reach back into the range; in daily operation there
are none), recording a materialization for each: whatever order days are loaded in, every metric day ends up equal
to a from-scratch recompute over the loaded data. Each day's state (final /
preliminary / incomplete / no data, lib/day_state.py) is in its metadata and in the ``day_state`` check.
"""

import datetime as dt
from dataclasses import dataclass, field

import dagster as dg

from analytics_dagster.defs.automation import FOLLOWS_UPSTREAM
from analytics_dagster.defs.day_state import states_of_days
from analytics_dagster.defs.partitions import RANGE_BACKFILL_POLICY, daily_partitions
from analytics_dagster.defs.reporting import combined_checks, record_days
from analytics_dagster.defs.resources import WAREHOUSE_POOL, ObjectStoreResource, WarehouseResource
from analytics_dagster.lib.day_state import DayState, metric_days_touched, upload_window
from analytics_dagster.lib.metrics import queries
from analytics_dagster.lib.metrics.daily import MetricDay
from analytics_dagster.lib.metrics.headline import headline_tables
from analytics_dagster.lib.metrics.preview import markdown_table
from analytics_dagster.lib.metrics.report import publish_report
from analytics_dagster.lib.metrics.rules import LATE_DAYS
from analytics_dagster.lib.metrics.stored_day import DAY_STATE_CHECK, store_metric_day
from analytics_dagster.lib.moscow_time import parse_day
from analytics_dagster.lib.warehouse import Warehouse
from analytics_dagster.settings import MetricsSettings

GROUP = "metrics"
DEFAULT_EXPERIMENTS_FILE = str(MetricsSettings.read().metrics_experiments_file)


@dataclass(frozen=True)
class MetricSpec:
    table: str
    description: str
    kinds: frozenset[str] = frozenset({"sql"})
    checks: dict[str, str] = field(default_factory=dict)  # check name -> description


METRIC_SPECS = (
    MetricSpec(
        "metrics_activity",
        "DAU, WAU (7 days), MAU (30 days), new users, events and stickiness (DAU/MAU) of the Moscow day; "
        "overall, by source (Amplitude / AppMetrica) and by platform (Web / iOS / Android).",
        checks={
            "activity_counts_consistent": "new users <= DAU <= WAU <= MAU in every segment; no segment "
            "above the overall figure",
            DAY_STATE_CHECK: "Passes when every recomputed day is final; fails (ERROR) when one is "
            "incomplete, (WARN) when one is preliminary or has no data",
        },
    ),
    MetricSpec(
        "metrics_top_events",
        "The most frequent active event types of the Moscow day with their unique users; overall, by source "
        "and by platform.",
    ),
    MetricSpec(
        "metrics_lifecycle",
        "Lifecycle of the Moscow day: new, returning, resurrecting and dormant users (and the quick ratio).",
    ),
    MetricSpec(
        "metrics_retention_daily",
        "N-day retention D0..D30 of the first-time and recurring daily cohorts of the last 30 days, 'on day "
        "N' and 'on or after day N', as of the Moscow day; days not complete yet are NULL.",
        checks={
            "retention_curves_consistent": "D0 = cohort size; 'on day N' <= 'on or after day N', which "
            "never grows with N"
        },
    ),
    MetricSpec(
        "metrics_retention_weekly",
        "Weekly retention of the first-time and recurring cohorts of the last 8 Moscow weeks: weeks 0..4 and "
        "5+, cohort size and overall retention; weeks not ended yet are NULL.",
    ),
    MetricSpec(
        "metrics_user_engagement",
        "Per-user analytics over the last 30 days: activity by Moscow hour (normalised), active days, "
        "sessions, engagement score, days since last activity, rule-based churn risk and, with enough "
        "history, a scikit-learn churn probability (backtest ROC AUC in the metadata).",
        frozenset({"sql", "scikitlearn"}),
        {"engagement_values_in_range": "hour shares sum to 1, scores and probabilities within 0..1"},
    ),
    MetricSpec(
        "metrics_ab_tests",
        "A/B test results as of the Moscow day for the experiments in config/experiments.yaml: per variant "
        "exposures, conversions, lift with 95% CI, p-values (z-test / Welch), Holm correction, sample-ratio "
        "check, minimum-data rule and a recommendation.",
        frozenset({"sql", "scipy"}),
        {"ab_sample_ratio": "exposures match every experiment's planned split (chi-square p >= 0.001)"},
    ),
    MetricSpec(
        "metrics_forecasts",
        "DAU and the top event types forecast 30 days ahead with 95% prediction intervals (Holt-Winters with "
        "weekly seasonality or seasonal naive, chosen by a backtest; MASE in the metadata).",
        frozenset({"sql", "statsmodels"}),
        {"forecast_inside_interval": "every forecast lies within its prediction interval"},
    ),
)


class ExperimentsConfig(dg.Config):
    experiments_file: str = DEFAULT_EXPERIMENTS_FILE


def recomputed_days(context: dg.AssetExecutionContext) -> list[dt.date]:
    """The metric days a run over its partitions recomputes (see the module docstring)."""
    keys = context.partition_keys
    first_day = parse_day(daily_partitions.get_first_partition_key())
    computed = [parse_day(key) for key in context.instance.get_materialized_partitions(context.asset_key)]
    return metric_days_touched(parse_day(keys[0]), parse_day(keys[-1]), LATE_DAYS, first_day, computed)


def day_metadata(table: str, rows: int, result: MetricDay, state: DayState, is_demo: bool) -> dict:
    return {
        "dagster/row_count": rows,
        "table": table,
        "demo_data": is_demo,
        **state.as_metadata(),
        "preview": dg.MetadataValue.md(markdown_table(result.frame, columns=result.preview_columns)),
        **result.figures,
        **{name: dg.MetadataValue.md(markdown_table(frame)) for name, frame in result.tables.items()},
        **{name: dg.MetadataValue.json(value) for name, value in result.documents.items()},
    }


def prepared_days(
    context: dg.AssetExecutionContext, warehouse: WarehouseResource
) -> tuple[Warehouse, dict[dt.date, DayState], dict[dt.date, bool]]:
    """The warehouse with the metric schema, and the state and demo flag of every day the run recomputes."""
    wh = warehouse.get()
    queries.ensure_schema(wh)
    days = recomputed_days(context)
    states = states_of_days(context.instance, wh, days)
    demo = {day: "demo" in queries.upload_origins(wh, *upload_window(day, LATE_DAYS)) for day in days}
    if len(days) > len(context.partition_keys):
        context.log.info(
            f"Recomputing {len(days)} metric days {days[0]}..{days[-1]}: uploads of "
            f"{context.partition_keys[0]}..{context.partition_keys[-1]} may hold events of the "
            f"{LATE_DAYS} days before, and the later days already computed look back into them"
        )
    return wh, states, demo


def build_metric_asset(spec: MetricSpec) -> dg.AssetsDefinition:
    def body(context: dg.AssetExecutionContext, warehouse: WarehouseResource, **options):
        wh, states, demo = prepared_days(context, warehouse)
        metadata, outcomes = {}, {}
        for day, state in states.items():
            stored = store_metric_day(
                wh, spec.table, day, state, checks_day_state=DAY_STATE_CHECK in spec.checks, **options
            )
            for line in stored.result.log:
                context.log.info(f"{day}: {line}")
            context.log.info(f"{spec.table}: {stored.rows} rows for {day} ({state.label()})")
            metadata[day.isoformat()] = day_metadata(spec.table, stored.rows, stored.result, state, demo[day])
            outcomes[day.isoformat()] = {(spec.table, name): outcome for name, outcome in stored.checks.items()}
        yield from record_days(context, metadata)
        yield dg.MaterializeResult(check_results=combined_checks(outcomes))

    decorator = dg.asset(
        name=spec.table,
        group_name=GROUP,
        partitions_def=daily_partitions,
        backfill_policy=RANGE_BACKFILL_POLICY,
        automation_condition=FOLLOWS_UPSTREAM,
        deps=["events_part"],
        pool=WAREHOUSE_POOL,
        kinds=set(spec.kinds),
        check_specs=[
            dg.AssetCheckSpec(name, asset=spec.table, description=description)
            for name, description in spec.checks.items()
        ],
        description=spec.description,
    )
    if spec.table == "metrics_ab_tests":

        def ab_tests(context: dg.AssetExecutionContext, config: ExperimentsConfig, warehouse: WarehouseResource):
            yield from body(context, warehouse, experiments_file=config.experiments_file)

        return decorator(ab_tests)

    def metric(context: dg.AssetExecutionContext, warehouse: WarehouseResource):
        yield from body(context, warehouse)

    return decorator(metric)


(
    metrics_activity,
    metrics_top_events,
    metrics_lifecycle,
    metrics_retention_daily,
    metrics_retention_weekly,
    metrics_user_engagement,
    metrics_ab_tests,
    metrics_forecasts,
) = METRIC_TABLE_ASSETS = tuple(build_metric_asset(spec) for spec in METRIC_SPECS)


@dg.asset(
    group_name=GROUP,
    partitions_def=daily_partitions,
    backfill_policy=RANGE_BACKFILL_POLICY,
    automation_condition=FOLLOWS_UPSTREAM,
    deps=[spec.table for spec in METRIC_SPECS],
    pool=WAREHOUSE_POOL,
    kinds={"plotly", "parquet", "html"},
    description="The day's metric tables exported as CSV, XLSX and Parquet and a self-contained HTML dashboard, in "
    "the object store under `reports/metrics/<day>/`; recomputed with the metric days.",
)
def metrics_report(context: dg.AssetExecutionContext, warehouse: WarehouseResource, object_store: ObjectStoreResource):
    wh, states, demo = prepared_days(context, warehouse)
    store = object_store.store()
    metadata = {}
    for day, state in states.items():
        report = publish_report(wh, store, day, state, LATE_DAYS, is_demo=demo[day])
        context.log.info(f"{day} dashboard: {store.uri(report.dashboard_key)} ({state.label()})")
        metadata[day.isoformat()] = {
            "dagster/row_count": sum(report.rows.values()),
            "demo_data": demo[day],
            **state.as_metadata(),
            "dashboard": dg.MetadataValue.url(store.public_url(report.dashboard_key)),
            "xlsx": dg.MetadataValue.url(store.public_url(report.key(f"metrics_{day.isoformat()}.xlsx"))),
            "exports": dg.MetadataValue.md(
                "\n".join(f"- [{name}]({store.public_url(report.key(name))})" for name in sorted(report.files))
            ),
            **{name: dg.MetadataValue.md(table) for name, table in headline_tables(wh, day).items()},
            "files": len(report.files),
            "bytes": sum(report.files.values()),
            "rows_per_table": dg.MetadataValue.json(report.rows),
        }
        if (local := store.local_path(report.dashboard_key)) is not None:
            metadata[day.isoformat()]["dashboard_path"] = dg.MetadataValue.path(str(local))
    yield from record_days(context, metadata)
    yield dg.MaterializeResult()


# Every metric asset in pipeline order: what a day's metrics run materializes (tests and benchmarks select these).
METRIC_ASSETS = (*METRIC_TABLE_ASSETS, metrics_report)
