"""Users: daily cohorts, who is active on a day, and per-user flags (all hash based, no state between days)."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from analytics_dagster.demo.catalog import (
    AMPLITUDE_LATE_SHARE,
    APPMETRICA_LATE_SHARE,
    EXPERIMENT_CONVERSION_RATES,
    EXPERIMENT_START,
    MAX_AGE_DAYS,
    SESSION_PATTERNS,
)
from analytics_dagster.demo.days import HOUR_MS, day_number_of, day_start_ms
from analytics_dagster.demo.hashing import hash64, uniform

# relative activity of each Moscow hour of the day
MOSCOW_HOUR_ACTIVITY = (
    0.9,
    0.5,
    0.3,
    0.2,
    0.2,
    0.3,
    0.6,
    1.2,
    2.0,
    2.8,
    3.2,
    3.4,
    3.5,
    3.5,
    3.4,
    3.3,
    3.3,
    3.5,
    3.9,
    4.4,
    4.6,
    4.2,
    3.2,
    1.9,
)
_HOUR_SHARE = np.array(MOSCOW_HOUR_ACTIVITY) / sum(MOSCOW_HOUR_ACTIVITY)
HOUR_CDF = np.cumsum(_HOUR_SHARE)
FIRST_SESSION_HOUR_CDF = np.cumsum(_HOUR_SHARE[:22]) / _HOUR_SHARE[:22].sum()  # first sessions start before 22:00


def retention(age: np.ndarray | int) -> np.ndarray:
    """Probability that a user acquired ``age`` days ago is active on a day (1 on the acquisition day)."""
    a = np.asarray(age, dtype=float)
    r = 0.05 * np.exp(-a / 365.0) + 0.35 * np.exp(-a / 7.0)
    return np.where(a <= 0, 1.0, np.where(a > MAX_AGE_DAYS, 0.0, r))


@dataclass(frozen=True)
class Population:
    name: str
    extra_sessions: float  # Poisson mean of sessions beyond the first per active user-day
    max_sessions: int
    late_share: float
    server_rate: float  # probability of a server-side (session -1) event per active user-day
    gap_median_s: float
    gap_sigma: float
    onboarding_extra: float
    registered_share: float


WEB = Population("web", 0.45, 5, AMPLITUDE_LATE_SHARE, 0.08, 18.0, 1.0, 6.0, 0.78)
MOBILE = Population("mobile", 0.9, 6, APPMETRICA_LATE_SHARE, 0.05, 9.0, 0.9, 5.0, 0.70)

PATTERN_NAMES = tuple(SESSION_PATTERNS)
PATTERN_WEIGHTS = np.array([v[0] for v in SESSION_PATTERNS.values()])
PATTERN_MIN_EVENTS = np.array([v[1] for v in SESSION_PATTERNS.values()])
PATTERN_EXTRA_EVENTS = np.array([v[2] for v in SESSION_PATTERNS.values()])
ONBOARDING_PATTERN = -1
SERVER_PATTERN = -2
PERMUTATION_PRIME = 1_000_003
CORE_SHARE = 0.5  # share of a cohort's daily active users drawn from its loyal core


def cohort_sizes(pop: Population, lam: float, seed: int, cohorts: np.ndarray) -> np.ndarray:
    base = math.floor(lam)
    u = uniform(seed, pop.name, "size", cohorts)
    return (base + (u < lam - base)).astype(np.int64)


def user_flags(pop: Population, seed: int, cohort: np.ndarray, idx: np.ndarray) -> dict[str, np.ndarray]:
    """Per-user experiment / onboarding flags (pure function of the user)."""
    key = (cohort.astype(np.int64) << 24) | idx
    registered = uniform(seed, pop.name, "registered", key) < pop.registered_share
    treatment = uniform(seed, pop.name, "variant", key) < 0.5
    exposed = cohort >= day_number_of(EXPERIMENT_START)
    p = np.where(treatment, EXPERIMENT_CONVERSION_RATES["treatment"], EXPERIMENT_CONVERSION_RATES["control"])
    converts = uniform(seed, pop.name, "converts", key) < p
    u_loop = uniform(seed, pop.name, "signup_loop", key)
    loops = np.where(registered & (u_loop < 0.15), 2 + (u_loop * 1000).astype(np.int64) % 3, 0)
    return {
        "key": key,
        "registered": registered,
        "treatment": treatment,
        "exposed": exposed,
        "converts": converts,
        "signup_loops": loops,
    }


def first_session_start(pop: Population, seed: int, cohort: np.ndarray, key: np.ndarray) -> np.ndarray:
    """UTC ms of the first session of a user (== user_creation_time); hash based, < 22:00 Moscow."""
    hour = np.searchsorted(FIRST_SESSION_HOUR_CDF, uniform(seed, pop.name, "first_h", key), side="right")
    hour = np.minimum(hour, 21)
    within = (uniform(seed, pop.name, "first_ms", key) * HOUR_MS).astype(np.int64)
    base = np.array([day_start_ms(int(c)) for c in np.unique(cohort)])
    starts = base[np.searchsorted(np.unique(cohort), cohort)]
    return starts + hour * HOUR_MS + within


def onboarding_core_length(pop: Population, flags: dict[str, np.ndarray]) -> np.ndarray:
    # landing + exposure + [signup page, started, loops x error, completed, identify] + onboarding page
    # + [product viewed, added, checkout, purchase] when converting
    return (
        1 + flags["exposed"].astype(int) + flags["registered"] * (4 + flags["signup_loops"]) + 1 + flags["converts"] * 4
    )


def active_users(pop: Population, lam: float, seed: int, day_number: int) -> tuple[np.ndarray, np.ndarray]:
    cohorts = np.arange(max(0, day_number - MAX_AGE_DAYS), day_number + 1, dtype=np.int64)
    sizes = cohort_sizes(pop, lam, seed, cohorts)
    ages = day_number - cohorts
    want = sizes * retention(ages)
    k = np.floor(want).astype(np.int64)
    k += uniform(seed, pop.name, "k", cohorts, day_number) < (want - k)
    k = np.minimum(k, sizes)
    # a share CORE_SHARE of the active slots goes to the cohort's most loyal users (a fixed, nested block:
    # they come back day after day until the cohort's activity shrinks below them), the rest to a block
    # placed at random among the others -- exact DAU, true retention r(age), realistic day-to-day overlap
    want1 = k * CORE_SHARE
    k1 = np.floor(want1).astype(np.int64)
    k1 += uniform(seed, pop.name, "k1", cohorts, day_number) < (want1 - k1)
    k1 = np.where(ages == 0, k, np.minimum(k1, k))
    rest = np.maximum(sizes - k1, 1).astype(np.uint64)
    offs = (hash64(seed, pop.name, "off", cohorts, day_number) % rest).astype(np.int64)
    out_c, out_i = [], []
    for c, n, kk, kk1, off in zip(cohorts.tolist(), sizes.tolist(), k.tolist(), k1.tolist(), offs.tolist()):
        if kk <= 0:
            continue
        j = np.concatenate(
            [np.arange(kk1, dtype=np.int64), kk1 + (np.arange(kk - kk1, dtype=np.int64) + off) % max(n - kk1, 1)]
        )
        if n > 1:
            j = (j * pow(PERMUTATION_PRIME, -1, n)) % n
        out_i.append(j)
        out_c.append(np.full(kk, c, dtype=np.int64))
    if not out_c:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    return np.concatenate(out_c), np.concatenate(out_i)
