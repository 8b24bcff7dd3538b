"""What the Dagster instance says about a run: its partition, its asset check results, the attempt before it."""

from __future__ import annotations

from dataclasses import dataclass

import dagster as dg
from dagster._core.events import DagsterEventType
from dagster._core.storage.tags import (
    ASSET_PARTITION_RANGE_END_TAG,
    ASSET_PARTITION_RANGE_START_TAG,
    PARTITION_NAME_TAG,
)

FRESHNESS_CHECK_NAME = "freshness_check"  # the name Dagster's freshness check factories give their checks
PARTITION_TAGS = (PARTITION_NAME_TAG, ASSET_PARTITION_RANGE_START_TAG, ASSET_PARTITION_RANGE_END_TAG)
# How far back to look for the attempt a successful run may have repaired.
PREVIOUS_RUNS_SCANNED = 50


def partition_of(run: dg.DagsterRun) -> str | None:
    """``2026-01-05`` for a one-partition run, ``2026-01-01..2026-01-07`` for a range, None when unpartitioned."""
    if run.tags.get(PARTITION_NAME_TAG):
        return run.tags[PARTITION_NAME_TAG]
    start, end = run.tags.get(ASSET_PARTITION_RANGE_START_TAG), run.tags.get(ASSET_PARTITION_RANGE_END_TAG)
    if start and end:
        return start if start == end else f"{start}..{end}"
    return None


def describe_run(run: dg.DagsterRun) -> str:
    """``run daily_pipeline``, or the assets an ad-hoc asset job materialized."""
    if run.job_name.startswith("__") and run.asset_selection:  # the UI's (and tests') ad-hoc asset jobs
        keys = sorted(k.to_user_string() for k in run.asset_selection)
        shown = ", ".join(keys[:4]) + (f" and {len(keys) - 4} more" if len(keys) > 4 else "")
        return f"run of {shown}"
    return f"run {run.job_name}"


@dataclass(frozen=True)
class CheckOutcome:
    asset: dg.AssetKey
    check: str
    passed: bool
    severity: str
    description: str | None
    partition: str | None
    timestamp: float
    metadata: dict

    @property
    def is_freshness(self) -> bool:
        return self.check == FRESHNESS_CHECK_NAME

    def __str__(self) -> str:
        where = f" [{self.partition}]" if self.partition else ""
        why = f": {self.description.splitlines()[0]}" if self.description else ""
        return f"{self.asset.to_user_string()}:{self.check}{where}{why}"


def check_outcomes(instance: dg.DagsterInstance, run_id: str) -> list[CheckOutcome]:
    outcomes = []
    for record in instance.all_logs(run_id, of_type=DagsterEventType.ASSET_CHECK_EVALUATION):
        evaluation = record.dagster_event.asset_check_evaluation_data
        outcomes.append(
            CheckOutcome(
                asset=evaluation.asset_key,
                check=evaluation.check_name,
                passed=evaluation.passed,
                severity=evaluation.severity.value,
                description=evaluation.description,
                partition=evaluation.partition,
                timestamp=record.timestamp,
                metadata={k: v.value for k, v in evaluation.metadata.items()},
            )
        )
    return outcomes


def failed_error_checks(instance: dg.DagsterInstance, run_id: str) -> list[CheckOutcome]:
    return [c for c in check_outcomes(instance, run_id) if not c.passed and c.severity == "ERROR"]


def _same_work(a: dg.DagsterRun, b: dg.DagsterRun) -> bool:
    return (
        a.job_name == b.job_name
        and a.asset_selection == b.asset_selection
        and a.asset_check_selection == b.asset_check_selection
        and all(a.tags.get(tag) == b.tags.get(tag) for tag in PARTITION_TAGS)
    )


def previous_attempt(instance: dg.DagsterInstance, run: dg.DagsterRun) -> dg.DagsterRun | None:
    """The run this one repeats: its parent when it is a re-execution, otherwise the newest earlier run of the same
    job, selection and partition(s)."""
    if run.parent_run_id:
        return instance.get_run_by_id(run.parent_run_id)
    partition_tags = {tag: run.tags[tag] for tag in PARTITION_TAGS if tag in run.tags}
    earlier = False
    runs = instance.get_runs(dg.RunsFilter(job_name=run.job_name, tags=partition_tags), limit=PREVIOUS_RUNS_SCANNED)
    for candidate in runs:
        if candidate.run_id == run.run_id:
            earlier = True
        elif earlier and _same_work(candidate, run):
            return candidate
    return None
