"""Alerts: a failed run, failed ERROR checks, a late day (a failed freshness check), and a run that repairs a failure.

Two run-status sensors read what they need from the instance: a failed run gives one message; a successful run gives
one message for its failed freshness checks, one for its other failed ERROR checks, and one recovery message when
the attempt before it (its parent, or the previous run of the same job, selection and partition) had failed.
Channels and secrets: defs/ops/resources.py.
"""

import dagster as dg

from analytics_dagster.defs.ops.resources import AlertChannelsResource
from analytics_dagster.defs.ops.runs import (
    CheckOutcome,
    describe_run,
    failed_error_checks,
    partition_of,
    previous_attempt,
)
from analytics_dagster.lib.ops.alerts import Alert, AlertKind, first_line, run_url
from analytics_dagster.lib.ops.freshness import day_due_at

LATEST_CRON_TICK = "dagster/latest_cron_tick_timestamp"  # metadata of Dagster's freshness check results


def _error_line(context: dg.RunFailureSensorContext) -> str | None:
    for event in context.get_step_failure_events():
        error = event.step_failure_data.error
        # A user error is wrapped in Dagster's "Error occurred while executing..."; the cause says what went wrong.
        while error is not None and error.cause is not None and error.cls_name.startswith("Dagster"):
            error = error.cause
        if error is not None:
            return first_line(error.message)
    return first_line(context.failure_event.message)


@dg.run_failure_sensor(
    name="alert_on_run_failure",
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Posts one message per failed run: what failed, its partition, the error's first line, a link.",
)
def alert_on_run_failure(context: dg.RunFailureSensorContext, alert_channels: AlertChannelsResource) -> None:
    run = context.dagster_run
    failed_steps = sorted({e.step_key for e in context.get_step_failure_events() if e.step_key})
    items = [f"failed step {step}" for step in failed_steps]
    items += [f"failed check {c}" for c in failed_error_checks(context.instance, run.run_id)]
    alert = Alert(
        AlertKind.RUN_FAILED,
        subject=describe_run(run),
        partition=partition_of(run),
        detail=_error_line(context),
        items=tuple(items),
        run_url=run_url(alert_channels.ui_base_url, run.run_id),
    )
    alert_channels.send(alert, context.log)


def _late_alert(late: list[CheckOutcome], url: str | None) -> Alert:
    ticks = {c.metadata[LATEST_CRON_TICK] for c in late if LATEST_CRON_TICK in c.metadata}
    days = sorted({day_due_at(tick).isoformat() for tick in ticks})
    return Alert(
        AlertKind.LATE,
        subject=f"{len(late)} assets missed their freshness deadline",
        partition=", ".join(days) or None,
        detail="The day is not materialized by its group's deadline (FRESHNESS_DEADLINE_<GROUP>).",
        items=tuple(c.asset.to_user_string() for c in late),
        run_url=url,
    )


def _checks_alert(failed: list[CheckOutcome], run: dg.DagsterRun, url: str | None) -> Alert:
    partitions = sorted({c.partition for c in failed if c.partition})
    return Alert(
        AlertKind.CHECK_FAILED,
        subject=f"{len(failed)} ERROR checks failed in {describe_run(run)}",
        partition=", ".join(partitions) or partition_of(run),
        items=tuple(str(c) for c in failed),
        run_url=url,
    )


@dg.run_status_sensor(
    run_status=dg.DagsterRunStatus.SUCCESS,
    name="alert_on_failed_checks_and_recovery",
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="After a successful run: one message for late days (failed freshness checks), one for other failed "
    "ERROR checks, and one recovery message when the attempt before it had failed.",
)
def alert_on_failed_checks_and_recovery(context: dg.RunStatusSensorContext, alert_channels: AlertChannelsResource):
    run = context.dagster_run
    url = run_url(alert_channels.ui_base_url, run.run_id)
    failed = failed_error_checks(context.instance, run.run_id)
    late = [c for c in failed if c.is_freshness]
    other = [c for c in failed if not c.is_freshness]
    if late:
        alert_channels.send(_late_alert(late, url), context.log)
    if other:
        alert_channels.send(_checks_alert(other, run, url), context.log)
    previous = previous_attempt(context.instance, run)
    if previous is not None and previous.status == dg.DagsterRunStatus.FAILURE:
        recovered = Alert(
            AlertKind.RECOVERED,
            subject=f"{describe_run(run)} succeeded after the failed run {previous.run_id[:8]}",
            partition=partition_of(run),
            run_url=url,
        )
        alert_channels.send(recovered, context.log)
