"""A stored metric day's check verdicts and warehouse typing, without Dagster (lib/metrics/stored_day.py)."""

from __future__ import annotations

import datetime as dt

import pandas as pd

from analytics_dagster.lib.day_state import DayState, DayStatus, UploadDay
from analytics_dagster.lib.metrics.stored_day import day_state_outcome, warehouse_typed

DAY = dt.date(2026, 3, 9)


def _state(status: DayStatus, *not_loaded: UploadDay) -> DayState:
    return DayState(DAY, status, (DAY, DAY + dt.timedelta(days=3)), ("amplitude",), 10, not_loaded)


def test_only_a_final_day_passes_and_only_an_incomplete_one_is_an_error():
    pending = UploadDay("amplitude", DAY + dt.timedelta(days=2), "pending")
    missing = UploadDay("amplitude", DAY, "missing")
    final = day_state_outcome(_state(DayStatus.FINAL))
    assert final.passed and final.metadata["day_state"] == "final"
    preliminary = day_state_outcome(_state(DayStatus.PRELIMINARY, pending))
    assert not preliminary.passed and preliminary.warn_only
    assert preliminary.metadata["pending_upload_days"] == str(pending)
    incomplete = day_state_outcome(_state(DayStatus.INCOMPLETE, missing))
    assert not incomplete.passed and not incomplete.warn_only
    no_data = day_state_outcome(_state(DayStatus.NO_DATA))
    assert not no_data.passed and no_data.warn_only


def test_integer_columns_with_nulls_stay_integers_for_the_warehouse():
    frame = pd.DataFrame({"exposures": [4, None], "lift": [0.5, None], "variant": ["a", "b"]})
    typed = warehouse_typed(frame)
    assert str(typed["exposures"].dtype) == "Int64" and typed["exposures"].astype(str).tolist() == ["4", "<NA>"]
    assert str(typed["lift"].dtype) == "Float64"
