"""The platform's health per asset group, as ``make status`` prints it: the newest partition, its state, failing
checks and freshness. Plain data in, plain data out; ``analytics_dagster.status`` reads it from the Dagster instance.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field

from analytics_dagster.lib.ops.freshness import Deadline, expected_day

FAILED = "failed"
INCOMPLETE = "incomplete"
FINAL = "final"
NOTHING = "nothing materialized"
MISSING_SHOWN = 3  # assets named in the table; --json lists them all


@dataclass(frozen=True)
class FailingCheck:
    asset: str
    check: str
    severity: str  # "ERROR" or "WARN"
    description: str | None = None

    def __str__(self) -> str:
        return f"{self.asset}:{self.check} ({self.severity})"


@dataclass(frozen=True)
class GroupFacts:
    """What the instance says about one group's daily-partitioned assets."""

    group: str
    materialized: Mapping[str, Collection[str]]  # asset -> partition keys materialized
    failed: Mapping[str, Collection[str]] = field(default_factory=dict)  # asset -> keys whose latest attempt failed
    failing_checks: Sequence[FailingCheck] = ()
    # The ``day_state`` metadata (lib/day_state) of the newest partition, for groups whose assets report it.
    day_state: str | None = None


@dataclass(frozen=True)
class GroupStatus:
    group: str
    newest: str | None
    state: str
    expected: dt.date
    deadline: Deadline
    missing_expected: tuple[str, ...]  # assets lacking the expected day
    failing_checks: tuple[FailingCheck, ...]

    @property
    def late(self) -> bool:
        return bool(self.missing_expected)

    @property
    def failed(self) -> bool:
        return self.state == FAILED or any(c.severity == "ERROR" for c in self.failing_checks)

    @property
    def healthy(self) -> bool:
        return not (self.late or self.failed)

    def freshness(self) -> str:
        due = f"{self.expected.isoformat()} due by {self.deadline}"
        if not self.late:
            return f"fresh ({due})"
        shown = ", ".join(self.missing_expected[:MISSING_SHOWN])
        more = len(self.missing_expected) - MISSING_SHOWN
        return f"LATE: {due}, missing in {shown}" + (f" and {more} more" if more > 0 else "")

    def as_json(self) -> dict[str, object]:
        return {
            "group": self.group,
            "newest_partition": self.newest,
            "state": self.state,
            "expected_partition": self.expected.isoformat(),
            "deadline": str(self.deadline),
            "late": self.late,
            "missing_expected": list(self.missing_expected),
            "failing_checks": [str(c) for c in self.failing_checks],
            "healthy": self.healthy,
        }


def evaluate(facts: GroupFacts, deadline: Deadline, now: dt.datetime) -> GroupStatus:
    """The newest partition any asset of the group reached (materialized or failed) and its state: ``failed`` when
    an asset's latest attempt at it failed, ``incomplete`` when an asset lacks it, else the day state the assets
    report (metrics) or ``final``; late when an asset lacks the day the deadline expects by now."""
    attempted = {key for keys in (*facts.materialized.values(), *facts.failed.values()) for key in keys}
    newest = max(attempted, default=None)
    if newest is None:
        state = NOTHING
    elif any(newest in facts.failed.get(asset, ()) for asset in facts.materialized):
        state = FAILED
    elif any(newest not in keys for keys in facts.materialized.values()):
        state = INCOMPLETE
    else:
        state = facts.day_state or FINAL
    expected = expected_day(now, deadline)
    missing = tuple(sorted(a for a, keys in facts.materialized.items() if expected.isoformat() not in keys))
    return GroupStatus(facts.group, newest, state, expected, deadline, missing, tuple(facts.failing_checks))


def render(statuses: Sequence[GroupStatus]) -> str:
    rows = [("group", "newest", "state", "freshness", "failing checks")]
    for s in statuses:
        checks = ", ".join(map(str, s.failing_checks)) or "none"
        rows.append((s.group, s.newest or "-", s.state, s.freshness(), checks))
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    lines = ["  ".join(cell.ljust(width) for cell, width in zip(row[:4], widths)) + "  " + row[4] for row in rows]
    unhealthy = [f"{s.group} {' and '.join(_problems(s))}" for s in statuses if not s.healthy]
    verdict = "UNHEALTHY: " + ", ".join(unhealthy) if unhealthy else "OK"
    return "\n".join([*lines, "", verdict])


def _problems(status: GroupStatus) -> list[str]:
    return [problem for problem, present in (("late", status.late), ("failed", status.failed)) if present]


def render_json(statuses: Sequence[GroupStatus]) -> str:
    return json.dumps(
        {"healthy": all(s.healthy for s in statuses), "groups": [s.as_json() for s in statuses]}, indent=2
    )
