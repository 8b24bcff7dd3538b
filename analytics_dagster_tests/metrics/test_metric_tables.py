"""Every metric table, materialized by its asset on the multi-week test dataset, equals the plain pandas
reference computation (analytics_dagster_tests/metrics/reference.py)."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from analytics_dagster.lib.metrics.forecasting import complete_daily, forecast_series
from analytics_dagster.lib.metrics.rules import FORECAST_HORIZON_DAYS, TOP_EVENTS
from analytics_dagster_tests.metrics.compare import assert_same_rows
from analytics_dagster_tests.metrics.conftest import TEST_DAYS
from analytics_dagster_tests.metrics.dataset import FIRST_DAY, LAST_DAY

HOURS = [f"h{h:02d}" for h in range(24)]


@pytest.mark.parametrize("day", TEST_DAYS)
def test_activity_matches_reference(materialized, day):
    expected = materialized.reference.activity(day)
    actual = materialized.table("metrics_activity", day)
    assert_same_rows(actual, expected, keys=["dimension", "segment"])
    assert set(actual["dimension"]) == {"all", "source", "platform"}
    overall = expected[expected["dimension"] == "all"].iloc[0]
    metadata = materialized.metadata("metrics_activity", day)
    assert (metadata["dau"], metadata["mau"]) == (overall["dau"], overall["mau"])


def test_activity_and_lifecycle_of_every_day_match_reference(materialized):
    day = FIRST_DAY
    while day <= LAST_DAY:
        assert_same_rows(
            materialized.table("metrics_activity", day),
            materialized.reference.activity(day),
            keys=["dimension", "segment"],
        )
        assert_same_rows(
            materialized.table("metrics_lifecycle", day),
            pd.DataFrame([materialized.reference.lifecycle(day)]),
            keys=["active_users"],
        )
        day += dt.timedelta(days=1)


@pytest.mark.parametrize("day", TEST_DAYS)
def test_top_events_match_reference(materialized, day):
    expected = materialized.reference.top_events(day, TOP_EVENTS)
    assert_same_rows(
        materialized.table("metrics_top_events", day), expected, keys=["dimension", "segment", "event_rank"]
    )


@pytest.mark.parametrize("day", TEST_DAYS)
def test_lifecycle_matches_reference(materialized, day):
    expected = pd.DataFrame([materialized.reference.lifecycle(day)])
    assert_same_rows(materialized.table("metrics_lifecycle", day), expected, keys=["active_users"])


@pytest.mark.parametrize("day", TEST_DAYS)
def test_daily_retention_matches_reference(materialized, day):
    expected = materialized.reference.retention_daily(day)
    actual = materialized.table("metrics_retention_daily", day)
    assert_same_rows(actual, expected, keys=["cohort_type", "cohort_date", "day_number"])
    incomplete = actual[~actual["is_complete"].astype(bool)]
    assert len(incomplete) > 0, "the latest cohorts must have days still to come"
    assert incomplete[["returned_on_day", "retention_on_day", "retention_on_or_after_day"]].isna().all().all()


@pytest.mark.parametrize("day", TEST_DAYS)
def test_weekly_retention_matches_reference(materialized, day):
    expected = materialized.reference.retention_weekly(day)
    actual = materialized.table("metrics_retention_weekly", day)
    assert_same_rows(actual, expected, keys=["cohort_type", "cohort_start", "week_number"])
    assert actual[~actual["is_complete"].astype(bool)]["retention_rate"].isna().all()


def test_weekly_cohorts_cover_eight_weeks_with_weeks_beyond_four(materialized):
    actual = materialized.table("metrics_retention_weekly", TEST_DAYS[0])
    first_time = actual[actual["cohort_type"] == "first_time"]
    assert first_time["cohort_start"].nunique() == 6  # the dataset spans six Moscow weeks
    oldest = first_time[first_time["cohort_start"] == first_time["cohort_start"].min()]
    assert list(oldest["week_label"]) == ["Week 0", "Week 1", "Week 2", "Week 3", "Week 4", "Week 5+"]
    assert oldest["is_complete"].astype(bool).all()


@pytest.mark.parametrize("day", TEST_DAYS)
def test_user_engagement_matches_reference(materialized, day):
    expected = materialized.reference.user_engagement(day)
    actual = materialized.table("metrics_user_engagement", day)
    assert_same_rows(actual, expected, keys=["user_key"])
    assert np.allclose(actual[HOURS].astype(float).sum(axis=1), 1.0)


def test_churn_probability_only_with_enough_history(materialized):
    last, _, early = TEST_DAYS
    fitted = materialized.table("metrics_user_engagement", last)
    probabilities = fitted["churn_probability"].astype(float)
    assert probabilities.notna().all() and probabilities.between(0, 1).all()
    metadata = materialized.metadata("metrics_user_engagement", last)
    assert metadata["churn_model_status"] == "fitted"
    # The dataset's users churn by design (lifetimes, decaying activity): the model must separate them.
    assert metadata["churn_model_roc_auc_holdout"] > 0.7
    high = probabilities[fitted["churn_risk"] == "high"].mean()
    low = probabilities[fitted["churn_risk"] == "low"].mean()
    assert high > low

    assert materialized.table("metrics_user_engagement", early)["churn_probability"].isna().all()
    assert materialized.metadata("metrics_user_engagement", early)["churn_model_status"].startswith(
        "not enough history"
    )


@pytest.mark.parametrize("day", TEST_DAYS)
def test_forecasts_use_the_reference_history(materialized, day):
    reference = materialized.reference
    # History starts at the first upload partition: earlier days would hold late stragglers only.
    first_upload = materialized.dataset.events["partition_date"].min()
    active = reference.active[
        (reference.active["event_date"] <= day) & (reference.active["event_date"] >= first_upload)
    ]
    history_start = active["event_date"].min()
    actual = materialized.table("metrics_forecasts", day)
    dau = active.groupby("event_date")["user_key"].nunique().rename("value").reset_index()
    expected_history = complete_daily(dau, history_start, day)
    expected = forecast_series(expected_history, FORECAST_HORIZON_DAYS).frame()
    got = actual[actual["series"] == "dau"].sort_values("horizon_days").reset_index(drop=True)
    assert list(got["horizon_days"]) == list(range(1, FORECAST_HORIZON_DAYS + 1))
    assert [pd.Timestamp(d).date() for d in got["forecast_date"]] == list(expected["forecast_date"])
    for column in ("forecast", "lower_95", "upper_95"):
        assert np.allclose(got[column].astype(float), expected[column], rtol=1e-9), column
    assert got["method"].iloc[0] == expected["method"].iloc[0]

    recent = active[active["event_date"] >= day - dt.timedelta(days=29)]
    top_types = (
        recent.groupby("event_type")
        .size()
        .reset_index(name="n")
        .sort_values(["n", "event_type"], ascending=[False, True])
        .head(5)["event_type"]
    )
    assert set(actual["series"]) == {"dau", *(f"events:{t}" for t in top_types)}


def test_forecast_method_depends_on_history(materialized):
    last, mid, early = TEST_DAYS
    methods = {day: set(materialized.table("metrics_forecasts", day)["method"]) for day in TEST_DAYS}
    assert methods[early] == {"naive"}
    assert methods[mid] == {"seasonal_naive"}  # 24 days: too short for Holt-Winters
    assert methods[last] <= {"holt_winters", "seasonal_naive"}
    metadata = materialized.metadata("metrics_forecasts", last)
    assert metadata["dau mase_seasonal_naive"] > 0 and metadata["dau mase_holt_winters"] > 0
    forecasts = materialized.table("metrics_forecasts", last)
    assert (forecasts["lower_95"] <= forecasts["forecast"]).all() and (
        forecasts["forecast"] <= forecasts["upper_95"]
    ).all()
