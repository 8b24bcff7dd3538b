"""Is a run's process still alive? Plain process facts (psutil), kept apart from Dagster."""

from __future__ import annotations

import psutil

# A process created this long after the run started cannot be the run's own (the pid was reused).
PID_REUSE_SLACK_S = 5.0


def process_alive(pid: int, run_started_at: float | None) -> bool:
    """True when ``pid`` runs and was created no later than the run's start (epoch seconds), if known."""
    try:
        process = psutil.Process(pid)
        if process.status() == psutil.STATUS_ZOMBIE:
            return False
        created = process.create_time()
    except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
        return False
    return run_started_at is None or created <= run_started_at + PID_REUSE_SLACK_S
