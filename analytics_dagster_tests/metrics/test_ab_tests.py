"""A/B results of the metrics_ab_tests asset on the test dataset against per-user outcomes recomputed in pandas
and the statistics of scipy / statsmodels, to 1e-9."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats
from statsmodels.stats.multitest import multipletests
from statsmodels.stats.proportion import confint_proportions_2indep, proportions_ztest

from analytics_dagster.defs.metrics import assets as metric_assets
from analytics_dagster.lib.metrics.experiments import load_experiments
from analytics_dagster_tests.metrics.conftest import TEST_DAYS, TEST_EXPERIMENTS, materialize_day

TOLERANCE = 1e-9


def close(actual, expected) -> bool:
    return abs(float(actual) - float(expected)) <= TOLERANCE * max(1.0, abs(float(expected)))


def delta_method_relative_ci(mean_c, var_mean_c, mean_t, var_mean_t, critical):
    gradient = np.array([-mean_t / mean_c**2, 1.0 / mean_c])
    covariance = np.diag([var_mean_c, var_mean_t])
    se = float(np.sqrt(gradient @ covariance @ gradient))
    relative = mean_t / mean_c - 1.0
    return relative - critical * se, relative + critical * se


@pytest.mark.parametrize("day", TEST_DAYS[:2])
def test_ab_results_match_scipy(materialized, day):
    experiment = load_experiments(TEST_EXPERIMENTS)[0]
    table = materialized.table("metrics_ab_tests", day)
    assert len(table) == 2 * len(experiment.metrics)
    expected_p = {}
    for metric in experiment.metrics:
        outcomes = materialized.reference.ab_user_outcomes(
            day,
            experiment.flag_key,
            experiment.start_date,
            set(experiment.exposure_event_types),
            set(metric.event_types),
            metric.window_days,
        )
        assigned = outcomes[outcomes["variant"].notna()]
        if metric.kind == "conversion":
            assigned = assigned.assign(value=(assigned["metric_events"] > 0).astype(float))
        elif metric.value == "revenue":
            assigned = assigned.assign(value=assigned["revenue"])
        else:
            assigned = assigned.assign(value=assigned["metric_events"].astype(float))
        groups = {v: assigned[assigned["variant"] == v] for v in ("control", "treatment")}
        rows = table[table["metric"] == metric.name].set_index("variant")
        for variant, group in groups.items():
            assert int(rows.loc[variant, "exposures"]) == len(group)
            assert int(rows.loc[variant, "conversions"]) == int((group["metric_events"] > 0).sum())
            assert close(rows.loc[variant, "metric_value"], group["value"].mean())
            assert close(rows.loc[variant, "metric_variance"], group["value"].var(ddof=1))
        c, t = groups["control"], groups["treatment"]
        row = rows.loc["treatment"]
        if metric.kind == "conversion":
            conv_c, conv_t = int(c["value"].sum()), int(t["value"].sum())
            _, p_statsmodels = proportions_ztest([conv_t, conv_c], [len(t), len(c)])
            contingency = [[conv_t, len(t) - conv_t], [conv_c, len(c) - conv_c]]
            p_scipy = stats.chi2_contingency(contingency, correction=False).pvalue
            assert close(row["p_value"], p_statsmodels) and close(row["p_value"], p_scipy)
            low, high = confint_proportions_2indep(conv_t, len(t), conv_c, len(c), method="wald", compare="diff")
            var_c = c["value"].mean() * (1 - c["value"].mean()) / len(c)
            var_t = t["value"].mean() * (1 - t["value"].mean()) / len(t)
            critical = stats.norm.ppf(0.975)
        else:
            welch = stats.ttest_ind(t["value"], c["value"], equal_var=False)
            assert close(row["p_value"], welch.pvalue)
            low, high = welch.confidence_interval(0.95)
            var_c, var_t = c["value"].var(ddof=1) / len(c), t["value"].var(ddof=1) / len(t)
            critical = stats.t.ppf(0.975, welch.df)
        assert close(row["absolute_lift"], t["value"].mean() - c["value"].mean())
        assert close(row["absolute_lift_ci_low"], low) and close(row["absolute_lift_ci_high"], high)
        assert close(row["relative_lift"], t["value"].mean() / c["value"].mean() - 1)
        rel_low, rel_high = delta_method_relative_ci(c["value"].mean(), var_c, t["value"].mean(), var_t, critical)
        assert close(row["relative_lift_ci_low"], rel_low) and close(row["relative_lift_ci_high"], rel_high)
        expected_p[metric.name] = float(row["p_value"])

        srm = stats.chisquare([len(c), len(t)], f_exp=[(len(c) + len(t)) / 2] * 2)
        assert close(row["srm_p_value"], srm.pvalue)
        assert bool(row["srm_detected"]) == (srm.pvalue < 0.001)

    names = list(expected_p)
    holm = multipletests([expected_p[n] for n in names], method="holm")[1]
    treatment = table[table["variant"] == "treatment"].set_index("metric")
    for name, adjusted in zip(names, holm):
        assert close(treatment.loc[name, "p_value_holm"], adjusted)
        enough = bool(treatment.loc[name, "enough_data"])
        assert bool(treatment.loc[name, "significant"]) == (adjusted < experiment.alpha and enough)
    control = table[table["variant"] == "control"]
    assert control["is_control"].astype(bool).all() and control["p_value"].isna().all()


def test_users_seen_in_both_variants_are_left_out(materialized):
    day = TEST_DAYS[0]
    experiment = load_experiments(TEST_EXPERIMENTS)[0]
    outcomes = materialized.reference.ab_user_outcomes(
        day,
        experiment.flag_key,
        experiment.start_date,
        set(experiment.exposure_event_types),
        set(experiment.metrics[0].event_types),
        experiment.metrics[0].window_days,
    )
    conflicting = int(outcomes["variant"].isna().sum())
    assert conflicting > 0, "the dataset has users seen in both variants"
    summary = materialized.metadata("metrics_ab_tests", day)["experiments"][experiment.flag_key]
    assert summary["users_in_several_variants"] == conflicting
    assert summary["exposures"] == outcomes["variant"].value_counts().to_dict()


def test_recommendations_follow_the_rules(materialized):
    last, mid, early = TEST_DAYS
    table = materialized.table("metrics_ab_tests", last)
    for row in table[table["variant"] == "treatment"].itertuples():
        if not row.enough_data:
            assert row.recommendation.startswith("Keep the test running")
        elif row.significant:
            assert ("wins on" in row.recommendation) == (row.absolute_lift > 0)
        else:
            assert row.recommendation.startswith("No significant difference")
    # Before the experiment's first exposure (day 7 of the dataset) there is nothing to compare.
    early_rows = materialized.table("metrics_ab_tests", early)
    assert (early_rows["exposures"] == 0).all()
    assert early_rows["experiment_recommendation"].iloc[0].startswith("Keep the test running")


def test_sample_ratio_mismatch_is_flagged(materialized, tmp_path):
    config = TEST_EXPERIMENTS.read_text().replace("{control: 1, treatment: 1}", "{control: 9, treatment: 1}")
    skewed = tmp_path / "skewed.yaml"
    skewed.write_text(config)
    result = materialize_day(
        [metric_assets.metrics_ab_tests], TEST_DAYS[0], {"warehouse": materialized.warehouse}, experiments_file=skewed
    )
    table = materialized.table("metrics_ab_tests", TEST_DAYS[0])
    exposures = table[table["metric"] == "purchase_conversion"].set_index("variant")["exposures"].astype(int)
    total = exposures.sum()
    expected = stats.chisquare([exposures["control"], exposures["treatment"]], f_exp=[0.9 * total, 0.1 * total])
    assert close(table["srm_p_value"].iloc[0], expected.pvalue) and expected.pvalue < 0.001
    assert table["srm_detected"].astype(bool).all()
    assert table[table["variant"] == "treatment"]["recommendation"].str.startswith("Do not act").all()
    assert not table["significant"].fillna(False).astype(bool).any()
    check = result.get_asset_check_evaluations()[0]
    assert check.check_name == "ab_sample_ratio" and not check.passed

    # Put the day back as the other tests expect it.
    materialize_day([metric_assets.metrics_ab_tests], TEST_DAYS[0], {"warehouse": materialized.warehouse})
    assert not materialized.table("metrics_ab_tests", TEST_DAYS[0])["srm_detected"].astype(bool).any()
