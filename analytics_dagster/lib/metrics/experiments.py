"""The A/B tests to analyse and their conversion metrics, read from YAML (``config/experiments.yaml``).

See docs/metrics.md for the format. Loading validates everything up front and names the file and the field in
every error, so a typo never turns into a silently empty analysis.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

METRIC_KINDS = ("conversion", "mean")
MEAN_VALUES = ("revenue", "count")
DIRECTIONS = ("increase", "decrease")


class ExperimentConfigError(ValueError):
    pass


@dataclass(frozen=True)
class ExperimentMetric:
    name: str
    kind: str  # 'conversion': share of exposed users with a metric event; 'mean': value per exposed user
    event_types: tuple[str, ...]
    window_days: int  # events count from the exposure up to this many days after it
    value: str = "count"  # for 'mean': 'revenue' (sum of revenue) or 'count' (number of events)
    direction: str = "increase"  # which way is good


@dataclass(frozen=True)
class Experiment:
    flag_key: str
    description: str
    start_date: dt.date
    control: str
    planned_split: dict[str, float]
    exposure_event_types: tuple[str, ...]
    user_property: str
    metrics: tuple[ExperimentMetric, ...]
    min_exposures_per_variant: int
    min_conversions_per_variant: int
    min_days: int
    alpha: float

    @property
    def variants(self) -> list[str]:
        return list(self.planned_split)


class _Fields:
    """Typed access to one YAML mapping with errors that say where the bad value is."""

    def __init__(self, data: Any, where: str):
        if not isinstance(data, dict):
            raise ExperimentConfigError(f"{where}: expected a mapping, got {type(data).__name__}")
        self.data = data
        self.where = where

    def fail(self, key: str, message: str) -> ExperimentConfigError:
        return ExperimentConfigError(f"{self.where}.{key}: {message}")

    def get(self, key: str, kind: type | tuple[type, ...], default: Any = ...) -> Any:
        if key not in self.data:
            if default is ...:
                raise self.fail(key, "is required")
            return default
        value = self.data[key]
        if isinstance(value, bool) and bool not in (kind if isinstance(kind, tuple) else (kind,)):
            raise self.fail(key, f"expected {kind}, got a boolean")
        if not isinstance(value, kind):
            raise self.fail(key, f"expected {kind}, got {value!r}")
        return value

    def positive_int(self, key: str, default: Any = ...) -> int:
        value = self.get(key, int, default)
        if value < 0:
            raise self.fail(key, f"must not be negative, got {value}")
        return value

    def choice(self, key: str, choices: tuple[str, ...], default: Any = ...) -> str:
        value = self.get(key, str, default)
        if value not in choices:
            raise self.fail(key, f"must be one of {', '.join(choices)}, got {value!r}")
        return value

    def strings(self, key: str, default: Any = ...) -> tuple[str, ...]:
        value = self.get(key, (list, str), default)
        values = [value] if isinstance(value, str) else value
        if not values or not all(isinstance(v, str) and v for v in values):
            raise self.fail(key, "expected a non-empty list of names")
        return tuple(values)

    def unknown_keys(self, allowed: set[str]) -> None:
        unknown = sorted(set(self.data) - allowed)
        if unknown:
            raise ExperimentConfigError(f"{self.where}: unknown field(s) {', '.join(unknown)}")


def _metric(data: Any, where: str) -> ExperimentMetric:
    fields = _Fields(data, where)
    fields.unknown_keys({"name", "kind", "event_types", "window_days", "value", "direction"})
    kind = fields.choice("kind", METRIC_KINDS)
    window_days = fields.positive_int("window_days", 7)
    if window_days == 0:
        raise fields.fail("window_days", "must be at least 1")
    return ExperimentMetric(
        name=fields.get("name", str),
        kind=kind,
        event_types=fields.strings("event_types"),
        window_days=window_days,
        value=fields.choice("value", MEAN_VALUES, "count"),
        direction=fields.choice("direction", DIRECTIONS, "increase"),
    )


def _experiment(data: Any, where: str) -> Experiment:
    fields = _Fields(data, where)
    fields.unknown_keys(
        {
            "flag_key",
            "description",
            "start_date",
            "control",
            "planned_split",
            "exposure_event_types",
            "user_property",
            "metrics",
            "min_exposures_per_variant",
            "min_conversions_per_variant",
            "min_days",
            "alpha",
        }
    )
    flag_key = fields.get("flag_key", str)
    start_date = fields.get("start_date", (dt.date, str))
    if isinstance(start_date, str):
        try:
            start_date = dt.date.fromisoformat(start_date)
        except ValueError as error:
            raise fields.fail("start_date", f"{start_date!r} is not a date in YYYY-MM-DD form") from error
    split = fields.get("planned_split", dict)
    if len(split) < 2 or not all(
        isinstance(w, (int, float)) and not isinstance(w, bool) and w > 0 for w in split.values()
    ):
        raise fields.fail("planned_split", "needs two or more variants with positive weights")
    planned_split = {str(variant): float(weight) for variant, weight in split.items()}
    control = fields.get("control", str)
    if control not in planned_split:
        raise fields.fail("control", f"{control!r} is not a variant of planned_split")
    metrics_data = fields.get("metrics", list)
    metrics = tuple(_metric(m, f"{where}.metrics[{i}]") for i, m in enumerate(metrics_data))
    if not metrics:
        raise fields.fail("metrics", "needs at least one metric")
    names = [m.name for m in metrics]
    if len(set(names)) != len(names):
        raise fields.fail("metrics", f"metric names must be unique, got {names}")
    alpha = fields.get("alpha", float, 0.05)
    if not 0 < alpha < 1:
        raise fields.fail("alpha", f"must be between 0 and 1, got {alpha}")
    return Experiment(
        flag_key=flag_key,
        description=fields.get("description", str, ""),
        start_date=start_date,
        control=control,
        planned_split=planned_split,
        exposure_event_types=fields.strings("exposure_event_types", ["$exposure"]),
        user_property=fields.get("user_property", str, f"[Experiment] {flag_key}"),
        metrics=metrics,
        min_exposures_per_variant=fields.positive_int("min_exposures_per_variant", 100),
        min_conversions_per_variant=fields.positive_int("min_conversions_per_variant", 10),
        min_days=fields.positive_int("min_days", 7),
        alpha=alpha,
    )


def load_experiments(path: str | Path) -> list[Experiment]:
    path = Path(path)
    if not path.is_file():
        raise ExperimentConfigError(f"experiments config {path} does not exist")
    try:
        document = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as error:
        raise ExperimentConfigError(f"{path}: not valid YAML: {error}") from error
    root = _Fields(document, str(path))
    root.unknown_keys({"experiments"})
    experiments = [_experiment(e, f"{path}: experiments[{i}]") for i, e in enumerate(root.get("experiments", list))]
    flags = [e.flag_key for e in experiments]
    if len(set(flags)) != len(flags):
        raise ExperimentConfigError(f"{path}: flag keys must be unique, got {flags}")
    return experiments
