"""Daily forecasts with 95% prediction intervals, chosen by a backtest against the seasonal-naive forecast.

* 35+ days of history: Holt-Winters exponential smoothing (additive damped trend, additive weekly seasonality,
  statsmodels) and the seasonal-naive forecast are both backtested on the last ``BACKTEST_DAYS`` days (fitted on
  the days before); the one with the lower MASE makes the forecast. Holt-Winters intervals come from simulating
  the fitted model (``SIMULATIONS`` paths, fixed seed).
* 14..34 days: seasonal naive (the value of the same weekday a week earlier), intervals from its residuals
  (``sigma * sqrt(k + 1)`` for the k-th week ahead, Hyndman & Athanasopoulos, FPP3 5.5).
* 2..13 days: naive (the last value), ``sigma * sqrt(h)``.
MASE = mean absolute error of the backtest forecast / in-sample mean absolute error of the seasonal-naive
one-week-ahead forecast on the fitting days; below 1 beats the seasonal-naive benchmark's typical error.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

SEASON = 7
BACKTEST_DAYS = 14
MIN_HOLT_WINTERS_DAYS = BACKTEST_DAYS + 3 * SEASON  # three weeks to fit on before the backtest window
MIN_SEASONAL_DAYS = 2 * SEASON
SIMULATIONS = 1000
SEED = 20250101
Z_95 = float(stats.norm.ppf(0.975))


@dataclass
class Forecast:
    dates: pd.DatetimeIndex
    mean: np.ndarray
    lower: np.ndarray
    upper: np.ndarray
    method: str  # 'holt_winters', 'seasonal_naive' or 'naive'
    history_days: int
    mase_holt_winters: float | None = None
    mase_seasonal_naive: float | None = None

    def frame(self) -> pd.DataFrame:
        return pd.DataFrame(
            {
                "forecast_date": self.dates.date,
                "horizon_days": np.arange(1, len(self.dates) + 1),
                "forecast": self.mean,
                "lower_95": self.lower,
                "upper_95": self.upper,
                "method": self.method,
                "history_days": self.history_days,
                "mase_holt_winters": self.mase_holt_winters,
                "mase_seasonal_naive": self.mase_seasonal_naive,
            }
        )


def seasonal_naive(history: np.ndarray, horizon: int, season: int = SEASON) -> tuple[np.ndarray, np.ndarray]:
    """Point forecast and the standard deviation of its error for each step ahead."""
    last_season = history[-season:]
    steps = np.arange(horizon)
    mean = last_season[steps % season]
    residuals = history[season:] - history[:-season]
    sigma = math.sqrt(np.mean(residuals**2)) if len(residuals) else 0.0
    if season == 1:
        return mean, sigma * np.sqrt(steps + 1)
    return mean, sigma * np.sqrt(steps // season + 1)


def mase(actual: np.ndarray, predicted: np.ndarray, training: np.ndarray, season: int = SEASON) -> float | None:
    scale = np.mean(np.abs(training[season:] - training[:-season]))
    if not scale > 0:
        return None
    return float(np.mean(np.abs(actual - predicted)) / scale)


def _holt_winters(history: np.ndarray):
    from statsmodels.tsa.holtwinters import ExponentialSmoothing

    model = ExponentialSmoothing(
        history,
        trend="add",
        damped_trend=True,
        seasonal="add",
        seasonal_periods=SEASON,
        initialization_method="estimated",
    )
    with warnings.catch_warnings():
        # Convergence chatter on short, flat series; the backtest judges the fit anyway.
        warnings.simplefilter("ignore")
        return model.fit()


def _holt_winters_forecast(history: np.ndarray, horizon: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    fitted = _holt_winters(history)
    mean = np.asarray(fitted.forecast(horizon), dtype=float)
    paths = np.asarray(
        fitted.simulate(horizon, repetitions=SIMULATIONS, error="add", rng=np.random.default_rng(SEED)), dtype=float
    ).reshape(horizon, SIMULATIONS)
    lower, upper = np.percentile(paths, [2.5, 97.5], axis=1)
    return mean, lower, upper


def forecast_series(history: pd.Series, horizon: int) -> Forecast | None:
    """``history``: daily values indexed by consecutive dates (missing days already filled). None when < 2 days."""
    values = history.to_numpy(dtype=float)
    n = len(values)
    if n < 2:
        return None
    dates = pd.date_range(pd.Timestamp(history.index[-1]) + pd.Timedelta(days=1), periods=horizon, freq="D")
    if n < MIN_SEASONAL_DAYS:
        mean, sigma = seasonal_naive(values, horizon, season=1)
        return _clipped(dates, mean, mean - Z_95 * sigma, mean + Z_95 * sigma, "naive", n)
    sn_mean, sn_sigma = seasonal_naive(values, horizon)
    sn = (sn_mean, sn_mean - Z_95 * sn_sigma, sn_mean + Z_95 * sn_sigma)
    if n < MIN_HOLT_WINTERS_DAYS:
        return _clipped(dates, *sn, "seasonal_naive", n)

    training, actual = values[:-BACKTEST_DAYS], values[-BACKTEST_DAYS:]
    mase_sn = mase(actual, seasonal_naive(training, BACKTEST_DAYS)[0], training)
    mase_hw = mase(actual, np.asarray(_holt_winters(training).forecast(BACKTEST_DAYS), dtype=float), training)
    if mase_hw is not None and mase_sn is not None and mase_hw <= mase_sn:
        forecast = _clipped(dates, *_holt_winters_forecast(values, horizon), "holt_winters", n)
    else:
        forecast = _clipped(dates, *sn, "seasonal_naive", n)
    forecast.mase_holt_winters, forecast.mase_seasonal_naive = mase_hw, mase_sn
    return forecast


def _clipped(dates, mean, lower, upper, method: str, n: int) -> Forecast:
    # Counts cannot go below zero; the interval is clipped the same way.
    return Forecast(
        dates=dates,
        mean=np.clip(mean, 0, None),
        lower=np.clip(lower, 0, None),
        upper=np.clip(upper, 0, None),
        method=method,
        history_days=n,
    )


def complete_daily(series: pd.DataFrame, first_day, last_day) -> pd.Series:
    """Values of one series (columns event_date, value) on every day first_day..last_day, 0 where absent."""
    index = pd.date_range(pd.Timestamp(first_day), pd.Timestamp(last_day), freq="D")
    values = series.assign(event_date=pd.to_datetime(series["event_date"])).set_index("event_date")["value"]
    return values.reindex(index, fill_value=0.0).astype(float)
