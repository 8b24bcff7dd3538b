"""Freshness: the previous Moscow day of every daily asset must be materialized by its group's deadline.

Dagster's time-partition freshness checks do the evaluation (one ``freshness_check`` per asset, ERROR severity so a
late day is red in the UI and reaches the check alerts), and its freshness sensor runs them after each deadline.
Deadlines are ``FRESHNESS_DEADLINE_<GROUP>`` (``HH:MM`` Moscow; see .env.example).
"""

import warnings

import dagster as dg
from dagster_shared.utils.warnings import SupersessionWarning

from analytics_dagster.defs.ops.groups import GROUP_ASSETS
from analytics_dagster.lib.ops.freshness import MOSCOW
from analytics_dagster.settings import OpsSettings

DEADLINES = OpsSettings.read().deadlines()

# Dagster suggests FreshnessPolicy instead; a policy is attached to the asset definitions (the stages' code) and
# shows as a freshness state, not as the failing check this platform alerts on, so the check factories stay.
with warnings.catch_warnings():
    warnings.simplefilter("ignore", SupersessionWarning)
    freshness_checks = [
        check
        for group, keys in GROUP_ASSETS.items()
        if keys
        for check in dg.build_time_partition_freshness_checks(
            assets=keys,
            deadline_cron=DEADLINES[group].cron,
            timezone=str(MOSCOW),
            severity=dg.AssetCheckSeverity.ERROR,
        )
    ]
    freshness_checks_sensor = dg.build_sensor_for_freshness_checks(
        freshness_checks=freshness_checks,
        name="freshness_checks_sensor",
        minimum_interval_seconds=300,
        default_status=dg.DefaultSensorStatus.RUNNING,
    )
