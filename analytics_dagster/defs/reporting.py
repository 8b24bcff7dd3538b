"""How an asset run over several days reports them: per-day metadata on each day's partition, and one result per
asset check covering every day of the run (Dagster records check results per run, not per partition)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any, Protocol

import dagster as dg


class DayOutcome(Protocol):
    passed: bool
    metadata: dict[str, Any]
    warn_only: bool


def record_days(
    context: dg.AssetExecutionContext,
    metadata_by_day: Mapping[str, dict],
    asset_key: dg.AssetKey | None = None,
    *,
    run_fails: bool = False,
) -> Iterator[dg.AssetMaterialization]:
    """Each day's metadata on its own partition. The run's partitions get it on their materialization; the other
    days the run recomputed (earlier metric days), and every stored day of a run about to fail (a failing step
    records no materialization of its outputs), get a materialization event of their own, which the asset body
    must yield: events are only recorded when the body yields or returns, never when it raises."""
    in_run = set() if run_fails else set(context.partition_keys)
    key = asset_key or context.asset_key
    for day, metadata in metadata_by_day.items():
        if day in in_run:
            context.add_asset_metadata(metadata, asset_key=key, partition_key=day)
        else:
            yield dg.AssetMaterialization(key, partition=day, metadata=metadata)


def combined_checks(outcomes_by_day: Mapping[str, Mapping[tuple[str, str], DayOutcome]]) -> list[dg.AssetCheckResult]:
    """One result per (asset, check) for the run: it passes when it passes on every day; it is an ERROR when it
    fails on a day where the check is not warn-only."""
    checks = dict.fromkeys(check for outcomes in outcomes_by_day.values() for check in outcomes)
    results = []
    for asset, name in checks:
        per_day = {
            day: outcomes[(asset, name)] for day, outcomes in outcomes_by_day.items() if (asset, name) in outcomes
        }
        failing = [day for day, outcome in per_day.items() if not outcome.passed]
        blocking = [day for day in failing if not per_day[day].warn_only]
        metadata: dict[str, Any] = {
            "days": f"{min(per_day)}..{max(per_day)}",
            "failing_days": ", ".join(failing) or "none",
        }
        if len(per_day) == 1:
            metadata.update(next(iter(per_day.values())).metadata)
        else:
            metadata["per_day"] = dg.MetadataValue.json({day: o.metadata for day, o in per_day.items()})
        results.append(
            dg.AssetCheckResult(
                asset_key=asset,
                check_name=name,
                passed=not failing,
                metadata=metadata,
                severity=dg.AssetCheckSeverity.ERROR if blocking else dg.AssetCheckSeverity.WARN,
            )
        )
    return results
