"""Planning a day (active users, sessions, event times, upload delays) and assembling a day's archive of sessions
planned for that day and, uploaded late, for the days before."""

from __future__ import annotations

import datetime as dt
import functools
import math
from dataclasses import dataclass

import numpy as np

from analytics_dagster.demo.catalog import DUPLICATE_SHARE, MAX_AGE_DAYS, MAX_DELAY_DAYS, REPLAY_SHARE
from analytics_dagster.demo.days import DAY_MS, HOUR_MS, as_date, day_number_of, day_start_ms
from analytics_dagster.demo.hashing import seed_of
from analytics_dagster.demo.population import (
    HOUR_CDF,
    MOBILE,
    ONBOARDING_PATTERN,
    PATTERN_EXTRA_EVENTS,
    PATTERN_MIN_EVENTS,
    PATTERN_NAMES,
    PATTERN_WEIGHTS,
    SERVER_PATTERN,
    WEB,
    Population,
    active_users,
    cohort_sizes,
    first_session_start,
    onboarding_core_length,
    user_flags,
)


@dataclass
class DayPlan:
    day_number: int
    # users
    u_cohort: np.ndarray
    u_idx: np.ndarray
    # sessions
    s_user: np.ndarray
    s_start: np.ndarray  # UTC ms
    s_n: np.ndarray
    s_pattern: np.ndarray
    s_delay: np.ndarray
    s_replay: np.ndarray
    s_first: np.ndarray
    s_evbase: np.ndarray  # event counter base within the user's day
    s_seq: np.ndarray  # session number within the user's day
    s_ev0: np.ndarray  # index of the session's first event in e_off
    e_off: np.ndarray  # ms offset of each event from its session start
    s_upload: np.ndarray  # UTC ms of the batch upload for late sessions, 0 otherwise


def plan_day(pop: Population, lam: float, seed: int, day_number: int) -> DayPlan:
    rng = np.random.Generator(np.random.PCG64(seed_of(seed, pop.name, "plan", day_number)))
    u_cohort, u_idx = active_users(pop, lam, seed, day_number)
    nu = len(u_cohort)
    flags = user_flags(pop, seed, u_cohort, u_idx)
    is_new = u_cohort == day_number
    # --- regular sessions -----------------------------------------------------------------------
    ns = np.minimum(1 + rng.poisson(pop.extra_sessions, nu), pop.max_sessions)
    s_user = np.repeat(np.arange(nu), ns)
    m = len(s_user)
    first_of_user = np.zeros(m, bool)
    first_of_user[np.cumsum(ns) - ns] = True
    s_first = first_of_user & is_new[s_user]
    hour = np.minimum(np.searchsorted(HOUR_CDF, rng.random(m), side="right"), 23)
    s_start = day_start_ms(day_number) + hour * HOUR_MS + rng.integers(0, HOUR_MS, m)
    if s_first.any():
        s_start[s_first] = first_session_start(pop, seed, u_cohort[s_user[s_first]], flags["key"][s_user[s_first]])
    pat = np.minimum(
        np.searchsorted(np.cumsum(PATTERN_WEIGHTS) / PATTERN_WEIGHTS.sum(), rng.random(m), side="right"),
        len(PATTERN_WEIGHTS) - 1,
    )
    login = PATTERN_NAMES.index("login_loop")
    browse = PATTERN_NAMES.index("browse")
    pat[(pat == login) & ~flags["registered"][s_user]] = browse
    extra = rng.poisson(PATTERN_EXTRA_EVENTS[pat])
    s_n = PATTERN_MIN_EVENTS[pat] + extra
    if s_first.any():
        ob_users = s_user[s_first]
        core = onboarding_core_length(pop, {k: v[ob_users] for k, v in flags.items()})
        s_n[s_first] = core + rng.poisson(pop.onboarding_extra, len(ob_users))
        pat[s_first] = ONBOARDING_PATTERN
    # order sessions per user by time, first session first
    order = np.lexsort((s_start, ~s_first, s_user))
    s_user, s_start, s_n, pat, s_first = s_user[order], s_start[order], s_n[order], pat[order], s_first[order]
    # --- event offsets --------------------------------------------------------------------------
    tot = int(s_n.sum())
    gaps = np.minimum(rng.lognormal(math.log(pop.gap_median_s * 1000), pop.gap_sigma, tot), 20 * 60_000)
    s_ev0 = np.cumsum(s_n) - s_n
    gaps[s_ev0] = 0.0
    cum = np.cumsum(gaps)
    e_off = cum - np.repeat(cum[s_ev0], s_n)
    dur = e_off[s_ev0 + s_n - 1]
    # sessions of a user never overlap: push later sessions after the previous end + 30 min
    same = np.zeros(m, bool)
    same[1:] = s_user[1:] == s_user[:-1]
    for _ in range(pop.max_sessions if m else 0):
        prev_end = np.empty(m)
        prev_end[0] = 0
        prev_end[1:] = s_start[:-1] + dur[:-1] + 30 * 60_000
        s_start = np.where(same, np.maximum(s_start, prev_end), s_start).astype(np.int64)
    limit = day_start_ms(day_number + 1) - 5_000
    keep = s_start < limit - 120_000
    scale = np.where(s_start + dur > limit, (limit - s_start) / np.maximum(dur, 1.0), 1.0)
    e_off = np.floor(e_off * np.repeat(np.clip(scale, 0, 1), s_n)).astype(np.int64)
    if not keep.all():
        ev_keep = np.repeat(keep, s_n)
        e_off = e_off[ev_keep]
        s_user, s_start, s_n, pat, s_first = s_user[keep], s_start[keep], s_n[keep], pat[keep], s_first[keep]
        m = len(s_user)
    s_ev0 = np.cumsum(s_n) - s_n
    grp_start = np.r_[True, s_user[1:] != s_user[:-1]] if m else np.zeros(0, bool)
    csum = np.cumsum(s_n) - s_n
    grp_base = np.maximum.accumulate(np.where(grp_start, csum, 0)) if m else csum
    s_evbase = csum - grp_base
    gstart_idx = np.maximum.accumulate(np.where(grp_start, np.arange(m), 0)) if m else csum
    s_seq = np.arange(m) - gstart_idx
    # --- server side events (session -1) --------------------------------------------------------
    srv_users = np.nonzero(rng.random(nu) < pop.server_rate)[0]
    k_srv = len(srv_users)
    srv_start = day_start_ms(day_number) + rng.integers(6 * HOUR_MS, 22 * HOUR_MS, k_srv)
    # --- delays, replays ------------------------------------------------------------------------
    late = rng.random(m) < pop.late_share
    delay = np.where(late, rng.integers(1, MAX_DELAY_DAYS + 1, m), 0)
    replay = rng.random(m) < REPLAY_SHARE
    last = s_start + e_off[s_ev0 + s_n - 1]
    up = last + delay * DAY_MS + rng.integers(1_000, HOUR_MS, m)
    up = np.where(late, np.minimum(up, day_start_ms(day_number + 1) + delay * DAY_MS - 2_500), 0)
    # concatenate server events at the end
    return DayPlan(
        day_number=day_number,
        u_cohort=u_cohort,
        u_idx=u_idx,
        s_user=np.r_[s_user, srv_users],
        s_start=np.r_[s_start, srv_start],
        s_n=np.r_[s_n, np.ones(k_srv, np.int64)],
        s_pattern=np.r_[pat, np.full(k_srv, SERVER_PATTERN)],
        s_delay=np.r_[delay, np.zeros(k_srv, np.int64)],
        s_replay=np.r_[replay, np.zeros(k_srv, bool)],
        s_first=np.r_[s_first, np.zeros(k_srv, bool)],
        s_evbase=np.r_[s_evbase, np.full(k_srv, 900)],
        s_seq=np.r_[s_seq, np.zeros(k_srv, np.int64)],
        s_ev0=np.r_[s_ev0, len(e_off) + np.arange(k_srv)],
        e_off=np.r_[e_off, np.zeros(k_srv, np.int64)],
        s_upload=np.r_[up, np.zeros(k_srv, np.int64)],
    )


@functools.lru_cache(maxsize=16)
def new_users_per_cohort(pop: Population, events_per_day: int) -> float:
    """New users per cohort so that a steady-state day has ~events_per_day events (calibrated once)."""
    if events_per_day < 0:
        raise ValueError(f"events_per_day must be >= 0, got {events_per_day}")
    lam0 = 2000.0
    day_number = MAX_AGE_DAYS + 400
    tot = 0
    for d in (day_number, day_number + 1, day_number + 2):
        p = plan_day(pop, lam0, 7, d)
        tot += int(p.s_n.sum())
    per_event = tot / 3 / lam0
    if pop is WEB:
        per_event *= 1 + DUPLICATE_SHARE
    if events_per_day <= 0:
        return 0.0
    return events_per_day / per_event


def plan_new_users(
    day: dt.date | str, *, events_per_day: int, seed: int = 42, source: str = "web"
) -> dict[str, np.ndarray]:
    """The users acquired on ``day`` with their experiment flags (cheap; for checking A/B metrics).

    Returns arrays ``cohort, idx, registered, treatment, exposed, converts``.  ``converts`` is whether the
    user completes a purchase in the exposure session (probability EXPERIMENT_CONVERSION_RATES[variant]).
    """
    pop = WEB if source == "web" else MOBILE
    day_number = day_number_of(as_date(day))
    lam = new_users_per_cohort(pop, events_per_day)
    n = int(cohort_sizes(pop, lam, seed, np.array([day_number]))[0])
    cohort = np.full(n, day_number, np.int64)
    idx = np.arange(n, dtype=np.int64)
    flags = user_flags(pop, seed, cohort, idx)
    return {"cohort": cohort, "idx": idx, **{k: v for k, v in flags.items() if k != "key"}}


def user_variant(treatment: bool) -> str:
    return "treatment" if treatment else "control"


@dataclass
class DayArchive:
    """Sessions and events that land in one day's archive (plans D, D-1.. with the right delays)."""

    # per session (concatenated over plans)
    s_plan_dn: np.ndarray
    s_index: np.ndarray  # index inside its plan
    s_cohort: np.ndarray
    s_uidx: np.ndarray
    s_start: np.ndarray
    s_n: np.ndarray
    s_pattern: np.ndarray
    s_delay: np.ndarray
    s_replay: np.ndarray
    s_first: np.ndarray
    s_evbase: np.ndarray
    s_seq: np.ndarray
    s_upload: np.ndarray
    # per event
    e_sess: np.ndarray
    e_pos: np.ndarray
    e_time: np.ndarray  # UTC ms (true event time)


def build_archive(pop: Population, events_per_day: int, seed: int, day_number: int) -> DayArchive:
    lam = new_users_per_cohort(pop, events_per_day)
    parts = []
    for k in range(0, MAX_DELAY_DAYS + 1):
        p = plan_day(pop, lam, seed, day_number - k)
        sel = np.nonzero(p.s_delay == k)[0]
        parts.append((p, sel))
    cols: dict[str, list] = {
        c: []
        for c in (
            "s_plan_dn",
            "s_index",
            "s_cohort",
            "s_uidx",
            "s_start",
            "s_n",
            "s_pattern",
            "s_delay",
            "s_replay",
            "s_first",
            "s_evbase",
            "s_seq",
            "s_upload",
            "e_pos",
            "e_time",
            "e_sess",
        )
    }
    base = 0
    for p, sel in parts:
        n = p.s_n[sel]
        cols["s_plan_dn"].append(np.full(len(sel), p.day_number, np.int64))
        cols["s_index"].append(sel)
        cols["s_cohort"].append(p.u_cohort[p.s_user[sel]])
        cols["s_uidx"].append(p.u_idx[p.s_user[sel]])
        for c in ("s_start", "s_n", "s_pattern", "s_delay", "s_replay", "s_first", "s_evbase", "s_seq", "s_upload"):
            cols[c].append(getattr(p, c)[sel])
        tot = int(n.sum())
        ev0 = np.repeat(p.s_ev0[sel], n)
        pos = np.arange(tot) - np.repeat(np.cumsum(n) - n, n)
        cols["e_pos"].append(pos)
        cols["e_time"].append(np.repeat(p.s_start[sel], n) + p.e_off[ev0 + pos])
        cols["e_sess"].append(base + np.repeat(np.arange(len(sel)), n))
        base += len(sel)
    return DayArchive(**{c: np.concatenate(v) for c, v in cols.items()})
