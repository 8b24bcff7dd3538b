"""Churn probability: a scikit-learn model of "inactive in the next 7 days", fitted on past days.

Each training example is a user active in the 30 days up to a past *snapshot* day S, with the features of
``sql/metrics/user_engagement.sql`` computed as of S and the label "no activity on S+1..S+7". Everything is
time-ordered so nothing leaks from the future:

* holdout: the snapshot D-7 (its labels end on D, the metric day);
* backtest training: snapshots D-20..D-14 (their labels end by D-7, before the holdout's label window) -> the
  ROC AUC on the holdout is the model's quality, reported in the asset metadata;
* final model: snapshots D-13..D-7, applied to the users as of D.

The model is fitted only with enough history: activity on or before D-27 (a week of history behind the earliest
snapshot), at least ``MIN_CLASS_ROWS`` churned and retained examples in each training set, and both classes in
the holdout. Otherwise the probabilities stay NULL and the metadata says why.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer, StandardScaler

from analytics_dagster.lib.metrics.rules import CHURN_HORIZON_DAYS

FEATURES = ("events", "active_days", "active_days_last_7", "sessions", "days_since_last_activity", "engagement_score")
TRAINING_SNAPSHOTS = 7
MIN_HISTORY_DAYS = 2 * CHURN_HORIZON_DAYS + TRAINING_SNAPSHOTS - 1 + 7  # D-27: a week behind the earliest snapshot
MIN_CLASS_ROWS = 20
MAX_TRAINING_ROWS = 200_000  # larger training sets are sampled down (fixed seed)
SEED = 7


@dataclass(frozen=True)
class SnapshotPlan:
    holdout_day: dt.date
    backtest_days: list[dt.date]
    final_days: list[dt.date]


@dataclass
class ChurnModelResult:
    probabilities: pd.Series | None  # index user_key; None when no model was fitted
    status: str  # 'fitted', or why not
    metadata: dict = field(default_factory=dict)


def snapshot_plan(day: dt.date) -> SnapshotPlan:
    holdout = day - dt.timedelta(days=CHURN_HORIZON_DAYS)
    backtest_last = holdout - dt.timedelta(days=CHURN_HORIZON_DAYS)
    return SnapshotPlan(
        holdout_day=holdout,
        backtest_days=[backtest_last - dt.timedelta(days=k) for k in range(TRAINING_SNAPSHOTS - 1, -1, -1)],
        final_days=[holdout - dt.timedelta(days=k) for k in range(TRAINING_SNAPSHOTS - 1, -1, -1)],
    )


def has_enough_history(day: dt.date, first_active_day: dt.date | None) -> bool:
    return first_active_day is not None and (day - first_active_day).days >= MIN_HISTORY_DAYS


def _model():
    # Counts are heavy-tailed: log1p before scaling keeps a few power users from dominating the fit.
    return make_pipeline(FunctionTransformer(np.log1p), StandardScaler(), LogisticRegression(max_iter=1000))


def _matrix(frame: pd.DataFrame) -> np.ndarray:
    return frame.loc[:, list(FEATURES)].to_numpy(dtype=float)


def _sample(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.sample(MAX_TRAINING_ROWS, random_state=SEED) if len(frame) > MAX_TRAINING_ROWS else frame


def _class_shortfall(name: str, labelled: pd.DataFrame) -> str | None:
    churned = int(labelled["churned"].sum())
    retained = len(labelled) - churned
    if min(churned, retained) < MIN_CLASS_ROWS:
        return f"{name} has {churned} churned and {retained} retained users (needs {MIN_CLASS_ROWS} of each)"
    return None


def fit_churn_model(
    day: dt.date,
    first_active_day: dt.date | None,
    current: pd.DataFrame,
    features_as_of: Callable[[dt.date], pd.DataFrame],
    active_between: Callable[[dt.date, dt.date], set[str]],
) -> ChurnModelResult:
    """``current``: features as of ``day``; ``features_as_of(S)``: features as of a past day;
    ``active_between(a, b)``: users active on any day a..b."""
    if not has_enough_history(day, first_active_day):
        return ChurnModelResult(
            None,
            f"not enough history: needs activity since {day - dt.timedelta(days=MIN_HISTORY_DAYS)}"
            f" (first active day {first_active_day})",
        )
    plan = snapshot_plan(day)

    def labelled(snapshot: dt.date) -> pd.DataFrame:
        frame = features_as_of(snapshot)
        future = active_between(snapshot + dt.timedelta(days=1), snapshot + dt.timedelta(days=CHURN_HORIZON_DAYS))
        return frame.assign(churned=(~frame["user_key"].isin(future)).astype(int))

    by_day = {s: labelled(s) for s in sorted(set(plan.backtest_days) | set(plan.final_days))}
    backtest = _sample(pd.concat([by_day[s] for s in plan.backtest_days], ignore_index=True))
    holdout = by_day[plan.holdout_day]
    final = _sample(pd.concat([by_day[s] for s in plan.final_days], ignore_index=True))
    problems = [
        p
        for p in (
            _class_shortfall("the backtest training set", backtest),
            _class_shortfall("the final training set", final),
        )
        if p
    ]
    if holdout["churned"].nunique() < 2:
        problems.append("the holdout day has users of one class only")
    if problems:
        return ChurnModelResult(None, "not enough labelled examples: " + "; ".join(problems))

    backtest_model = _model().fit(_matrix(backtest), backtest["churned"])
    roc_auc = float(roc_auc_score(holdout["churned"], backtest_model.predict_proba(_matrix(holdout))[:, 1]))
    final_model = _model().fit(_matrix(final), final["churned"])
    probabilities = final_model.predict_proba(_matrix(current))[:, 1] if len(current) else np.array([])
    coefficients = final_model[-1].coef_[0]
    return ChurnModelResult(
        probabilities=pd.Series(probabilities, index=current["user_key"].to_numpy(), name="churn_probability"),
        status="fitted",
        metadata={
            "churn_model": "logistic regression on log1p features (scikit-learn)",
            "churn_model_roc_auc_holdout": roc_auc,
            "churn_model_holdout_day": plan.holdout_day.isoformat(),
            "churn_model_holdout_rows": len(holdout),
            "churn_model_backtest_training_days": f"{plan.backtest_days[0]}..{plan.backtest_days[-1]}",
            "churn_model_training_days": f"{plan.final_days[0]}..{plan.final_days[-1]}",
            "churn_model_training_rows": len(final),
            "churn_model_training_churn_rate": float(final["churned"].mean()),
            "churn_model_coefficients": {name: float(c) for name, c in zip(FEATURES, coefficients)},
        },
    )
