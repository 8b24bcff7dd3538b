"""Scratch space of a run: a folder per run and step under the data folder, removed when the step ends, and the
folders of runs that died (kill -9, a lost machine) removed when the next step starts."""

from __future__ import annotations

import contextlib
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import dagster as dg

from analytics_dagster.lib.settings import data_dir


def scratch_root() -> Path:
    return data_dir() / "scratch"


def remove_stale_scratch(instance: dg.DagsterInstance, root: Path | None = None) -> list[str]:
    """Removes the scratch folders of runs that are finished or unknown to the instance; returns their run ids."""
    root = root or scratch_root()
    removed = []
    for folder in sorted(root.iterdir()) if root.is_dir() else ():
        run = instance.get_run_by_id(folder.name)
        if run is None or run.is_finished:
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
