"""The A/B statistics of lib/metrics against scipy / statsmodels to 1e-9, the result logic, and the YAML config."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from statsmodels.stats.multitest import multipletests
from statsmodels.stats.proportion import confint_proportions_2indep, proportions_ztest

from analytics_dagster.lib.metrics.ab_results import analyse_experiment
from analytics_dagster.lib.metrics.ab_stats import holm_adjust, sample_ratio_mismatch, two_proportion_test, welch_test
from analytics_dagster.lib.metrics.experiments import ExperimentConfigError, load_experiments
from analytics_dagster.lib.settings import PROJECT_ROOT

TOLERANCE = 1e-9


@pytest.mark.parametrize("seed", range(8))
def test_two_proportion_test_matches_statsmodels_and_scipy(seed):
    rng = np.random.default_rng(seed)
    n_c, n_t = (int(x) for x in rng.integers(50, 50_000, 2))
    conv_c, conv_t = int(rng.binomial(n_c, rng.uniform(0.01, 0.6))), int(rng.binomial(n_t, rng.uniform(0.01, 0.6)))
    result = two_proportion_test(conv_c, n_c, conv_t, n_t)
    z, p = proportions_ztest([conv_t, conv_c], [n_t, n_c])
    assert result.statistic == pytest.approx(z, abs=TOLERANCE)
    assert result.p_value == pytest.approx(p, abs=TOLERANCE)
    table = [[conv_t, n_t - conv_t], [conv_c, n_c - conv_c]]
    assert result.p_value == pytest.approx(stats.chi2_contingency(table, correction=False).pvalue, abs=TOLERANCE)
    low, high = confint_proportions_2indep(conv_t, n_t, conv_c, n_c, method="wald", compare="diff")
    assert result.absolute_ci == pytest.approx((low, high), abs=TOLERANCE)
    assert result.relative_lift == pytest.approx((conv_t / n_t) / (conv_c / n_c) - 1, abs=TOLERANCE)


@pytest.mark.parametrize("seed", range(8))
def test_welch_test_matches_scipy(seed):
    rng = np.random.default_rng(100 + seed)
    control = rng.exponential(rng.uniform(1, 50), int(rng.integers(5, 3000))) * (rng.random(1) < 2)
    treatment = rng.exponential(rng.uniform(1, 50), int(rng.integers(5, 3000)))
    result = welch_test(
        control.mean(), control.var(ddof=1), len(control), treatment.mean(), treatment.var(ddof=1), len(treatment)
    )
    expected = stats.ttest_ind(treatment, control, equal_var=False)
    assert result.statistic == pytest.approx(expected.statistic, abs=TOLERANCE)
    assert result.p_value == pytest.approx(expected.pvalue, abs=TOLERANCE)
    assert result.absolute_ci == pytest.approx(tuple(expected.confidence_interval(0.95)), abs=TOLERANCE)


@pytest.mark.parametrize(
    "observed, planned",
    [
        ({"a": 5030, "b": 4970}, {"a": 50, "b": 50}),
        ({"a": 5300, "b": 4700}, {"a": 1, "b": 1}),
        ({"a": 812, "b": 2090, "c": 1011}, {"a": 0.2, "b": 0.55, "c": 0.25}),
    ],
)
def test_sample_ratio_mismatch_matches_scipy_chisquare(observed, planned):
    total = sum(observed.values())
    weights = np.array(list(planned.values()), dtype=float)
    expected = stats.chisquare(list(observed.values()), f_exp=total * weights / weights.sum())
    check = sample_ratio_mismatch(observed, planned)
    assert check.chi_square == pytest.approx(expected.statistic, abs=TOLERANCE)
    assert check.p_value == pytest.approx(expected.pvalue, abs=TOLERANCE)
    assert check.mismatch == (expected.pvalue < 0.001)


def test_holm_matches_statsmodels():
    rng = np.random.default_rng(3)
    for size in (1, 2, 5, 9):
        p_values = list(rng.uniform(0, 0.2, size)) + [0.01, 0.01]  # ties as well
        assert holm_adjust(p_values) == pytest.approx(list(multipletests(p_values, method="holm")[1]), abs=TOLERANCE)


def test_degenerate_groups_do_not_crash():
    same = two_proportion_test(0, 100, 0, 120)
    assert same.p_value == 1.0 and same.relative_lift is None and same.absolute_ci == (0.0, 0.0)
    apart = welch_test(0.0, 0.0, 10, 1.0, 0.0, 10)
    assert apart.p_value == 0.0


def _stats(rows):
    return pd.DataFrame(
        rows, columns=["variant", "exposures", "conversions", "metric_value", "metric_variance", "first_exposure_time"]
    )


def _config(tmp_path, body: str):
    path = tmp_path / "experiments.yaml"
    path.write_text(body)
    return path


EXPERIMENT = """
experiments:
  - flag_key: f
    start_date: 2026-01-01
    control: control
    planned_split: {control: 50, treatment: 50}
    min_exposures_per_variant: 1000
    min_conversions_per_variant: 50
    metrics:
      - {name: buy, kind: conversion, event_types: [purchase]}
      - {name: errors, kind: conversion, event_types: [error], direction: decrease}
"""


def _analyse(tmp_path, buy, errors, day=dt.date(2026, 1, 20)):
    experiment = load_experiments(_config(tmp_path, EXPERIMENT))[0]
    started = pd.Timestamp("2026-01-02 10:00")
    frames = {
        name: _stats([("control", n_c, c_c, c_c / n_c, 0.0, started), ("treatment", n_t, c_t, c_t / n_t, 0.0, started)])
        for name, (n_c, c_c, n_t, c_t) in (("buy", buy), ("errors", errors))
    }
    return analyse_experiment(experiment, day, frames)


def test_recommendation_ship_when_significant_and_nothing_hurts(tmp_path):
    analysis = _analyse(tmp_path, buy=(5000, 500, 5000, 620), errors=(5000, 300, 5000, 240))
    rows = {(r["metric"], r["variant"]): r for r in analysis.rows}
    assert rows[("buy", "treatment")]["significant"] and "wins on buy" in rows[("buy", "treatment")]["recommendation"]
    # Fewer errors is good for a 'decrease' metric.
    assert "wins on errors" in rows[("errors", "treatment")]["recommendation"]
    assert analysis.summary.startswith("Ship treatment")
    p_values = [rows[(m, "treatment")]["p_value"] for m in ("buy", "errors")]
    assert [rows[(m, "treatment")]["p_value_holm"] for m in ("buy", "errors")] == pytest.approx(
        list(multipletests(p_values, method="holm")[1]), abs=TOLERANCE
    )


def test_recommendation_do_not_ship_when_a_metric_gets_worse(tmp_path):
    analysis = _analyse(tmp_path, buy=(5000, 500, 5000, 620), errors=(5000, 200, 5000, 320))
    assert analysis.summary.startswith("Do not ship treatment: it hurts errors")


def test_minimum_data_rule(tmp_path):
    analysis = _analyse(tmp_path, buy=(400, 40, 420, 80), errors=(400, 60, 420, 61))
    assert not analysis.enough_data
    assert all(r["significant"] is False for r in analysis.rows if not r["is_control"])
    assert analysis.summary.startswith("Keep the test running: needs 1000 exposures per variant")
    early = _analyse(tmp_path, buy=(5000, 500, 5000, 620), errors=(5000, 300, 5000, 240), day=dt.date(2026, 1, 5))
    assert "needs 7 days of exposures (4 so far)" in early.summary


def test_sample_ratio_mismatch_overrides_everything(tmp_path):
    analysis = _analyse(tmp_path, buy=(5000, 500, 4000, 620), errors=(5000, 300, 4000, 240))
    assert analysis.srm.mismatch
    assert analysis.summary.startswith("Investigate before deciding")
    assert all(r["recommendation"].startswith("Do not act") for r in analysis.rows if not r["is_control"])


def test_the_shipped_config_loads():
    experiments = load_experiments(PROJECT_ROOT / "config" / "experiments.yaml")
    assert experiments[0].flag_key == "new-onboarding"
    assert experiments[0].user_property == "[Experiment] new-onboarding"
    assert {m.kind for m in experiments[0].metrics} == {"conversion", "mean"}


@pytest.mark.parametrize(
    "change, message",
    [
        (("control: control", "control: nobody"), "control: 'nobody' is not a variant"),
        (("kind: conversion, event_types: [purchase]", "kind: ratio, event_types: [purchase]"), "kind: must be one of"),
        (("start_date: 2026-01-01", "start_date: soon"), "start_date: 'soon' is not a date"),
        (("planned_split: {control: 50, treatment: 50}", "planned_split: {control: 50}"), "planned_split: needs two"),
        (
            ("min_conversions_per_variant: 50", "min_conversions_per_variant: 50\n    min_dayz: 3"),
            "unknown field(s) min_dayz",
        ),
    ],
)
def test_config_errors_name_the_field(tmp_path, change, message):
    body = EXPERIMENT.replace(*change)
    assert body != EXPERIMENT
    with pytest.raises(ExperimentConfigError, match=message.replace("(", r"\(").replace(")", r"\)")):
        load_experiments(_config(tmp_path, body))
