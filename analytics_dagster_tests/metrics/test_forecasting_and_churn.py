"""Forecasts (methods, intervals, backtest with MASE) and the churn model's time-ordered training."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from analytics_dagster.lib.metrics.churn_model import (
    MIN_HISTORY_DAYS,
    TRAINING_SNAPSHOTS,
    fit_churn_model,
    has_enough_history,
    snapshot_plan,
)
from analytics_dagster.lib.metrics.forecasting import (
    BACKTEST_DAYS,
    complete_daily,
    forecast_series,
    mase,
    seasonal_naive,
)
from analytics_dagster.lib.metrics.rules import CHURN_HORIZON_DAYS


def weekly_series(days: int, noise: float, seed: int = 1) -> pd.Series:
    rng = np.random.default_rng(seed)
    t = np.arange(days)
    values = 1000 + 3 * t + np.tile([0, 40, 60, 50, 30, -250, -300], days // 7 + 1)[:days] + rng.normal(0, noise, days)
    return pd.Series(values, index=pd.date_range("2026-01-01", periods=days, freq="D"))


def test_seasonal_naive_repeats_last_week_with_widening_intervals():
    history = weekly_series(21, noise=10).to_numpy()
    mean, sigma = seasonal_naive(history, 15)
    assert np.array_equal(mean, np.concatenate([history[-7:], history[-7:], history[-7:-6]]))
    residuals = history[7:] - history[:-7]
    base = np.sqrt(np.mean(residuals**2))
    assert np.allclose(sigma, base * np.sqrt([1] * 7 + [2] * 7 + [3]))


def test_mase_is_backtest_error_over_in_sample_seasonal_naive_error():
    training = np.array([10, 12, 14, 11, 9, 5, 4, 11, 13, 15, 12, 10, 6, 5], dtype=float)
    actual, predicted = np.array([12.0, 14.0]), np.array([11.0, 16.0])
    scale = np.mean(np.abs(training[7:] - training[:7]))
    assert mase(actual, predicted, training) == pytest.approx(1.5 / scale)
    assert mase(actual, predicted, np.ones(14)) is None


def test_holt_winters_beats_seasonal_naive_on_trending_weekly_data():
    history = weekly_series(91, noise=15)
    forecast = forecast_series(history, 30)
    assert forecast.method == "holt_winters"
    assert forecast.mase_holt_winters < forecast.mase_seasonal_naive
    frame = forecast.frame()
    assert list(frame["horizon_days"]) == list(range(1, 31))
    assert frame["forecast_date"].iloc[0] == dt.date(2026, 4, 2)
    assert ((frame["lower_95"] <= frame["forecast"]) & (frame["forecast"] <= frame["upper_95"])).all()
    # The weekly pattern carries on: the forecast dips on the weekday the history dips.
    forecast_dip = frame.groupby(pd.to_datetime(frame["forecast_date"]).dt.weekday)["forecast"].mean().idxmin()
    assert forecast_dip == history.groupby(history.index.weekday).mean().idxmin()


def test_interval_covers_held_out_days_about_95_percent():
    covered = total = 0
    for seed in range(8):
        series = weekly_series(70 + 28, noise=25, seed=seed)
        forecast = forecast_series(series.iloc[:70], 28)
        actual = series.iloc[70:].to_numpy()
        covered += int(((forecast.lower <= actual) & (actual <= forecast.upper)).sum())
        total += len(actual)
    assert 0.85 <= covered / total <= 1.0


@pytest.mark.parametrize(
    "days, method",
    [(1, None), (5, "naive"), (13, "naive"), (14, "seasonal_naive"), (BACKTEST_DAYS + 20, "seasonal_naive")],
)
def test_short_histories_fall_back(days, method):
    forecast = forecast_series(weekly_series(days, noise=5), 10)
    if method is None:
        assert forecast is None
    else:
        assert forecast.method == method and forecast.mase_holt_winters is None
        assert (forecast.lower <= forecast.mean).all() and (forecast.mean <= forecast.upper).all()


def test_complete_daily_fills_missing_days_with_zero():
    rows = pd.DataFrame({"event_date": [dt.date(2026, 1, 2), dt.date(2026, 1, 4)], "value": [5.0, 7.0]})
    filled = complete_daily(rows, dt.date(2026, 1, 1), dt.date(2026, 1, 5))
    assert filled.tolist() == [0.0, 5.0, 0.0, 7.0, 0.0]


def test_snapshot_plan_never_trains_on_labels_from_the_holdout_window():
    day = dt.date(2026, 3, 31)
    plan = snapshot_plan(day)
    assert plan.holdout_day == day - dt.timedelta(days=CHURN_HORIZON_DAYS)
    assert len(plan.backtest_days) == len(plan.final_days) == TRAINING_SNAPSHOTS
    # Backtest labels (snapshot + 1 .. + 7) end by the holdout day; final labels end by the metric day.
    assert max(plan.backtest_days) + dt.timedelta(days=CHURN_HORIZON_DAYS) <= plan.holdout_day
    assert max(plan.final_days) + dt.timedelta(days=CHURN_HORIZON_DAYS) <= day
    assert has_enough_history(day, day - dt.timedelta(days=MIN_HISTORY_DAYS))
    assert not has_enough_history(day, day - dt.timedelta(days=MIN_HISTORY_DAYS - 1))
    assert not has_enough_history(day, None)


def _synthetic_users(snapshot: dt.date, rng) -> pd.DataFrame:
    n = 300
    since = rng.integers(0, 30, n)
    active = np.maximum(1, rng.integers(1, 25, n) - since // 2)
    return pd.DataFrame(
        {
            "user_key": [f"u{i}" for i in range(n)],
            "events": active * 5,
            "active_days": active,
            "active_days_last_7": np.minimum(active, 7) * (since < 7),
            "sessions": active * 2,
            "days_since_last_activity": since,
            "engagement_score": active / 30,
        }
    )


def test_churn_model_scores_a_learnable_signal_and_logs_its_backtest():
    day = dt.date(2026, 3, 31)
    rng = np.random.default_rng(5)
    frames = {}

    def features_as_of(snapshot):
        frames[snapshot] = _synthetic_users(snapshot, rng)
        return frames[snapshot]

    def active_between(first, last):
        frame = frames[first - dt.timedelta(days=1)]
        # Users who were recently active come back; long-inactive ones mostly do not.
        returns = rng.random(len(frame)) < np.exp(-frame["days_since_last_activity"].to_numpy() / 4)
        return set(frame["user_key"][returns])

    current = _synthetic_users(day, rng)
    result = fit_churn_model(day, day - dt.timedelta(days=60), current, features_as_of, active_between)
    assert result.status == "fitted"
    assert result.metadata["churn_model_roc_auc_holdout"] > 0.75
    assert sorted(frames) == sorted(set(snapshot_plan(day).backtest_days) | set(snapshot_plan(day).final_days))
    probabilities = result.probabilities.reindex(current["user_key"])
    assert probabilities.between(0, 1).all()
    inactive = current["days_since_last_activity"] >= 10
    assert probabilities[inactive.to_numpy()].mean() > probabilities[(~inactive).to_numpy()].mean()


def test_churn_model_needs_both_classes():
    day = dt.date(2026, 3, 31)
    rng = np.random.default_rng(6)
    result = fit_churn_model(
        day,
        day - dt.timedelta(days=60),
        _synthetic_users(day, rng),
        lambda snapshot: _synthetic_users(snapshot, rng),
        lambda first, last: {f"u{i}" for i in range(300)},
    )
    assert result.probabilities is None
    assert "needs 20 of each" in result.status
