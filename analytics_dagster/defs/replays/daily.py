"""What every replay asset shares: its partitions and automation, and the loop over the days of a run."""

from collections.abc import Callable, Iterator
from dataclasses import dataclass

import dagster as dg

from analytics_dagster.defs.automation import FOLLOWS_UPSTREAM
from analytics_dagster.defs.partitions import RANGE_BACKFILL_POLICY, daily_partitions
from analytics_dagster.defs.reporting import combined_checks, record_days

GROUP = "replays"
# What a replay asset yields: one result for a one-day run, a materialization per day over a range.
DayResults = Iterator[dg.MaterializeResult | dg.AssetMaterialization]


def replay_asset(*, checks: dict[str, str] | None = None, **spec) -> Callable:
    """``dg.asset`` with what every replay asset shares: daily partitions, range runs, automation and group.
    ``checks``: the asset's checks, name -> description."""

    def decorate(materialize: Callable) -> dg.AssetsDefinition:
        return dg.asset(
            partitions_def=daily_partitions,
            backfill_policy=RANGE_BACKFILL_POLICY,
            automation_condition=FOLLOWS_UPSTREAM,
            group_name=GROUP,
            check_specs=[
                dg.AssetCheckSpec(name, asset=materialize.__name__, description=description)
                for name, description in (checks or {}).items()
            ],
            **spec,
        )(materialize)

    return decorate


@dataclass(frozen=True)
class _CheckOutcome:
    """One day's result of a check, in the shape defs/reporting.combined_checks takes."""

    passed: bool
    metadata: dict
    warn_only: bool


def _combined_checks(asset_key: dg.AssetKey, results: dict[str, dg.MaterializeResult]) -> list[dg.AssetCheckResult]:
    return combined_checks(
        {
            day: {
                (asset_key, check.check_name): _CheckOutcome(
                    check.passed,
                    # Plain values: combined_checks puts them into JSON metadata.
                    {name: value.value for name, value in check.metadata.items()},
                    check.severity == dg.AssetCheckSeverity.WARN,
                )
                for check in result.check_results or ()
            }
            for day, result in results.items()
        }
    )


def each_day(context: dg.AssetExecutionContext, materialize_day: Callable[[str], dg.MaterializeResult]) -> DayResults:
    """Runs ``materialize_day`` for each day of the run, oldest first. A one-day run yields that day's result
    unchanged. Over a range, every day is attempted and gets its own metadata; when some fail, the days that
    succeeded are recorded as materialized before the run fails, so a retry only needs the failed days (a
    generator: events are recorded only when the body yields, never when it raises)."""
    days = list(context.partition_keys)
    if len(days) == 1:
        yield materialize_day(days[0])
        return
    results: dict[str, dg.MaterializeResult] = {}
    failures: dict[str, Exception] = {}
    for day in days:
        try:
            results[day] = materialize_day(day)
        except Exception as error:  # every day is attempted; the failures are reported together below
            failures[day] = error
            context.log.error(f"{context.asset_key.to_user_string()} {day} failed: {error}")
    metadata = {day: dict(result.metadata or {}) for day, result in results.items()}
    if failures:
        yield from record_days(context, metadata, run_fails=True)
        summary = "; ".join(f"{day}: {error}" for day, error in failures.items())
        raise dg.Failure(
            description=f"{len(failures)} of {len(days)} days failed ({summary})",
            metadata={"failed_days": sorted(failures), "materialized_days": sorted(results)},
        ) from next(iter(failures.values()))
    yield from record_days(context, metadata)
    yield dg.MaterializeResult(check_results=_combined_checks(context.asset_key, results))
