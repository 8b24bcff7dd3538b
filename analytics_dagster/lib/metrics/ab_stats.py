"""A/B test statistics from per-variant summaries (what SQL aggregates: counts, means, sample variances).

* conversion metrics: two-proportion z-test (pooled standard error for the test, unpooled for the interval);
* mean metrics: Welch's t-test (unequal variances, Welch-Satterthwaite degrees of freedom);
* relative lift intervals by the delta method around ``treatment / control - 1``;
* sample-ratio mismatch: chi-square goodness of fit of the exposures against the planned split;
* Holm's step-down correction across the comparisons of one experiment.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from scipy import stats

SRM_ALPHA = 0.001  # sample-ratio mismatch is flagged below this p-value


@dataclass(frozen=True)
class Comparison:
    """Treatment against control for one metric."""

    control_value: float
    treatment_value: float
    absolute_lift: float
    absolute_ci: tuple[float, float]
    relative_lift: float | None  # None when the control value is 0
    relative_ci: tuple[float, float] | None
    statistic: float
    p_value: float


def _two_sided_p(statistic: float, distribution) -> float:
    return float(2.0 * distribution.sf(abs(statistic)))


def _relative(
    control_value: float, treatment_value: float, var_control_mean: float, var_treatment_mean: float, critical: float
) -> tuple[float | None, tuple[float, float] | None]:
    """Lift ``t / c - 1`` and its interval by the delta method (variances are those of the two estimates)."""
    if control_value == 0:
        return None, None
    relative = treatment_value / control_value - 1.0
    se = math.sqrt(var_treatment_mean / control_value**2 + treatment_value**2 * var_control_mean / control_value**4)
    return relative, (relative - critical * se, relative + critical * se)


def _test_statistic(difference: float, se: float) -> float:
    if se > 0:
        return difference / se
    # No variation at all (every user converted, or none did): the groups are identical or infinitely apart.
    return 0.0 if difference == 0 else math.copysign(math.inf, difference)


def two_proportion_test(
    control_conversions: int, control_n: int, treatment_conversions: int, treatment_n: int, confidence: float = 0.95
) -> Comparison:
    if control_n <= 0 or treatment_n <= 0:
        raise ValueError("both groups need at least one exposed user")
    p_c = control_conversions / control_n
    p_t = treatment_conversions / treatment_n
    difference = p_t - p_c
    pooled = (control_conversions + treatment_conversions) / (control_n + treatment_n)
    se_pooled = math.sqrt(pooled * (1.0 - pooled) * (1.0 / control_n + 1.0 / treatment_n))
    z = _test_statistic(difference, se_pooled)
    var_c = p_c * (1.0 - p_c) / control_n
    var_t = p_t * (1.0 - p_t) / treatment_n
    critical = float(stats.norm.ppf(0.5 + confidence / 2.0))
    half_width = critical * math.sqrt(var_c + var_t)
    relative, relative_ci = _relative(p_c, p_t, var_c, var_t, critical)
    return Comparison(
        control_value=p_c,
        treatment_value=p_t,
        absolute_lift=difference,
        absolute_ci=(difference - half_width, difference + half_width),
        relative_lift=relative,
        relative_ci=relative_ci,
        statistic=z,
        p_value=_two_sided_p(z, stats.norm),
    )


def welch_test(
    control_mean: float,
    control_variance: float,
    control_n: int,
    treatment_mean: float,
    treatment_variance: float,
    treatment_n: int,
    confidence: float = 0.95,
) -> Comparison:
    """Welch's t-test from summaries; variances are sample variances (ddof=1) of the per-user values."""
    if control_n < 2 or treatment_n < 2:
        raise ValueError("Welch's t-test needs at least two users per group")
    var_c = control_variance / control_n
    var_t = treatment_variance / treatment_n
    difference = treatment_mean - control_mean
    se = math.sqrt(var_c + var_t)
    t = _test_statistic(difference, se)
    if se > 0:
        df = (var_c + var_t) ** 2 / (var_c**2 / (control_n - 1) + var_t**2 / (treatment_n - 1))
    else:
        df = float(control_n + treatment_n - 2)
    distribution = stats.t(df)
    critical = float(distribution.ppf(0.5 + confidence / 2.0))
    relative, relative_ci = _relative(control_mean, treatment_mean, var_c, var_t, critical)
    return Comparison(
        control_value=control_mean,
        treatment_value=treatment_mean,
        absolute_lift=difference,
        absolute_ci=(difference - critical * se, difference + critical * se),
        relative_lift=relative,
        relative_ci=relative_ci,
        statistic=t,
        p_value=_two_sided_p(t, distribution),
    )


@dataclass(frozen=True)
class SampleRatioCheck:
    chi_square: float
    p_value: float

    @property
    def mismatch(self) -> bool:
        return self.p_value < SRM_ALPHA


def sample_ratio_mismatch(exposures: Mapping[str, int], planned_split: Mapping[str, float]) -> SampleRatioCheck:
    """Chi-square goodness of fit of the exposures per variant against the planned weights (any scale)."""
    variants = list(planned_split)
    observed = np.array([exposures.get(v, 0) for v in variants], dtype=float)
    weights = np.array([planned_split[v] for v in variants], dtype=float)
    expected = observed.sum() * weights / weights.sum()
    if observed.sum() == 0:
        return SampleRatioCheck(chi_square=0.0, p_value=1.0)
    chi_square = float(((observed - expected) ** 2 / expected).sum())
    return SampleRatioCheck(chi_square=chi_square, p_value=float(stats.chi2.sf(chi_square, len(variants) - 1)))


def holm_adjust(p_values: Sequence[float]) -> list[float]:
    """Holm's step-down adjusted p-values (family-wise error control), in the input order."""
    m = len(p_values)
    order = sorted(range(m), key=lambda i: p_values[i])
    adjusted = [0.0] * m
    running = 0.0
    for rank, index in enumerate(order):
        running = max(running, min(1.0, (m - rank) * p_values[index]))
        adjusted[index] = running
    return adjusted
