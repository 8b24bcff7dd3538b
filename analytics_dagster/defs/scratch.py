"""Scratch space of a run: a folder per run and step under the data folder, removed when the step ends, and the
folders of runs that died (kill -9, a lost machine) removed when the next step starts."""

from __future__ import annotations

import contextlib
import datetime as dt
import shutil
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import dagster as dg

from analytics_dagster.settings import data_dir


def scratch_root() -> Path:
    return data_dir() / "scratch"


# A folder of a run this instance does not know (another instance sharing the data folder, a wiped run storage) is
# left alone this long: it may belong to a run that is still working.
UNKNOWN_RUN_GRACE = dt.timedelta(days=1)


def remove_stale_scratch(instance: dg.DagsterInstance, root: Path | None = None) -> list[str]:
    """Removes the scratch folders of finished runs, and of unknown runs untouched for a day; returns their ids."""
    root = root or scratch_root()
    removed = []
    stale_before = time.time() - UNKNOWN_RUN_GRACE.total_seconds()
    for folder in sorted(root.iterdir()) if root.is_dir() else ():
        run = instance.get_run_by_id(folder.name)
        if (run is not None and run.is_finished) or (run is None and folder.stat().st_mtime < stale_before):
            shutil.rmtree(folder, ignore_errors=True)
            removed.append(folder.name)
    return removed


@contextmanager
def run_scratch(context: dg.AssetExecutionContext) -> Iterator[Path]:
    removed = remove_stale_scratch(context.instance)
    if removed:
        context.log.info(f"Removed the scratch folders of {len(removed)} ended runs: {', '.join(removed[:5])}")
    path = scratch_root() / context.run_id / context.op.name
    path.mkdir(parents=True, exist_ok=True)
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)
        with contextlib.suppress(OSError):  # another step of the run may still use it
            path.parent.rmdir()
