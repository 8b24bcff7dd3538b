"""Recovering from runs that died (kill -9 of `dagster asset materialize`, a run worker killed by the OOM killer).

Such a run stays STARTED for ever and keeps its pool slots, so every later DWH and metrics run would wait on
"blocked by limit for pool warehouse". Dagster's run monitoring cannot see it with the default run launcher (it
has no worker health check), so this module finds the process each run recorded ("pid" of its engine events),
and when that process is gone marks the run failed, frees its pool slots and removes its scratch folder.

It runs from the sensor ``dead_run_recovery`` (every minute under dagster-daemon) and from
``python -m analytics_dagster.recover`` (which `make run` calls first, for machines without the daemon).
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass

import dagster as dg

from analytics_dagster.defs.scratch import scratch_root
from analytics_dagster.lib.processes import process_alive

IN_PROGRESS = [dg.DagsterRunStatus.STARTING, dg.DagsterRunStatus.STARTED, dg.DagsterRunStatus.CANCELING]


@dataclass(frozen=True)
class RecoveredRun:
    run_id: str
    job_name: str
    pid: int
    partition: str | None

    def __str__(self) -> str:
        partition = f" (partition {self.partition})" if self.partition else ""
        return f"run {self.run_id} of {self.job_name}{partition}: process {self.pid} is gone"


def recorded_pids(instance: dg.DagsterInstance, run_id: str) -> list[int]:
    """The processes a run reported running in: the run worker's and its executor's."""
    records = instance.all_logs(run_id, of_type=dg.DagsterEventType.ENGINE_EVENT)
    pids = []
    for record in records:
        data = record.dagster_event.engine_event_data if record.dagster_event else None
        pid = data.metadata.get("pid") if data and data.metadata else None
        if pid is not None:
            pids.append(int(pid.value))
    return list(dict.fromkeys(pids))


def recover_dead_runs(instance: dg.DagsterInstance) -> list[RecoveredRun]:
    recovered = []
    for record in instance.get_run_records(dg.RunsFilter(statuses=IN_PROGRESS)):
        run = record.dagster_run
        pids = recorded_pids(instance, run.run_id)
        started = record.start_time or record.create_timestamp.timestamp()
        # A run that has not reported a process yet is still starting; run monitoring's start timeout covers it.
        if not pids or any(process_alive(pid, started) for pid in pids):
            continue
        dead = RecoveredRun(run.run_id, run.job_name, pids[-1], run.tags.get("dagster/partition"))
        instance.report_run_failed(run, f"Marked failed by dead-run recovery: {dead}")
        instance.event_log_storage.free_concurrency_slots_for_run(run.run_id)
        shutil.rmtree(scratch_root() / run.run_id, ignore_errors=True)
        recovered.append(dead)
    return recovered


@dg.sensor(
    name="dead_run_recovery",
    minimum_interval_seconds=60,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Marks runs whose process died as failed and frees their pool slots, so they never block later "
    "runs (see README, operations).",
)
def dead_run_recovery(context: dg.SensorEvaluationContext) -> dg.SkipReason:
    recovered = recover_dead_runs(context.instance)
    for run in recovered:
        context.log.warning(f"Recovered {run}")
    return dg.SkipReason(f"recovered {len(recovered)} dead runs" if recovered else "no dead runs")
