"""``python -m analytics_dagster.recover``: marks runs whose process died as failed and frees their pool slots
(what the ``dead_run_recovery`` sensor does every minute under dagster-daemon). `make run` calls it first."""

import sys

import dagster as dg

from analytics_dagster.defs.ops.recovery import recover_dead_runs


def main() -> int:
    with dg.DagsterInstance.get() as instance:
        recovered = recover_dead_runs(instance)
    for run in recovered:
        print(f"recovered {run}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
