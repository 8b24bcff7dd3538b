"""The day-state rules (lib/day_state.py): a day is final only when every upload day of its window is loaded for
every configured source; pending later uploads make it preliminary, a gap or a failed load incomplete, and a day
without events is 'no data', never final."""

import datetime as dt

import pytest

from analytics_dagster.lib.day_state import DayStatus, day_state, metric_days_touched

DAY = dt.date(2026, 11, 17)
SOURCES = ("amplitude", "appmetrica")


def days(first: int, last: int) -> set[dt.date]:
    return {dt.date(2026, 11, d) for d in range(first, last + 1)}


def loaded(first: int, last: int) -> dict[str, set[dt.date]]:
    return {source: days(first, last) for source in SOURCES}


def test_final_when_every_upload_day_of_every_source_is_loaded():
    state = day_state(DAY, loaded(10, 25), events=660, late_days=3)
    assert state.status is DayStatus.FINAL and state.is_final
    assert state.not_loaded == ()
    assert "2026-11-17..2026-11-20" in state.detail()


def test_preliminary_while_later_upload_days_are_still_to_come():
    state = day_state(DAY, loaded(10, 18), events=400, late_days=3)
    assert state.status is DayStatus.PRELIMINARY
    assert {(u.source, u.day.day, u.reason) for u in state.pending} == {
        (s, d, "pending") for s in SOURCES for d in (19, 20)
    }
    assert state.missing == ()


def test_incomplete_names_the_missing_upload_days_of_a_backfill_that_skipped_them():
    # The case: a backfill of 11-20..21 computed metric day 11-17, whose upload days 17..19 were never loaded.
    state = day_state(DAY, loaded(20, 21), events=22, late_days=3)
    assert state.status is DayStatus.INCOMPLETE
    assert {(u.source, u.day.day) for u in state.missing} == {(s, d) for s in SOURCES for d in (17, 18, 19)}
    assert "amplitude 2026-11-17 (missing)" in state.detail()


def test_a_failed_load_makes_the_day_incomplete_even_when_older_data_is_loaded():
    state = day_state(DAY, loaded(10, 25), events=660, late_days=3, failed={"appmetrica": days(19, 19)})
    assert state.status is DayStatus.INCOMPLETE
    assert [str(u) for u in state.missing] == ["appmetrica 2026-11-19 (failed)"]


def test_one_source_behind_the_other_keeps_the_day_preliminary_not_final():
    state = day_state(DAY, {"amplitude": days(10, 25), "appmetrica": days(10, 18)}, events=500, late_days=3)
    assert state.status is DayStatus.PRELIMINARY
    assert {u.source for u in state.pending} == {"appmetrica"}


@pytest.mark.parametrize("uploads", [{}, loaded(10, 25), loaded(20, 21)])
def test_a_day_without_events_is_no_data_never_final(uploads):
    state = day_state(DAY, {s: uploads.get(s, set()) for s in SOURCES}, events=0, late_days=3)
    assert state.status is DayStatus.NO_DATA and not state.is_final
    assert state.as_metadata()["day_state"] == "no data"
    assert state.as_metadata()["figures_final"] is False


def test_metadata_is_the_same_keys_for_every_state():
    keys = {
        frozenset(day_state(DAY, u, events=e, late_days=3).as_metadata())
        for u, e in ((loaded(10, 25), 1), (loaded(10, 18), 1), (loaded(20, 21), 1), (loaded(10, 25), 0))
    }
    assert len(keys) == 1


def test_a_range_of_upload_days_touches_the_metric_days_late_events_reach_back_to():
    assert metric_days_touched(dt.date(2026, 11, 20), dt.date(2026, 11, 21), 3, dt.date(2026, 1, 1)) == [
        dt.date(2026, 11, d) for d in range(17, 22)
    ]
    # never before the first partition
    assert metric_days_touched(dt.date(2026, 1, 2), dt.date(2026, 1, 2), 3, dt.date(2026, 1, 1)) == [
        dt.date(2026, 1, 1),
        dt.date(2026, 1, 2),
    ]


def test_metric_days_already_computed_after_the_range_are_recomputed_too():
    # Filling a gap before days already computed: their windows and "new user" reach back into the gap.
    computed = [dt.date(2026, 11, d) for d in (5, 12, 13, 20)]
    assert metric_days_touched(dt.date(2026, 11, 10), dt.date(2026, 11, 11), 3, dt.date(2026, 1, 1), computed) == [
        *(dt.date(2026, 11, d) for d in range(7, 12)),
        dt.date(2026, 11, 12),
        dt.date(2026, 11, 13),
        dt.date(2026, 11, 20),
    ]
