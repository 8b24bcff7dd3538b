"""Turns per-variant summaries of an experiment's metrics into result rows with lifts, intervals, p-values, the
sample-ratio check, Holm's correction, the minimum-data rule and a recommendation in plain language."""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from analytics_dagster.lib.metrics.ab_stats import (
    SRM_ALPHA,
    Comparison,
    SampleRatioCheck,
    holm_adjust,
    sample_ratio_mismatch,
    two_proportion_test,
    welch_test,
)
from analytics_dagster.lib.metrics.experiments import Experiment, ExperimentMetric

VARIANT_STATS_COLUMNS = (
    "variant",
    "exposures",
    "conversions",
    "metric_value",
    "metric_variance",
    "first_exposure_time",
)


@dataclass
class ExperimentAnalysis:
    experiment: Experiment
    rows: list[dict[str, Any]]
    srm: SampleRatioCheck
    exposures: dict[str, int]
    days_running: int
    data_shortfalls: list[str]  # why the minimum-data rule does not hold yet (empty when it does)
    conflicting_users: int  # seen in more than one variant, left out
    unplanned_variant_users: dict[str, int] = field(default_factory=dict)  # variants missing from planned_split
    summary: str = ""

    @property
    def enough_data(self) -> bool:
        return not self.data_shortfalls


def _variant_table(stats: pd.DataFrame) -> dict[str, dict[str, Any]]:
    return {row["variant"]: row for row in stats.to_dict("records") if isinstance(row["variant"], str)}


def _conflicting_users(stats: pd.DataFrame) -> int:
    unassigned = stats[~stats["variant"].map(lambda v: isinstance(v, str))]
    return int(unassigned["exposures"].sum()) if len(unassigned) else 0


def _compare(metric: ExperimentMetric, control: dict[str, Any], treatment: dict[str, Any]) -> Comparison:
    if metric.kind == "conversion":
        return two_proportion_test(
            int(control["conversions"]),
            int(control["exposures"]),
            int(treatment["conversions"]),
            int(treatment["exposures"]),
        )
    return welch_test(
        float(control["metric_value"]),
        float(control["metric_variance"]),
        int(control["exposures"]),
        float(treatment["metric_value"]),
        float(treatment["metric_variance"]),
        int(treatment["exposures"]),
    )


def _percent(x: float) -> str:
    return f"{x * 100:+.1f}%"


def _lift_text(metric: ExperimentMetric, comparison: Comparison) -> str:
    if metric.kind == "conversion":
        absolute = f"{comparison.absolute_lift * 100:+.2f} pp"
    else:
        absolute = f"{comparison.absolute_lift:+.3g} per user"
    if comparison.relative_lift is None:
        return absolute
    low, high = comparison.relative_ci
    return f"{absolute} ({_percent(comparison.relative_lift)}, 95% CI {_percent(low)} to {_percent(high)})"


def _number(value: Any) -> float | None:
    return None if value is None or (isinstance(value, float) and math.isnan(value)) else float(value)


def analyse_experiment(
    experiment: Experiment, day: dt.date, variant_stats: dict[str, pd.DataFrame]
) -> ExperimentAnalysis:
    """``variant_stats`` maps each metric name to the rows of ``sql/metrics/ab_variant_stats.sql``."""
    first_stats = variant_stats[experiment.metrics[0].name]
    first_table = _variant_table(first_stats)
    exposures = {v: int(first_table[v]["exposures"]) if v in first_table else 0 for v in experiment.variants}
    unplanned = {v: int(r["exposures"]) for v, r in first_table.items() if v not in experiment.planned_split}
    srm = sample_ratio_mismatch(exposures, experiment.planned_split)

    first_exposures = [
        pd.Timestamp(r["first_exposure_time"])
        for r in first_table.values()
        if r.get("first_exposure_time") is not None and not pd.isna(r["first_exposure_time"])
    ]
    days_running = (day - min(first_exposures).date()).days + 1 if first_exposures else 0

    shortfalls = []
    short_variants = {v: n for v, n in exposures.items() if n < experiment.min_exposures_per_variant}
    if short_variants:
        counts = ", ".join(f"{v} {n}" for v, n in short_variants.items())
        shortfalls.append(f"needs {experiment.min_exposures_per_variant} exposures per variant ({counts} so far)")
    if days_running < experiment.min_days:
        shortfalls.append(f"needs {experiment.min_days} days of exposures ({days_running} so far)")

    analysis = ExperimentAnalysis(
        experiment=experiment,
        rows=[],
        srm=srm,
        exposures=exposures,
        days_running=days_running,
        data_shortfalls=shortfalls,
        conflicting_users=_conflicting_users(first_stats),
        unplanned_variant_users=unplanned,
    )

    comparisons: list[tuple[dict[str, Any], ExperimentMetric, Comparison, list[str]]] = []
    for metric in experiment.metrics:
        table = _variant_table(variant_stats[metric.name])
        empty = {"exposures": 0, "conversions": 0, "metric_value": None, "metric_variance": None}
        metric_shortfalls = list(shortfalls)
        short_conversions = {
            v: int(table.get(v, empty)["conversions"])
            for v in experiment.variants
            if int(table.get(v, empty)["conversions"]) < experiment.min_conversions_per_variant
        }
        if short_conversions:
            counts = ", ".join(f"{v} {n}" for v, n in short_conversions.items())
            metric_shortfalls.append(
                f"needs {experiment.min_conversions_per_variant} converted users per variant ({counts} so far)"
            )
        control = table.get(experiment.control, empty)
        for variant in experiment.variants:
            stats = table.get(variant, empty)
            row = {
                "experiment": experiment.flag_key,
                "metric": metric.name,
                "metric_kind": metric.kind,
                "variant": variant,
                "is_control": variant == experiment.control,
                "exposures": int(stats["exposures"]),
                "conversions": int(stats["conversions"]),
                "metric_value": _number(stats["metric_value"]),
                "metric_variance": _number(stats["metric_variance"]),
                "absolute_lift": None,
                "absolute_lift_ci_low": None,
                "absolute_lift_ci_high": None,
                "relative_lift": None,
                "relative_lift_ci_low": None,
                "relative_lift_ci_high": None,
                "p_value": None,
                "p_value_holm": None,
                "significant": None,
                "srm_p_value": srm.p_value,
                "srm_detected": srm.mismatch,
                "enough_data": not metric_shortfalls,
                "recommendation": "",
            }
            analysis.rows.append(row)
            if row["is_control"]:
                row["recommendation"] = "Baseline (control)."
                continue
            minimum_n = 2 if metric.kind == "mean" else 1
            if row["exposures"] < minimum_n or int(control["exposures"]) < minimum_n:
                row["recommendation"] = "No comparison yet: a variant has no exposed users."
                continue
            comparison = _compare(metric, control, stats)
            row.update(
                absolute_lift=comparison.absolute_lift,
                absolute_lift_ci_low=comparison.absolute_ci[0],
                absolute_lift_ci_high=comparison.absolute_ci[1],
                relative_lift=comparison.relative_lift,
                relative_lift_ci_low=comparison.relative_ci[0] if comparison.relative_ci else None,
                relative_lift_ci_high=comparison.relative_ci[1] if comparison.relative_ci else None,
                p_value=comparison.p_value,
            )
            comparisons.append((row, metric, comparison, metric_shortfalls))

    for (row, _, _, _), adjusted in zip(comparisons, holm_adjust([c.p_value for _, _, c, _ in comparisons])):
        row["p_value_holm"] = adjusted
    for row, metric, comparison, metric_shortfalls in comparisons:
        row["significant"] = bool(row["p_value_holm"] < experiment.alpha and not metric_shortfalls and not srm.mismatch)
        row["recommendation"] = _recommendation(experiment, metric, row, comparison, metric_shortfalls, srm)
    analysis.summary = _summary(experiment, analysis, comparisons)
    for row in analysis.rows:
        row["experiment_recommendation"] = analysis.summary
    return analysis


def _srm_text(experiment: Experiment, srm: SampleRatioCheck) -> str:
    total = sum(experiment.planned_split.values())
    split = "/".join(f"{w / total * 100:g}" for w in experiment.planned_split.values())
    return (
        f"exposures do not match the planned {split} split (sample-ratio mismatch, p = {srm.p_value:.2g} "
        f"< {SRM_ALPHA}); check assignment and exposure logging before reading any result"
    )


def _recommendation(
    experiment: Experiment,
    metric: ExperimentMetric,
    row: dict[str, Any],
    comparison: Comparison,
    shortfalls: list[str],
    srm: SampleRatioCheck,
) -> str:
    variant = row["variant"]
    if srm.mismatch:
        return f"Do not act: {_srm_text(experiment, srm)}."
    if shortfalls:
        return f"Keep the test running: {'; '.join(shortfalls)}."
    lift = _lift_text(metric, comparison)
    p_text = f"Holm-adjusted p = {row['p_value_holm']:.3g}"
    if not row["significant"]:
        return (
            f"No significant difference on {metric.name} yet: {variant} {lift}, {p_text}. "
            "Keep running for more power or treat the effect as negligible."
        )
    good = (comparison.absolute_lift > 0) == (metric.direction == "increase")
    if good:
        return f"{variant} wins on {metric.name}: {lift}, {p_text}. Ship it if the other metrics agree."
    return f"{variant} hurts {metric.name}: {lift}, {p_text}. Do not ship it."


def _summary(experiment: Experiment, analysis: ExperimentAnalysis, comparisons) -> str:
    if analysis.srm.mismatch:
        return f"Investigate before deciding: {_srm_text(experiment, analysis.srm)}."
    if analysis.data_shortfalls:
        return f"Keep the test running: {'; '.join(analysis.data_shortfalls)}."
    verdicts = []
    for variant in experiment.variants:
        if variant == experiment.control:
            continue
        rows = [(row, metric, c) for row, metric, c, _ in comparisons if row["variant"] == variant]
        wins = [
            m.name for row, m, c in rows if row["significant"] and (c.absolute_lift > 0) == (m.direction == "increase")
        ]
        losses = [m.name for row, m, c in rows if row["significant"] and m.name not in wins]
        if losses:
            verdicts.append(f"do not ship {variant}: it hurts {', '.join(losses)}")
        elif wins:
            verdicts.append(f"ship {variant}: it improves {', '.join(wins)} with no significant loss")
        else:
            verdicts.append(f"no significant difference for {variant} yet")
    text = "; ".join(verdicts)
    return text[0].upper() + text[1:] + "."
