"""Deterministic demo source: realistic Amplitude / AppMetrica raw data for any Moscow day.

Plain Python (numpy + orjson), no Dagster.  The output is byte-for-byte what the real APIs hand over,
so it goes through exactly the same parsing code as production data:

* :func:`write_amplitude_export_zip` -- the ZIP the Amplitude Export API returns for the window
  ``start=(D-1)T21, end=DT20`` (Moscow day ``D``): members ``<pid>/<pid>_<YYYY-MM-DD>_<H>#0.json.gz``,
  one per UTC hour of ``server_upload_time``, each a gzip of JSON lines.
* :func:`write_appmetrica_events_json` -- the body of ``GET /logs/v1/export/events.json`` for the
  Moscow day ``D`` of ``event_receive_datetime`` (``{"data":[{...}, ...]}``, every value a string).
* :func:`write_appmetrica_table_json` -- ``installations.json`` / ``sessions_starts.json`` bodies.

Model (see docs/demo_source.md):

* Users are born in daily *cohorts* since :data:`EPOCH`; cohort ``a`` has ``~lambda`` users, ``lambda``
  being derived from ``events_per_day``.  A user acquired ``g`` days ago is active on a day with probability
  :func:`retention` ``(g)``; the set of active users of a cohort is an exactly-sized, randomly placed block
  of a fixed per-cohort permutation, so DAU is stable from day to day.
* Everything that describes a user (device, ids, stable properties, experiment variant, when he upgrades
  or moves) is a hash of ``(seed, cohort, index)`` -- identical on every day without any state file.
* Each day is *planned* cheaply (active users, sessions, their lengths, times and upload delays) with a
  numpy generator seeded by ``hash(seed, day)``.  The archive of day ``D`` holds the sessions planned for
  ``D`` with delay 0 plus the sessions planned for ``D-k`` with delay ``k`` (k = 1..3); only the planning
  of the earlier days is repeated.  Event content of a session is generated from a per-session seed.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import math
import os
import random
import uuid
import zipfile
import zlib
from dataclasses import dataclass
from typing import Any

import numpy as np
import orjson

__all__ = [
    "DemoSummary",
    "write_amplitude_export_zip",
    "write_appmetrica_events_json",
    "write_appmetrica_table_json",
    "amplitude_member_name",
    "amplitude_window",
    "retention",
    "user_variant",
    "plan_new_users",
]

# ---------------------------------------------------------------------------------------------------
# Public constants (tests and metric checks elsewhere rely on them)
# ---------------------------------------------------------------------------------------------------
MSK = dt.timezone(dt.timedelta(hours=3), "MSK")
EPOCH = dt.date(2020, 1, 1)  # first cohort; volume is stable for days >= EPOCH + MAX_AGE_DAYS
MAX_AGE_DAYS = 730  # cohorts older than this are no longer active (retention ~0.007 there)

EXPERIMENT_FLAG = "new-onboarding"
EXPERIMENT_VARIANTS = ("control", "treatment")
EXPERIMENT_START = dt.date(2025, 1, 1)  # users acquired on or after this day are exposed
EXPERIMENT_USER_PROPERTY = f"[Experiment] {EXPERIMENT_FLAG}"
# probability that an exposed new user completes a purchase in the exposure (first) session
EXPERIMENT_CONVERSION_RATES = {"control": 0.10, "treatment": 0.125}
AMPLITUDE_EXPOSURE_EVENT = "$exposure"
AMPLITUDE_CONVERSION_EVENT = "Purchase Completed"
APPMETRICA_EXPOSURE_EVENT = "experiment_exposure"
APPMETRICA_CONVERSION_EVENT = "purchase"
CONVERSION_EVENT = AMPLITUDE_CONVERSION_EVENT

REPLAY_PROPERTY = "[Amplitude] Session Replay ID"
REPLAY_SHARE = 0.30
AMPLITUDE_LATE_SHARE = 0.03  # share of web sessions uploaded 1-3 days late
APPMETRICA_LATE_SHARE = 0.08  # share of mobile sessions received 1-3 days late
MAX_DELAY_DAYS = 3
DUPLICATE_SHARE = 0.001  # exact duplicate JSON lines in the Amplitude export
LINKED_MOBILE_SHARE = 0.20  # mobile users whose profile_id is a web user_id
AMPLITUDE_LIBRARY = "amplitude-ts/2.11.8"
AMPLITUDE_SERVER_LIBRARY = "http/2.0"
APPMETRICA_PACKAGE = "com.example.shop"

AMPLITUDE_EVENT_TYPES = (
    "Page Viewed",
    "Button Clicked",
    "Search Performed",
    "Product Viewed",
    "Product Added to Cart",
    "Checkout Started",
    "Payment Failed",
    "Purchase Completed",
    "Error Shown",
    "Sign Up Started",
    "Sign Up Form Error",
    "Sign Up Completed",
    "Login",
    "Login Failed",
    "Password Reset Requested",
    "$identify",
    "$exposure",
    "Email Opened",  # server side (session_id -1)
    "Subscription Renewed",  # server side (session_id -1)
)
APPMETRICA_EVENT_NAMES = (
    "screen_view",
    "search",
    "product_view",
    "add_to_cart",
    "checkout_start",
    "payment_error",
    "purchase",
    "app_error",
    "sign_up_start",
    "sign_up_error",
    "sign_up",
    "login",
    "login_error",
    "experiment_exposure",
    "push_opened",
)
# session patterns of returning users: name -> (weight, minimum length, Poisson mean of extra events)
SESSION_PATTERNS = {
    "browse": (0.66, 2, 7.0),
    "purchase": (0.05, 8, 4.0),
    "payment_failure": (0.07, 7, 3.0),
    "search_no_results": (0.10, 5, 3.0),
    "login_loop": (0.07, 7, 2.0),  # anonymous users browse instead
    "error_page": (0.05, 5, 4.0),
}
# what the struggle patterns leave in error_message (for replay clustering)
ERROR_MESSAGES = {
    "payment_failure": (
        "Card declined: insufficient funds",
        "3-D Secure verification timed out",
        "Payment gateway error 502",
    ),
    "signup_loop": (
        "Password must contain at least 8 characters and a digit",
        "This email is already registered",
        "Please accept the terms of service",
    ),
    "login_loop": ("Invalid email or password",),
    "error_page": ("Something went wrong. Please reload the page", "Network request failed"),
}

_PAGE_W = (0.9, 0.5, 0.3, 0.2, 0.2, 0.3, 0.6, 1.2, 2.0, 2.8, 3.2, 3.4, 3.5, 3.5, 3.4, 3.3, 3.3, 3.5, 3.9,
           4.4, 4.6, 4.2, 3.2, 1.9)  # Moscow-hour activity profile
_HOUR_P = np.array(_PAGE_W) / sum(_PAGE_W)
_HOUR_CDF = np.cumsum(_HOUR_P)
_FIRST_CDF = np.cumsum(_HOUR_P[:22]) / _HOUR_P[:22].sum()  # first sessions start before 22:00

DAY_MS = 86_400_000
HOUR_MS = 3_600_000


@dataclass(frozen=True)
class DemoSummary:
    events: int  # event records written (including exact duplicates)
    files: int  # ZIP members (Amplitude) or 1 (AppMetrica body)
    bytes: int  # size of the file written
    users: int  # distinct users with at least one record in the file
    sessions: int = 0
    late_events: int = 0  # events uploaded / received 1..3 days after they happened
    duplicates: int = 0  # exact duplicate lines (Amplitude only)
    first_hour: int | None = None  # first UTC-hour index present (0 = (D-1)T21)
    demo: bool = True


# ---------------------------------------------------------------------------------------------------
# Hashing (splitmix64), vectorised
# ---------------------------------------------------------------------------------------------------
_G = np.uint64(0x9E3779B97F4A7C15)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_S30, _S27, _S31, _S11 = np.uint64(30), np.uint64(27), np.uint64(31), np.uint64(11)


def _salt(name: str) -> int:
    return zlib.crc32(name.encode()) | (len(name) << 32)


def _mix(x: np.ndarray) -> np.ndarray:
    x = x + _G
    x = (x ^ (x >> _S30)) * _M1
    x = (x ^ (x >> _S27)) * _M2
    return x ^ (x >> _S31)


def _h(*parts: Any) -> np.ndarray:
    """Vectorised hash of ints / int arrays (broadcast) -> uint64 array."""
    with np.errstate(over="ignore"):
        h = np.atleast_1d(np.uint64(0x2545F4914F6CDD1D))
        for p in parts:
            if isinstance(p, str):
                p = _salt(p)
            h = _mix(h ^ np.asarray(p).astype(np.uint64))
        return h


def _u(*parts: Any) -> np.ndarray:
    return (_h(*parts) >> _S11).astype(np.float64) * (1.0 / 9007199254740992.0)


def _pick(u: np.ndarray, weights) -> np.ndarray:
    cdf = np.cumsum(np.asarray(weights, dtype=float))
    cdf /= cdf[-1]
    return np.minimum(np.searchsorted(cdf, u, side="right"), len(cdf) - 1)


def _seed_int(*parts: Any) -> int:
    return int(_h(*parts)[0])


# ---------------------------------------------------------------------------------------------------
# Formatting helpers
# ---------------------------------------------------------------------------------------------------
_HEX = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)
_UUID_POS = np.array([i for i in range(36) if i not in (8, 13, 18, 23)])


def _uuid4(h1: np.ndarray, h2: np.ndarray) -> list[bytes]:
    """uuid4-formatted strings from two uint64 hash arrays."""
    n = len(h1)
    raw = np.empty((n, 2), dtype=np.uint64)
    raw[:, 0] = h1
    raw[:, 1] = h2
    b = raw.view(np.uint8).reshape(n, 16).copy()
    b[:, 6] = (b[:, 6] & 0x0F) | 0x40
    b[:, 8] = (b[:, 8] & 0x3F) | 0x80
    hx = np.empty((n, 32), dtype=np.uint8)
    hx[:, 0::2] = _HEX[b >> 4]
    hx[:, 1::2] = _HEX[b & 0x0F]
    out = np.full((n, 36), ord("-"), dtype=np.uint8)
    out[:, _UUID_POS] = hx
    return out.view("S36").ravel().tolist()


def _ts_us(ms: np.ndarray) -> list[bytes]:
    """UTC ms -> b'YYYY-MM-DD HH:MM:SS.ffffff' (Amplitude export format)."""
    s = np.datetime_as_string(np.asarray(ms, dtype="int64").astype("datetime64[ms]"), unit="us")
    b = s.astype("S26").view(np.uint8).reshape(-1, 26).copy()
    b[:, 10] = 32
    return b.view("S26").ravel().tolist()


def _ts_sec(sec: np.ndarray) -> list[str]:
    """Moscow-local 'YYYY-MM-DD HH:MM:SS' from unix seconds."""
    s = np.datetime_as_string((np.asarray(sec, dtype="int64") + 3 * 3600).astype("datetime64[s]"), unit="s")
    b = s.astype("S19").view(np.uint8).reshape(-1, 19).copy()
    b[:, 10] = 32
    return b.view("S19").ravel().astype("U19").tolist()


def _day_num(day: dt.date) -> int:
    return (day - EPOCH).days


def _day_start_ms(dn: int) -> int:
    """UTC epoch ms of 00:00 Moscow of day number dn."""
    return ((EPOCH - dt.date(1970, 1, 1)).days + dn) * DAY_MS - 3 * HOUR_MS


def _as_date(day: dt.date | str) -> dt.date:
    if isinstance(day, dt.datetime):
        return day.date()
    if isinstance(day, dt.date):
        return day
    return dt.date.fromisoformat(str(day))


def amplitude_window(day: dt.date | str) -> tuple[str, str]:
    """Export API (start, end) parameters for Moscow day D: ('YYYYMMDDT21' of D-1, 'YYYYMMDDT20' of D)."""
    d = _as_date(day)
    return (d - dt.timedelta(days=1)).strftime("%Y%m%dT21"), d.strftime("%Y%m%dT20")


def amplitude_member_name(project_id: int, utc_hour: dt.datetime) -> str:
    return f"{project_id}/{project_id}_{utc_hour:%Y-%m-%d}_{utc_hour.hour}#0.json.gz"


def retention(age: np.ndarray | int) -> np.ndarray:
    """Probability that a user acquired ``age`` days ago is active on a day (1 on the acquisition day)."""
    a = np.asarray(age, dtype=float)
    r = 0.05 * np.exp(-a / 365.0) + 0.35 * np.exp(-a / 7.0)
    return np.where(a <= 0, 1.0, np.where(a > MAX_AGE_DAYS, 0.0, r))


# ---------------------------------------------------------------------------------------------------
# Population and planning
# ---------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Pop:
    name: str
    extra_sessions: float  # Poisson mean of sessions beyond the first per active user-day
    max_sessions: int
    late_share: float
    server_rate: float  # probability of a server-side (session -1) event per active user-day
    gap_median_s: float
    gap_sigma: float
    onboarding_extra: float
    registered_share: float


_WEB = _Pop("web", 0.45, 5, AMPLITUDE_LATE_SHARE, 0.08, 18.0, 1.0, 6.0, 0.78)
_MOB = _Pop("mobile", 0.9, 6, APPMETRICA_LATE_SHARE, 0.05, 9.0, 0.9, 5.0, 0.70)

_PAT_NAMES = tuple(SESSION_PATTERNS)
_PAT_W = np.array([v[0] for v in SESSION_PATTERNS.values()])
_PAT_MIN = np.array([v[1] for v in SESSION_PATTERNS.values()])
_PAT_EXTRA = np.array([v[2] for v in SESSION_PATTERNS.values()])
P_ONBOARDING = -1
P_SERVER = -2
_PERM_PRIME = 1_000_003
CORE_SHARE = 0.5  # share of a cohort's daily active users drawn from its loyal core


def _cohort_sizes(pop: _Pop, lam: float, seed: int, cohorts: np.ndarray) -> np.ndarray:
    base = math.floor(lam)
    u = _u(seed, pop.name, "size", cohorts)
    return (base + (u < lam - base)).astype(np.int64)


def _user_flags(pop: _Pop, seed: int, cohort: np.ndarray, idx: np.ndarray) -> dict[str, np.ndarray]:
    """Per-user experiment / onboarding flags (pure function of the user)."""
    key = (cohort.astype(np.int64) << 24) | idx
    registered = _u(seed, pop.name, "registered", key) < pop.registered_share
    treatment = _u(seed, pop.name, "variant", key) < 0.5
    exposed = cohort >= _day_num(EXPERIMENT_START)
    p = np.where(treatment, EXPERIMENT_CONVERSION_RATES["treatment"], EXPERIMENT_CONVERSION_RATES["control"])
    converts = _u(seed, pop.name, "converts", key) < p
    u_loop = _u(seed, pop.name, "signup_loop", key)
    loops = np.where(registered & (u_loop < 0.15), 2 + (u_loop * 1000).astype(np.int64) % 3, 0)
    return {"key": key, "registered": registered, "treatment": treatment, "exposed": exposed,
            "converts": converts, "signup_loops": loops}


def _first_session_start(pop: _Pop, seed: int, cohort: np.ndarray, key: np.ndarray) -> np.ndarray:
    """UTC ms of the first session of a user (== user_creation_time); hash based, < 22:00 Moscow."""
    hour = np.searchsorted(_FIRST_CDF, _u(seed, pop.name, "first_h", key), side="right")
    hour = np.minimum(hour, 21)
    within = (_u(seed, pop.name, "first_ms", key) * HOUR_MS).astype(np.int64)
    base = np.array([_day_start_ms(int(c)) for c in np.unique(cohort)])
    starts = base[np.searchsorted(np.unique(cohort), cohort)]
    return starts + hour * HOUR_MS + within


def _onboarding_core_len(pop: _Pop, fl: dict[str, np.ndarray]) -> np.ndarray:
    # landing + exposure + [signup page, started, loops x error, completed, identify] + onboarding page
    # + [product viewed, added, checkout, purchase] when converting
    return (1 + fl["exposed"].astype(int) + fl["registered"] * (4 + fl["signup_loops"]) + 1
            + fl["converts"] * 4)


@dataclass
class _Plan:
    dn: int
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


def _active_users(pop: _Pop, lam: float, seed: int, dn: int) -> tuple[np.ndarray, np.ndarray]:
    cohorts = np.arange(max(0, dn - MAX_AGE_DAYS), dn + 1, dtype=np.int64)
    sizes = _cohort_sizes(pop, lam, seed, cohorts)
    ages = dn - cohorts
    want = sizes * retention(ages)
    k = np.floor(want).astype(np.int64)
    k += _u(seed, pop.name, "k", cohorts, dn) < (want - k)
    k = np.minimum(k, sizes)
    # a share CORE_SHARE of the active slots goes to the cohort's most loyal users (a fixed, nested block:
    # they come back day after day until the cohort's activity shrinks below them), the rest to a block
    # placed at random among the others -- exact DAU, true retention r(age), realistic day-to-day overlap
    want1 = k * CORE_SHARE
    k1 = np.floor(want1).astype(np.int64)
    k1 += _u(seed, pop.name, "k1", cohorts, dn) < (want1 - k1)
    k1 = np.where(ages == 0, k, np.minimum(k1, k))
    rest = np.maximum(sizes - k1, 1).astype(np.uint64)
    offs = (_h(seed, pop.name, "off", cohorts, dn) % rest).astype(np.int64)
    out_c, out_i = [], []
    for c, n, kk, kk1, off in zip(cohorts.tolist(), sizes.tolist(), k.tolist(), k1.tolist(), offs.tolist()):
        if kk <= 0:
            continue
        j = np.concatenate([np.arange(kk1, dtype=np.int64),
                            kk1 + (np.arange(kk - kk1, dtype=np.int64) + off) % max(n - kk1, 1)])
        if n > 1:
            j = (j * pow(_PERM_PRIME, -1, n)) % n
        out_i.append(j)
        out_c.append(np.full(kk, c, dtype=np.int64))
    if not out_c:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    return np.concatenate(out_c), np.concatenate(out_i)


def _plan_day(pop: _Pop, lam: float, seed: int, dn: int) -> _Plan:
    rng = np.random.Generator(np.random.PCG64(_seed_int(seed, pop.name, "plan", dn)))
    u_cohort, u_idx = _active_users(pop, lam, seed, dn)
    nu = len(u_cohort)
    fl = _user_flags(pop, seed, u_cohort, u_idx)
    is_new = u_cohort == dn
    # --- regular sessions -----------------------------------------------------------------------
    ns = np.minimum(1 + rng.poisson(pop.extra_sessions, nu), pop.max_sessions)
    s_user = np.repeat(np.arange(nu), ns)
    m = len(s_user)
    first_of_user = np.zeros(m, bool)
    first_of_user[np.cumsum(ns) - ns] = True
    s_first = first_of_user & is_new[s_user]
    hour = np.minimum(np.searchsorted(_HOUR_CDF, rng.random(m), side="right"), 23)
    s_start = _day_start_ms(dn) + hour * HOUR_MS + rng.integers(0, HOUR_MS, m)
    if s_first.any():
        s_start[s_first] = _first_session_start(pop, seed, u_cohort[s_user[s_first]], fl["key"][s_user[s_first]])
    pat = np.minimum(np.searchsorted(np.cumsum(_PAT_W) / _PAT_W.sum(), rng.random(m), side="right"),
                     len(_PAT_W) - 1)
    login = _PAT_NAMES.index("login_loop")
    browse = _PAT_NAMES.index("browse")
    pat[(pat == login) & ~fl["registered"][s_user]] = browse
    extra = rng.poisson(_PAT_EXTRA[pat])
    s_n = _PAT_MIN[pat] + extra
    if s_first.any():
        ob_users = s_user[s_first]
        core = _onboarding_core_len(pop, {k: v[ob_users] for k, v in fl.items()})
        s_n[s_first] = core + rng.poisson(pop.onboarding_extra, len(ob_users))
        pat[s_first] = P_ONBOARDING
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
    limit = _day_start_ms(dn + 1) - 5_000
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
    srv_start = _day_start_ms(dn) + rng.integers(6 * HOUR_MS, 22 * HOUR_MS, k_srv)
    # --- delays, replays ------------------------------------------------------------------------
    late = rng.random(m) < pop.late_share
    delay = np.where(late, rng.integers(1, MAX_DELAY_DAYS + 1, m), 0)
    replay = rng.random(m) < REPLAY_SHARE
    last = s_start + e_off[s_ev0 + s_n - 1]
    up = last + delay * DAY_MS + rng.integers(1_000, HOUR_MS, m)
    up = np.where(late, np.minimum(up, _day_start_ms(dn + 1) + delay * DAY_MS - 2_500), 0)
    # concatenate server events at the end
    return _Plan(
        dn=dn, u_cohort=u_cohort, u_idx=u_idx,
        s_user=np.r_[s_user, srv_users], s_start=np.r_[s_start, srv_start],
        s_n=np.r_[s_n, np.ones(k_srv, np.int64)], s_pattern=np.r_[pat, np.full(k_srv, P_SERVER)],
        s_delay=np.r_[delay, np.zeros(k_srv, np.int64)], s_replay=np.r_[replay, np.zeros(k_srv, bool)],
        s_first=np.r_[s_first, np.zeros(k_srv, bool)], s_evbase=np.r_[s_evbase, np.full(k_srv, 900)],
        s_seq=np.r_[s_seq, np.zeros(k_srv, np.int64)], s_ev0=np.r_[s_ev0, len(e_off) + np.arange(k_srv)],
        e_off=np.r_[e_off, np.zeros(k_srv, np.int64)], s_upload=np.r_[up, np.zeros(k_srv, np.int64)],
    )


@functools.lru_cache(maxsize=16)
def _lambda(pop: _Pop, events_per_day: int) -> float:
    """New users per cohort so that a steady-state day has ~events_per_day events (calibrated once)."""
    if events_per_day < 0:
        raise ValueError(f"events_per_day must be >= 0, got {events_per_day}")
    lam0 = 2000.0
    dn = MAX_AGE_DAYS + 400
    tot = 0
    for d in (dn, dn + 1, dn + 2):
        p = _plan_day(pop, lam0, 7, d)
        tot += int(p.s_n.sum())
    per_event = tot / 3 / lam0
    if pop is _WEB:
        per_event *= 1 + DUPLICATE_SHARE
    if events_per_day <= 0:
        return 0.0
    return events_per_day / per_event


def plan_new_users(day: dt.date | str, *, events_per_day: int, seed: int = 42, source: str = "web"
                   ) -> dict[str, np.ndarray]:
    """The users acquired on ``day`` with their experiment flags (cheap; for checking A/B metrics).

    Returns arrays ``cohort, idx, registered, treatment, exposed, converts``.  ``converts`` is whether the
    user completes a purchase in the exposure session (probability EXPERIMENT_CONVERSION_RATES[variant]).
    """
    pop = _WEB if source == "web" else _MOB
    dn = _day_num(_as_date(day))
    lam = _lambda(pop, events_per_day)
    n = int(_cohort_sizes(pop, lam, seed, np.array([dn]))[0])
    cohort = np.full(n, dn, np.int64)
    idx = np.arange(n, dtype=np.int64)
    fl = _user_flags(pop, seed, cohort, idx)
    return {"cohort": cohort, "idx": idx, **{k: v for k, v in fl.items() if k != "key"}}


def user_variant(treatment: bool) -> str:
    return "treatment" if treatment else "control"


# ---------------------------------------------------------------------------------------------------
# Archive assembly shared by both sources
# ---------------------------------------------------------------------------------------------------
@dataclass
class _Archive:
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


def _build_archive(pop: _Pop, events_per_day: int, seed: int, dn: int) -> _Archive:
    lam = _lambda(pop, events_per_day)
    parts = []
    for k in range(0, MAX_DELAY_DAYS + 1):
        p = _plan_day(pop, lam, seed, dn - k)
        sel = np.nonzero(p.s_delay == k)[0]
        parts.append((p, sel))
    cols: dict[str, list] = {c: [] for c in ("s_plan_dn", "s_index", "s_cohort", "s_uidx", "s_start", "s_n",
                                             "s_pattern", "s_delay", "s_replay", "s_first", "s_evbase",
                                             "s_seq", "s_upload", "e_pos", "e_time", "e_sess")}
    base = 0
    for p, sel in parts:
        n = p.s_n[sel]
        cols["s_plan_dn"].append(np.full(len(sel), p.dn, np.int64))
        cols["s_index"].append(sel)
        cols["s_cohort"].append(p.u_cohort[p.s_user[sel]])
        cols["s_uidx"].append(p.u_idx[p.s_user[sel]])
        for c in ("s_start", "s_n", "s_pattern", "s_delay", "s_replay", "s_first", "s_evbase", "s_seq",
                  "s_upload"):
            cols[c].append(getattr(p, c)[sel])
        tot = int(n.sum())
        ev0 = np.repeat(p.s_ev0[sel], n)
        pos = np.arange(tot) - np.repeat(np.cumsum(n) - n, n)
        cols["e_pos"].append(pos)
        cols["e_time"].append(np.repeat(p.s_start[sel], n) + p.e_off[ev0 + pos])
        cols["e_sess"].append(base + np.repeat(np.arange(len(sel)), n))
        base += len(sel)
    return _Archive(**{c: np.concatenate(v) for c, v in cols.items()})


# ---------------------------------------------------------------------------------------------------
# Shared reference data
# ---------------------------------------------------------------------------------------------------
# city, country, ISO, region, dma, weight, language, lat, lng, first IP octets
_CITIES = (
    ("Moscow", "Russia", "RU", "Moscow", None, 30, "Russian", 55.7558, 37.6173, (95, 178, 85)),
    ("Saint Petersburg", "Russia", "RU", "St.-Petersburg", None, 13, "Russian", 59.9386, 30.3141, (95, 188, 46)),
    ("Novosibirsk", "Russia", "RU", "Novosibirsk Oblast", None, 5, "Russian", 55.0415, 82.9346, (178, 217)),
    ("Yekaterinburg", "Russia", "RU", "Sverdlovsk Oblast", None, 5, "Russian", 56.8519, 60.6122, (188, 31)),
    ("Kazan", "Russia", "RU", "Tatarstan Republic", None, 4, "Russian", 55.7887, 49.1221, (95, 176)),
    ("Nizhniy Novgorod", "Russia", "RU", "Nizhny Novgorod Oblast", None, 3, "Russian", 56.3269, 44.0059, (46, 89)),
    ("Krasnodar", "Russia", "RU", "Krasnodar Krai", None, 3, "Russian", 45.0355, 38.9753, (5, 176)),
    ("Almaty", "Kazakhstan", "KZ", "Almaty", None, 4, "Russian", 43.2220, 76.8512, (2, 37)),
    ("Minsk", "Belarus", "BY", "Minsk City", None, 3, "Russian", 53.9006, 27.5590, (37, 178)),
    ("Tashkent", "Uzbekistan", "UZ", "Tashkent", None, 2, "Russian", 41.2995, 69.2401, (84, 213)),
    ("Tbilisi", "Georgia", "GE", "Tbilisi", None, 2, "Russian", 41.7151, 44.8271, (31, 94)),
    ("Yerevan", "Armenia", "AM", "Yerevan", None, 2, "Russian", 40.1792, 44.4991, (37, 46)),
    ("Belgrade", "Serbia", "RS", "Central Serbia", None, 2, "Russian", 44.7866, 20.4489, (93, 109)),
    ("Berlin", "Germany", "DE", "Land Berlin", None, 3, "German", 52.5200, 13.4050, (77, 91)),
    ("London", "United Kingdom", "GB", "England", None, 2, "English", 51.5072, -0.1276, (81, 86)),
    ("New York", "United States", "US", "New York", "New York, NY", 3, "English", 40.7128, -74.0060,
     (24, 68, 72)),
    ("San Francisco", "United States", "US", "California", "San Francisco-Oakland-San Jose, CA", 2, "English",
     37.7749, -122.4194, (98, 73)),
)
_CITY_W = [c[5] for c in _CITIES]
# device_family, device_type, device_model, [(browser, version at reference day, reference day,
# days per major version, weight)], weight -- browsers update over time, users lag 0-2 versions behind
_WEB_PLATFORMS = (
    ("Windows", "Windows", "Windows", (("Chrome", 120, "2023-12-05", 28, 0.7), ("Edge", 120, "2023-12-07", 28, 0.15),
                                       ("Firefox", 121, "2023-12-19", 28, 0.15)), 0.45),
    ("Mac", "Mac", "Mac OS", (("Chrome", 120, "2023-12-05", 28, 0.55), ("Safari", 17, "2023-09-18", 365, 0.45)),
     0.20),
    ("Apple iPhone", "Apple iPhone", "iPhone", (("Mobile Safari", 17, "2023-09-18", 365, 1.0),), 0.15),
    ("Android", "Android", "K", (("Chrome Mobile", 120, "2023-12-05", 28, 0.85),
                                 ("Samsung Internet", 23, "2023-11-01", 120, 0.15)), 0.17),
    ("Linux", "Linux", "Linux", (("Chrome", 120, "2023-12-05", 28, 0.6), ("Firefox", 121, "2023-12-19", 28, 0.4)),
     0.03),
)
_UTM = ("google", "yandex", "direct", "vk", "telegram", "email", "facebook")
_UTM_W = (0.28, 0.30, 0.15, 0.09, 0.08, 0.05, 0.05)
_CATEGORIES = ("shoes", "jackets", "bags", "watches", "electronics", "books", "toys", "home")
_SEARCH_OK = ("sneakers", "winter jacket", "backpack", "smart watch", "headphones", "lego", "coffee maker",
              "running shoes", "laptop bag", "kindle")
_SEARCH_NONE = ("sneekers nike 45.5", "iphone 17 pro max case titan", "жёлтый рюкзак", "ps6", "asdfgh",
                "vintage leica m3", "кроссовки детские 19 размер")
_BUTTONS = ("Add to wishlist", "Show more", "Filter", "Sort by price", "Size guide", "Share", "Subscribe")
_CONTENT = ("/blog/how-to-choose-running-shoes", "/blog/gift-ideas", "/pricing", "/help/delivery",
            "/help/returns", "/account", "/account/orders", "/promo/summer-sale")


CURRENCY = "RUB"


def _product(rnd: random.Random) -> tuple[int, str, int]:
    pid = rnd.randrange(1000, 1400)
    cat = _CATEGORIES[pid % len(_CATEGORIES)]
    price = 290 + (pid * 7919 % 120) * 50 - 1
    return pid, cat, price


def _web_user_id(cohort: np.ndarray, idx: np.ndarray) -> list[str]:
    """The product's user id of a registered web user: a numeric string, unique while a cohort has
    fewer than 1,000,000 new users (i.e. up to ~2e8 events per day)."""
    return [str(v) for v in (1_000_000 + cohort.astype(np.int64) * 1_000_000 + idx).tolist()]


def _app_version(dn: np.ndarray | int, lag: np.ndarray | int) -> list[str]:
    rel = (np.asarray(dn) - np.asarray(lag)) // 14
    rel = np.atleast_1d(np.maximum(rel, 0))
    return [f"{1 + r // 26}.{r % 26}.{(r * 7) % 3}" for r in rel.tolist()]


# ---------------------------------------------------------------------------------------------------
# Amplitude users
# ---------------------------------------------------------------------------------------------------
def _web_users(seed: int, cohort: np.ndarray, idx: np.ndarray, dn_state: np.ndarray) -> dict[str, list]:
    """Attributes of web users (stable ones from the user hash; changing ones as of day dn_state)."""
    pop = _WEB
    key = (cohort.astype(np.int64) << 24) | idx
    fl = _user_flags(pop, seed, cohort, idx)
    n = len(key)
    age = dn_state - cohort
    dev = _uuid4(_h(seed, "web-dev1", key), _h(seed, "web-dev2", key))
    amp_id = (100_000_000_000 + cohort * 4_000_000 + idx).tolist()
    user_id = _web_user_id(cohort, idx)
    city0 = _pick(_u(seed, "web-city", key), _CITY_W)
    moves = _u(seed, "web-move", key) < 0.08
    move_age = 7 + (_u(seed, "web-move-age", key) * 120).astype(np.int64)
    city1 = _pick(_u(seed, "web-city2", key), _CITY_W)
    city = np.where(moves & (age >= move_age), city1, city0)
    plat = _pick(_u(seed, "web-plat", key), [p[4] for p in _WEB_PLATFORMS])
    ub = _u(seed, "web-browser", key)
    uv = _u(seed, "web-bver", key)
    browsers, versions = [], []
    for pi, b, v, dn_s in zip(plat.tolist(), ub.tolist(), uv.tolist(),
                              np.broadcast_to(dn_state, key.shape).tolist()):
        opts = _WEB_PLATFORMS[pi][3]
        j = int(_pick(np.array([b]), [o[3] for o in opts])[0])
        name, ref, ref_day, period, _ = opts[j]
        browsers.append(name)
        cur = ref + (dn_s - _day_num(dt.date.fromisoformat(ref_day))) // period
        versions.append(str(max(1, cur - int(v * 3))))
    birth = (1962 + (_u(seed, "web-by1", key) * 23 + _u(seed, "web-by2", key) * 22).astype(np.int64)).tolist()
    gender = np.array(["male", "female", "other"])[_pick(_u(seed, "web-g", key), (0.48, 0.48, 0.04))].tolist()
    utm = np.array(_UTM)[_pick(_u(seed, "web-utm", key), _UTM_W)].tolist()
    upgrades = _u(seed, "web-upg", key) < 0.25
    upg_age = 3 + (_u(seed, "web-upg-age", key) * 57).astype(np.int64)
    plan = np.where(upgrades & (age >= upg_age), "pro", "free").tolist()
    lag = (_u(seed, "web-vlag", key) * 10).astype(np.int64)
    ver = _app_version(dn_state, lag)
    skew = np.where(_u(seed, "web-skew", key) < 0.8, 0,
                    ((_u(seed, "web-skew2", key) - 0.5) * 240_000).astype(np.int64)).tolist()
    ipu = _h(seed, "web-ip", key)
    ips = []
    for ci, hv in zip(city.tolist(), ipu.tolist()):
        firsts = _CITIES[ci][9]
        ips.append(f"{firsts[hv % len(firsts)]}.{(hv >> 8) & 255}.{(hv >> 16) & 255}.{1 + (hv >> 24) % 254}")
    creation = _ts_us(_first_session_start(pop, seed, cohort, key)) if n else []
    reg_date = [(EPOCH + dt.timedelta(days=c)).isoformat() for c in cohort.tolist()]
    method = np.array(["email", "google", "vk"])[_pick(_u(seed, "web-method", key), (0.6, 0.3, 0.1))].tolist()
    return {
        "key": key.tolist(), "device_id": dev, "amplitude_id": amp_id, "user_id": user_id,
        "registered": fl["registered"].tolist(), "treatment": fl["treatment"].tolist(),
        "exposed": fl["exposed"].tolist(), "converts": fl["converts"].tolist(),
        "signup_loops": fl["signup_loops"].tolist(), "city": city.tolist(), "platform": plat.tolist(),
        "browser": browsers, "browser_version": versions, "birth_year": birth, "gender": gender,
        "utm": utm, "plan": plan, "version": ver, "skew": skew, "ip": ips, "creation": creation,
        "registration_date": reg_date, "method": method,
    }


# ---------------------------------------------------------------------------------------------------
# Session content (web)
# ---------------------------------------------------------------------------------------------------
# state bits of an event: user_id known, profile properties known, experiment property known
_S_UID, _S_PROF, _S_EXP = 1, 2, 4


def _web_browse_step(rnd: random.Random, out: list) -> None:
    r = rnd.random()
    if r < 0.33:
        if rnd.random() < 0.6:
            cat = rnd.choice(_CATEGORIES)
            out.append(("Page Viewed", {"page_path": f"/catalog/{cat}", "page_title": f"{cat.title()} | Shop"}))
        else:
            p = rnd.choice(_CONTENT)
            out.append(("Page Viewed", {"page_path": p, "page_title": p.rsplit("/", 1)[-1].replace("-", " ")
                                        .capitalize() + " | Shop"}))
    elif r < 0.65:
        pid, cat, price = _product(rnd)
        out.append(("Product Viewed", {"product_id": str(pid), "category": cat, "price": price,
                                       "page_path": f"/product/{pid}", "page_title": f"Product {pid} | Shop"}))
    elif r < 0.80:
        q = rnd.choice(_SEARCH_OK)
        out.append(("Search Performed", {"query": q, "results_count": rnd.randrange(3, 240),
                                         "page_path": "/search"}))
    elif r < 0.96:
        out.append(("Button Clicked", {"button_text": rnd.choice(_BUTTONS), "page_path": "/catalog"}))
    elif r < 0.99:
        pid, cat, price = _product(rnd)
        out.append(("Product Added to Cart", {"product_id": str(pid), "price": price, "quantity": 1,
                                              "cart_size": rnd.randrange(1, 4)}))
    else:
        out.append(("Error Shown", {"error_message": "Image failed to load", "page_path": "/catalog"}))


def _web_landing(rnd: random.Random, utm: str, first: bool) -> tuple[str, dict]:
    if first and utm != "direct":
        return ("Page Viewed", {"page_path": "/", "page_title": "Shop - everything you need",
                                "utm_source": utm})
    if rnd.random() < 0.7:
        return ("Page Viewed", {"page_path": "/", "page_title": "Shop - everything you need"})
    cat = rnd.choice(_CATEGORIES)
    return ("Page Viewed", {"page_path": f"/catalog/{cat}", "page_title": f"{cat.title()} | Shop"})


def _web_purchase_core(rnd: random.Random, full: bool) -> list:
    pid, cat, price = _product(rnd)
    qty = 1 if rnd.random() < 0.8 else 2
    ev = [("Product Viewed", {"product_id": str(pid), "category": cat, "price": price,
                              "page_path": f"/product/{pid}", "page_title": f"Product {pid} | Shop"}),
          ("Product Added to Cart", {"product_id": str(pid), "price": price, "quantity": qty, "cart_size": qty})]
    if full:
        ev.append(("Page Viewed", {"page_path": "/cart", "page_title": "Cart | Shop"}))
    ev.append(("Checkout Started", {"cart_value": price * qty, "items": qty}))
    ev.append(("Purchase Completed", {"order_id": f"ORD-{rnd.randrange(10**8, 10**9)}",
                                      "revenue": price * qty, "currency": CURRENCY, "items": qty,
                                      "payment_method": rnd.choice(("card", "card", "apple_pay", "paypal"))}))
    if full:
        ev.append(("Page Viewed", {"page_path": "/order/success", "page_title": "Thank you! | Shop"}))
    return ev


def _web_session(rnd: random.Random, pattern: int, n: int, u: dict, i: int, first: bool) -> tuple[list, list]:
    """Events (type, props) and state bits of a web session of exactly n events."""
    registered = u["registered"][i]
    exposed = u["exposed"][i]
    state0 = (_S_UID | _S_PROF if registered and not first else 0) | (_S_EXP if exposed and not first else 0)
    ev: list = []
    states: list = []
    if pattern == P_SERVER:
        if u["plan"][i] == "pro" and rnd.random() < 0.5:
            ev.append(("Subscription Renewed", {"plan": "pro", "revenue": 299, "currency": CURRENCY}))
        else:
            ev.append(("Email Opened", {"campaign": rnd.choice(("weekly_digest", "abandoned_cart", "promo"))}))
        return ev, [state0]
    utm = u["utm"][i]
    if pattern == P_ONBOARDING:
        st = 0
        pre: list = [_web_landing(rnd, utm, True)]
        pre_st = [st]
        variant = "treatment" if u["treatment"][i] else "control"
        if exposed:
            st |= _S_EXP
            pre.append(("$exposure", {"flag_key": EXPERIMENT_FLAG, "variant": variant}))
            pre_st.append(st)
        if registered:
            method = u["method"][i]
            pre.append(("Page Viewed", {"page_path": "/signup", "page_title": "Create account | Shop"}))
            pre_st.append(st)
            pre.append(("Sign Up Started", {"method": method}))
            pre_st.append(st)
            msg = rnd.choice(ERROR_MESSAGES["signup_loop"])
            for _ in range(u["signup_loops"][i]):
                pre.append(("Sign Up Form Error", {"error_message": msg, "field": "password" if "Password" in msg
                                                   else ("email" if "email" in msg else "terms"),
                                                   "page_path": "/signup"}))
                pre_st.append(st)
            st |= _S_UID
            pre.append(("Sign Up Completed", {"method": method}))
            pre_st.append(st)
            st |= _S_PROF
            pre.append(("$identify", {}))
            pre_st.append(st)
        if exposed and variant == "treatment":
            pre.append(("Page Viewed", {"page_path": "/welcome/quiz", "page_title": "What are you looking for? | Shop"}))
        else:
            pre.append(("Page Viewed", {"page_path": "/onboarding", "page_title": "Welcome | Shop"}))
        pre_st.append(st)
        post = _web_purchase_core(rnd, False) if u["converts"][i] else []
        fill: list = []
        for _ in range(n - len(pre) - len(post)):
            _web_browse_step(rnd, fill)
        ev = pre + fill + post
        return ev, pre_st + [st] * (len(fill) + len(post))
    name = _PAT_NAMES[pattern]
    core: list
    if name == "browse":
        core = []
    elif name == "purchase":
        core = _web_purchase_core(rnd, True) + [("Page Viewed", {"page_path": "/account/orders",
                                                                  "page_title": "My orders | Shop"})]
    elif name == "payment_failure":
        pid, cat, price = _product(rnd)
        msg = rnd.choice(ERROR_MESSAGES["payment_failure"])
        core = [("Product Viewed", {"product_id": str(pid), "category": cat, "price": price,
                                    "page_path": f"/product/{pid}", "page_title": f"Product {pid} | Shop"}),
                ("Product Added to Cart", {"product_id": str(pid), "price": price, "quantity": 1, "cart_size": 1}),
                ("Checkout Started", {"cart_value": price, "items": 1})]
        core += [("Payment Failed", {"error_message": msg, "payment_method": "card", "amount": price,
                                     "page_path": "/checkout"})] * 2
        core.append(("Page Viewed", {"page_path": "/cart", "page_title": "Cart | Shop"}))
    elif name == "search_no_results":
        qs = rnd.sample(_SEARCH_NONE, 3)
        core = [("Search Performed", {"query": q, "results_count": 0, "page_path": "/search"}) for q in qs]
        core.append(("Button Clicked", {"button_text": "Clear filters", "page_path": "/search"}))
    elif name == "login_loop":
        msg = ERROR_MESSAGES["login_loop"][0]
        core = [("Page Viewed", {"page_path": "/login", "page_title": "Sign in | Shop"})]
        core += [("Login Failed", {"error_message": msg, "method": "email", "page_path": "/login"})] * 3
        core += [("Password Reset Requested", {"page_path": "/login/reset"}), ("Login", {"method": "email"})]
    else:  # error_page
        msg = rnd.choice(ERROR_MESSAGES["error_page"])
        p = rnd.choice(("/checkout", "/account/orders", "/catalog"))
        core = [("Error Shown", {"error_message": msg, "page_path": p}),
                ("Page Viewed", {"page_path": p, "page_title": "Shop"}),
                ("Error Shown", {"error_message": msg, "page_path": p})]
    head = [_web_landing(rnd, utm, False)]
    fill = []
    spare = n - 1 - len(core)
    if name in ("payment_failure", "login_loop") and spare > 0:  # struggle a bit longer
        extra = min(spare, rnd.randrange(0, 3))
        dup = core[-2] if name == "payment_failure" else core[1]
        at = len(core) - 1 if name == "payment_failure" else 2
        core = core[:at] + [dup] * extra + core[at:]
        spare -= extra
    for _ in range(spare):
        _web_browse_step(rnd, fill)
    ev = head + fill + core
    return ev, [state0] * len(ev)


# ---------------------------------------------------------------------------------------------------
# Amplitude export writer
# ---------------------------------------------------------------------------------------------------
def _jb(v: Any) -> bytes:
    return orjson.dumps(v)


def _esc(b: bytes) -> bytes:
    return b.replace(b"%", b"%%")


class _WebSessionRender:
    """Pre-rendered JSON fragments of one session (the parts common to all its events)."""

    __slots__ = ("tmpl", "events", "states", "replay", "remaining")

    def __init__(self, tmpl: dict[int, bytes], events: list, states: list, replay: str | None, n: int):
        self.tmpl = tmpl
        self.events = events
        self.states = states
        self.replay = replay
        self.remaining = n


def _web_templates(u: dict, i: int, project_id: int, session_id: int, server: bool,
                   states: set[int], exp_variant: str) -> dict[int, bytes]:
    """One %-template per state bit combination used in the session."""
    ci = u["city"][i]
    c = _CITIES[ci]
    pl = _WEB_PLATFORMS[u["platform"][i]]
    library = AMPLITUDE_SERVER_LIBRARY if server else AMPLITUDE_LIBRARY
    p1 = (b'","$insert_key":null,"$schema":12,"adid":null,"amplitude_attribution_ids":null,'
          b'"amplitude_event_type":null,"amplitude_id":' + str(u["amplitude_id"][i]).encode()
          + b',"app":' + str(project_id).encode() + b',"city":' + _jb(c[0]) + b',"client_event_time":"')
    p2 = (b'","country":' + _jb(c[1])
          + b',"data":{"path":"/2/httpapi","group_first_event":{},"group_ids":{}},"data_type":"event",'
          b'"device_brand":null,"device_carrier":null,"device_family":' + _jb(pl[0])
          + b',"device_id":' + _jb(u["device_id"][i].decode()) + b',"device_manufacturer":null,'
          b'"device_model":' + _jb(pl[2]) + b',"device_type":' + _jb(pl[1]) + b',"dma":' + _jb(c[4])
          + b',"event_id":')
    p3 = (b',"global_user_properties":{},"group_properties":{},"groups":{},"idfa":null,"ip_address":'
          + _jb(u["ip"][i]) + b',"is_attribution_event":false,"language":' + _jb(c[6])
          + b',"library":' + _jb(library) + b',"location_lat":null,"location_lng":null,"os_name":'
          + _jb(u["browser"][i]) + b',"os_version":' + _jb(u["browser_version"][i])
          + b',"partner_id":null,"paying":null,"plan":{},"platform":"Web","processed_time":"')
    p4 = b'","region":' + _jb(c[3]) + b',"sample_rate":null,"server_received_time":"'
    creation = u["creation"][i]
    p5 = (b'","session_id":' + str(session_id).encode() + b',"source_id":null,"start_version":null,'
          b'"user_creation_time":"' + creation + b'","user_id":')
    p6 = b',"version_name":' + _jb(u["version"][i]) + b'}\n'
    out = {}
    for st in states:
        up: dict[str, Any] = {}
        if st & _S_PROF:
            up = {"birth_year": u["birth_year"][i], "gender": u["gender"][i],
                  "registration_date": u["registration_date"][i], "initial_utm_source": u["utm"][i],
                  "plan": u["plan"][i], "city": c[0], "app_version": u["version"][i]}
        else:
            up = {"initial_utm_source": u["utm"][i], "app_version": u["version"][i]}
        if st & _S_EXP:
            up[EXPERIMENT_USER_PROPERTY] = exp_variant
        uid = _jb(u["user_id"][i]) if st & _S_UID else b"null"
        tmpl = (b'{"$insert_id":"%s' + _esc(p1) + b'%s","client_upload_time":"%s' + _esc(p2) + b'%d,'
                b'"event_properties":%s,"event_time":"%s","event_type":%s' + _esc(p3) + b'%s' + _esc(p4)
                + b'%s","server_upload_time":"%s' + _esc(p5) + _esc(uid) + b',"user_properties":'
                + _esc(_jb(up)) + b',"uuid":"%s"' + _esc(p6))
        out[st] = tmpl
    return out


_ETYPE_JSON: dict[str, bytes] = {}


def _etype(t: str) -> bytes:
    b = _ETYPE_JSON.get(t)
    if b is None:
        b = _ETYPE_JSON[t] = orjson.dumps(t)
    return b


def write_amplitude_export_zip(day: dt.date | str, dest: str | os.PathLike, *, events_per_day: int,
                               project_id: int = 100001, seed: int = 42) -> DemoSummary:
    """Write the Amplitude Export API ZIP of Moscow day ``day`` to ``dest`` (streaming; bounded memory)."""
    d = _as_date(day)
    dn = _day_num(d)
    ar = _build_archive(_WEB, events_per_day, seed, dn)
    ns = len(ar.s_n)
    nev = len(ar.e_pos)
    # --- users of the archive's sessions, changing attributes as of the session's own day -------
    u = _web_users(seed, ar.s_cohort, ar.s_uidx, ar.s_plan_dn)
    # --- per-event timestamps -------------------------------------------------------------------
    rng = np.random.Generator(np.random.PCG64(_seed_int(seed, "web-ts", dn)))
    skew = np.asarray(u["skew"], dtype=np.int64)[ar.e_sess]
    late = ar.s_delay[ar.e_sess] > 0
    t = ar.e_time
    c_up = np.where(late, ar.s_upload[ar.e_sess], t + rng.integers(150, 1_200, nev))
    s_recv = c_up + rng.integers(30, 400, nev)
    s_up = s_recv + rng.integers(1, 40, nev)
    proc = s_up + rng.integers(400, 5_000, nev)
    win0 = _day_start_ms(dn)
    hour = (s_up - win0) // HOUR_MS
    assert nev == 0 or (hour.min() >= 0 and hour.max() <= 23), "event outside the export window"
    order = np.lexsort((ar.e_pos, ar.e_sess, s_up))
    hour_sorted = hour[order]
    bounds = np.searchsorted(hour_sorted, np.arange(25))
    # duplicates: chosen per event, written again at the end of the same or the next hour file
    dup_mask = rng.random(nev) < DUPLICATE_SHARE
    dup_next = rng.random(nev) < 0.5
    # per-session identity (for uuids), session ids (client clock, ms), replay ids
    s_key = (ar.s_plan_dn << 32) | ar.s_index
    sess_id = ar.s_start + np.asarray(u["skew"], dtype=np.int64)
    server = ar.s_pattern == P_SERVER
    sess_id = np.where(server, -1, sess_id)
    sess_seed = _h(seed, "web-sess", s_key).tolist()
    s_event0 = np.asarray((ar.s_plan_dn - ar.s_cohort) * 1000 + ar.s_evbase, dtype=np.int64)
    dest = os.fspath(dest)
    tmp = dest + ".tmp"
    cache: dict[int, _WebSessionRender] = {}
    files = 0
    written = 0
    dups_written = 0
    users_seen: set[int] = set()
    pid_b = str(project_id)
    carry: list[bytes] = []
    first_hour = None
    with open(tmp, "wb") as fh, zipfile.ZipFile(fh, "w", compression=zipfile.ZIP_STORED) as zf:
        for h in range(24):
            lo, hi = int(bounds[h]), int(bounds[h + 1])
            if hi == lo and not carry:
                continue
            idx = order[lo:hi]
            es = ar.e_sess[idx]
            ep = ar.e_pos[idx]
            ev_uuid = _uuid4(_h(seed, "uuid1", s_key[es], ep), _h(seed, "uuid2", s_key[es], ep))
            ev_ins = _uuid4(_h(seed, "ins1", s_key[es], ep), _h(seed, "ins2", s_key[es], ep))
            sk = skew[idx]
            f_cet = _ts_us(t[idx] + sk)
            f_cut = _ts_us(c_up[idx] + sk)
            f_et = _ts_us(t[idx])
            f_proc = _ts_us(proc[idx])
            f_recv = _ts_us(s_recv[idx])
            f_up = _ts_us(s_up[idx])
            dm = dup_mask[idx].tolist()
            dn_next = dup_next[idx].tolist()
            hour_dt = dt.datetime.combine(d - dt.timedelta(days=1), dt.time(21)) + dt.timedelta(hours=h)
            name = amplitude_member_name(project_id, hour_dt)
            assert name.startswith(pid_b + "/")
            zi = zipfile.ZipInfo(name, date_time=hour_dt.timetuple()[:6])
            zi.compress_type = zipfile.ZIP_STORED
            zi.external_attr = 0o644 << 16
            comp = zlib.compressobj(1, zlib.DEFLATED, 31)
            next_carry: list[bytes] = []
            buf: list[bytes] = []
            with zf.open(zi, "w") as member:
                for j, (s, p) in enumerate(zip(es.tolist(), ep.tolist())):
                    r = cache.get(s)
                    if r is None:
                        i = s
                        rnd = random.Random(sess_seed[s])
                        pattern = int(ar.s_pattern[s])
                        events, states = _web_session(rnd, pattern, int(ar.s_n[s]), u, i, bool(ar.s_first[s]))
                        variant = "treatment" if u["treatment"][i] else "control"
                        tm = _web_templates(u, i, project_id, int(sess_id[s]), pattern == P_SERVER,
                                            set(states), variant)
                        replay = (f"{u['device_id'][i].decode()}/{int(sess_id[s])}" if ar.s_replay[s] else None)
                        r = cache[s] = _WebSessionRender(tm, events, states, replay, int(ar.s_n[s]))
                        users_seen.add(u["key"][s])
                    etype, props = r.events[p]
                    if r.replay is not None:
                        props = dict(props)
                        props[REPLAY_PROPERTY] = r.replay
                    line = r.tmpl[r.states[p]] % (
                        ev_ins[j], f_cet[j], f_cut[j], int(s_event0[s]) + p, orjson.dumps(props), f_et[j],
                        _etype(etype), f_proc[j], f_recv[j], f_up[j], ev_uuid[j])
                    buf.append(line)
                    if dm[j]:
                        if dn_next[j] and h < 23:
                            next_carry.append(line)
                        else:
                            buf.append(line)
                            dups_written += 1
                    r.remaining -= 1
                    if r.remaining == 0:
                        del cache[s]
                    if len(buf) >= 2048:
                        member.write(comp.compress(b"".join(buf)))
                        written += len(buf)
                        buf = []
                buf.extend(carry)
                dups_written += len(carry)
                member.write(comp.compress(b"".join(buf)))
                written += len(buf)
                member.write(comp.flush())
            carry = next_carry
            files += 1
            if first_hour is None:
                first_hour = h
    os.replace(tmp, dest)
    return DemoSummary(events=written, files=files, bytes=os.path.getsize(dest), users=len(users_seen),
                       sessions=int(ns - server.sum()), late_events=int(late.sum()), duplicates=dups_written,
                       first_hour=first_hour)


# ---------------------------------------------------------------------------------------------------
# AppMetrica (mobile)
# ---------------------------------------------------------------------------------------------------
APPMETRICA_EVENT_FIELDS = (
    "event_name", "event_json", "event_datetime", "event_timestamp", "event_receive_datetime",
    "event_receive_timestamp", "appmetrica_device_id", "installation_id", "profile_id", "session_id",
    "os_name", "os_version", "device_manufacturer", "device_model", "device_type", "device_locale",
    "app_version_name", "app_package_name", "city", "country_iso_code", "connection_type", "operator_name",
    "mcc", "mnc", "google_aid", "ios_ifa", "application_id", "device_ipv6", "ios_ifv", "original_device_model",
    "windows_aid", "app_build_number",
)
_DEVICE_FIELDS = ("os_name", "os_version", "device_manufacturer", "device_model", "device_type", "device_locale",
                  "app_version_name", "app_package_name", "city", "country_iso_code")
_NET_FIELDS = ("connection_type", "operator_name", "mcc", "mnc")
APPMETRICA_INSTALLATION_FIELDS = (
    "application_id", "installation_id", "appmetrica_device_id", "install_datetime", "install_timestamp",
    "install_receive_datetime", "install_receive_timestamp", "is_reinstallation", "match_type", "tracker_name",
    "publisher_name", "click_datetime", "click_timestamp", *_DEVICE_FIELDS, "google_aid", "ios_ifa",
)
APPMETRICA_SESSION_START_FIELDS = (
    "application_id", "session_id", "session_start_datetime", "session_start_timestamp",
    "session_start_receive_datetime", "session_start_receive_timestamp", "appmetrica_device_id",
    "installation_id", "profile_id", *_DEVICE_FIELDS, *_NET_FIELDS, "google_aid", "ios_ifa",
)
_ANDROID = (("Samsung", "Galaxy A54", 0.16), ("Samsung", "Galaxy S23", 0.08), ("Xiaomi", "Redmi Note 12", 0.16),
            ("Xiaomi", "Redmi Note 13 Pro", 0.08), ("Xiaomi", "POCO X6 Pro", 0.06), ("HONOR", "X8a", 0.08),
            ("realme", "C55", 0.06), ("Google", "Pixel 7", 0.03), ("TECNO", "Spark 20", 0.05),
            ("Huawei", "nova Y70", 0.04), ("Samsung", "Galaxy Tab A8", 0.05), ("Xiaomi", "Pad 6", 0.03))
_IOS = (("Apple", "iPhone 11", 0.14), ("Apple", "iPhone 12", 0.14), ("Apple", "iPhone 13", 0.18),
        ("Apple", "iPhone 14", 0.14), ("Apple", "iPhone 15", 0.12), ("Apple", "iPhone 15 Pro", 0.08),
        ("Apple", "iPhone SE (3rd generation)", 0.06), ("Apple", "iPad (9th generation)", 0.08),
        ("Apple", "iPad Air (5th generation)", 0.06))
_ANDROID_OS = (("11", 0.1), ("12", 0.17), ("13", 0.3), ("14", 0.33), ("15", 0.1))
_IOS_OS = (("16.7.8", 0.12), ("17.5.1", 0.3), ("17.6.1", 0.28), ("18.0", 0.15), ("18.1.1", 0.15))
# country ISO -> (mcc, [(operator, mnc, weight)])
_OPERATORS = {
    "RU": ("250", (("MTS", "1", 0.3), ("MegaFon", "2", 0.28), ("Beeline", "99", 0.25), ("Tele2", "20", 0.17))),
    "KZ": ("401", (("Beeline KZ", "1", 0.5), ("Kcell", "2", 0.5))),
    "BY": ("257", (("A1", "1", 0.5), ("MTS BY", "2", 0.5))),
    "UZ": ("434", (("Ucell", "5", 0.5), ("Beeline UZ", "4", 0.5))),
    "GE": ("282", (("Magti", "2", 0.6), ("Silknet", "1", 0.4))),
    "AM": ("283", (("Team", "1", 0.5), ("Viva", "5", 0.5))),
    "RS": ("220", (("A1 SRB", "5", 0.5), ("Yettel", "1", 0.5))),
    "DE": ("262", (("Telekom.de", "1", 0.5), ("Vodafone.de", "2", 0.5))),
    "GB": ("234", (("EE", "30", 0.5), ("Vodafone UK", "15", 0.5))),
    "US": ("310", (("T-Mobile", "260", 0.5), ("AT&T", "410", 0.5))),
}
_LOCALE = {"Russian": "ru_RU", "German": "de_DE", "English": "en_US"}
_TRACKERS = (("", "", "", 0.55), ("Yandex Direct", "Yandex.Direct", "referrer", 0.2),
             ("VK Ads", "VK Ads", "fingerprint", 0.12), ("Google Ads", "Google Ads", "referrer", 0.08),
             ("Telegram Ads", "Telegram", "fingerprint", 0.05))


def _mob_users(seed: int, cohort: np.ndarray, idx: np.ndarray, dn_state: np.ndarray, events_per_day: int
               ) -> dict[str, list]:
    pop = _MOB
    key = (cohort.astype(np.int64) << 24) | idx
    fl = _user_flags(pop, seed, cohort, idx)
    age = dn_state - cohort
    ios = _u(seed, "mob-os", key) < 0.38
    dev_id = _h(seed, "mob-dev", key)
    inst = _h(seed, "mob-inst1", key), _h(seed, "mob-inst2", key)
    inst_hex = [x.replace(b"-", b"").decode() for x in _uuid4(*inst)]
    ad = _uuid4(_h(seed, "mob-ad1", key), _h(seed, "mob-ad2", key))
    lat = _u(seed, "mob-lat", key) < 0.25  # limited ad tracking on iOS
    mod_a = _pick(_u(seed, "mob-model", key), [m[2] for m in _ANDROID])
    mod_i = _pick(_u(seed, "mob-model", key), [m[2] for m in _IOS])
    osv_a = _pick(_u(seed, "mob-osv", key), [m[1] for m in _ANDROID_OS])
    osv_i = _pick(_u(seed, "mob-osv", key), [m[1] for m in _IOS_OS])
    city0 = _pick(_u(seed, "mob-city", key), _CITY_W)
    moves = _u(seed, "mob-move", key) < 0.06
    move_age = 7 + (_u(seed, "mob-move-age", key) * 120).astype(np.int64)
    city = np.where(moves & (age >= move_age), _pick(_u(seed, "mob-city2", key), _CITY_W), city0)
    lag = (_u(seed, "mob-vlag", key) * 21).astype(np.int64)
    rel = np.maximum((dn_state - lag) // 14, 0)
    version = [f"{3 + r // 26}.{r % 26}.{(r * 5) % 4}" for r in np.broadcast_to(rel, key.shape).tolist()]
    # profile ids: ~20% of all mobile users are web users (same user_id), other registered ones are
    # mobile-only accounts of the same product (another id range), anonymous ones have ''
    linked = fl["registered"] & (_u(seed, "mob-link", key) < LINKED_MOBILE_SHARE / pop.registered_share)
    profile = [str(v) for v in (100_000_000_000 + cohort.astype(np.int64) * 1_000_000 + idx).tolist()]
    if linked.any():
        lam_web = _lambda(_WEB, events_per_day)
        li = np.nonzero(linked)[0]
        found = np.zeros(len(li), bool)
        wc = np.zeros(len(li), np.int64)
        wi = np.zeros(len(li), np.int64)
        for attempt in range(6):
            c = np.maximum(cohort[li] - (_u(seed, "mob-link-lag", key[li], attempt) * 60).astype(np.int64), 0)
            size = _cohort_sizes(_WEB, lam_web, seed, c)
            i = (_h(seed, "mob-link-idx", key[li], attempt) % np.maximum(size, 1).astype(np.uint64)).astype(np.int64)
            ok = (size > 0) & _user_flags(_WEB, seed, c, i)["registered"] & ~found
            wc[ok], wi[ok] = c[ok], i[ok]
            found |= ok
        web_ids = _web_user_id(wc, wi)
        for j, f, wid in zip(li.tolist(), found.tolist(), web_ids):
            if f:
                profile[j] = wid
        linked[li[~found]] = False
    tracker = _pick(_u(seed, "mob-tracker", key), [t[3] for t in _TRACKERS])
    conn = np.where(_u(seed, "mob-conn", key) < 0.55, "wifi", "cell")
    out: dict[str, list] = {k: [] for k in ("os_name", "os_version", "device_manufacturer", "device_model",
                                            "device_type", "device_locale", "city", "country_iso_code",
                                            "operator_name", "mcc", "mnc", "google_aid", "ios_ifa",
                                            "device_ipv6", "ios_ifv", "original_device_model", "windows_aid")}
    uop = _u(seed, "mob-op", key).tolist()
    for j, (is_ios, ma, mi, oa, oi, ci, l_, a, u_op) in enumerate(zip(
            ios.tolist(), mod_a.tolist(), mod_i.tolist(), osv_a.tolist(), osv_i.tolist(), city.tolist(),
            lat.tolist(), ad, uop)):
        c = _CITIES[ci]
        if is_ios:
            man, model, _ = _IOS[mi]
            out["os_name"].append("ios")
            out["os_version"].append(_IOS_OS[oi][0])
            out["google_aid"].append("")
            out["ios_ifa"].append("00000000-0000-0000-0000-000000000000" if l_ else a.decode().upper())
            out["ios_ifv"].append(str(uuid.UUID(bytes=hashlib.md5(b"ifv:%d" % int(key[j])).digest())).upper())
        else:
            man, model, _ = _ANDROID[ma]
            out["os_name"].append("android")
            out["os_version"].append(_ANDROID_OS[oa][0])
            out["google_aid"].append(a.decode())
            out["ios_ifa"].append("")
            out["ios_ifv"].append("")
        out["device_manufacturer"].append(man)
        out["device_model"].append(model)
        # the model as the device names itself (e.g. 'iphone_14_pro'); IPv6 for a third of the devices (mobile
        # networks hand it out more and more); no Windows devices, so windows_aid stays empty as on real apps
        out["original_device_model"].append(model.lower().replace(" ", "_"))
        out["device_ipv6"].append(f"2a00:1fa0:{int(key[j]) % 65536:x}:{j % 65536:x}::1" if key[j] % 3 == 0 else "")
        out["windows_aid"].append("")
        out["device_type"].append("tablet" if ("iPad" in model or "Tab" in model or "Pad" in model) else "phone")
        out["device_locale"].append(_LOCALE[c[6]])
        out["city"].append(c[0])
        out["country_iso_code"].append(c[2])
        mcc, ops = _OPERATORS[c[2]]
        k = int(_pick(np.array([u_op]), [o[2] for o in ops])[0])
        out["operator_name"].append(ops[k][0])
        out["mcc"].append(mcc)
        out["mnc"].append(ops[k][1])
    out.update({
        "key": key.tolist(), "appmetrica_device_id": [str(v) for v in dev_id.tolist()],
        "installation_id": inst_hex, "profile_id": profile, "linked": linked.tolist(),
        "registered": fl["registered"].tolist(), "treatment": fl["treatment"].tolist(),
        "exposed": fl["exposed"].tolist(), "converts": fl["converts"].tolist(),
        "signup_loops": fl["signup_loops"].tolist(), "app_version_name": version,
        "connection_type": conn.tolist(), "tracker": tracker.tolist(),
        "creation_ms": _first_session_start(pop, seed, cohort, key).tolist() if len(key) else [],
    })
    return out


def _mob_browse_step(rnd: random.Random, out: list) -> None:
    r = rnd.random()
    if r < 0.35:
        out.append(("screen_view", {"screen": rnd.choice(("home", "catalog", "category", "favorites", "profile",
                                                          "promo"))}))
    elif r < 0.68:
        pid, cat, price = _product(rnd)
        out.append(("product_view", {"screen": "product", "product_id": pid, "category": cat, "price": price}))
    elif r < 0.86:
        out.append(("search", {"screen": "search", "query": rnd.choice(_SEARCH_OK),
                               "results_count": rnd.randrange(3, 240)}))
    elif r < 0.99:
        pid, cat, price = _product(rnd)
        out.append(("add_to_cart", {"screen": "cart", "product_id": pid, "price": price}))
    else:
        out.append(("app_error", {"screen": "catalog", "error_message": "Image failed to load"}))


def _mob_purchase_core(rnd: random.Random, full: bool) -> list:
    pid, cat, price = _product(rnd)
    qty = 1 if rnd.random() < 0.8 else 2
    ev = [("product_view", {"screen": "product", "product_id": pid, "category": cat, "price": price}),
          ("add_to_cart", {"screen": "cart", "product_id": pid, "price": price, "quantity": qty})]
    if full:
        ev.append(("screen_view", {"screen": "cart"}))
    ev.append(("checkout_start", {"screen": "checkout", "cart_value": price * qty, "items": qty}))
    ev.append(("purchase", {"screen": "checkout", "order_id": f"ORD-{rnd.randrange(10**8, 10**9)}",
                            "revenue": price * qty, "currency": CURRENCY, "items": qty,
                            "payment_method": rnd.choice(("card", "card", "sbp", "google_pay"))}))
    if full:
        ev.append(("screen_view", {"screen": "order_success"}))
    return ev


def _mob_session(rnd: random.Random, pattern: int, n: int, u: dict, i: int, first: bool) -> tuple[list, list]:
    """Mobile events (name, attributes) of a session of exactly n events and whether profile_id is set."""
    registered = u["registered"][i]
    exposed = u["exposed"][i]
    if pattern == P_SERVER:
        return [("push_opened", {"campaign": rnd.choice(("weekly_digest", "abandoned_cart", "promo"))})], [
            registered and not first]
    if pattern == P_ONBOARDING:
        pre: list = [("screen_view", {"screen": "onboarding"})]
        prof = [False]
        variant = "treatment" if u["treatment"][i] else "control"
        if exposed:
            pre.append((APPMETRICA_EXPOSURE_EVENT, {"flag_key": EXPERIMENT_FLAG, "variant": variant}))
            prof.append(False)
        if registered:
            pre.append(("sign_up_start", {"screen": "sign_up", "method": "phone"}))
            prof.append(False)
            pre.append(("screen_view", {"screen": "sign_up_code"}))
            prof.append(False)
            msg = rnd.choice(ERROR_MESSAGES["signup_loop"])
            for _ in range(u["signup_loops"][i]):
                pre.append(("sign_up_error", {"screen": "sign_up", "error_message": msg}))
                prof.append(False)
            pre.append(("sign_up", {"screen": "sign_up", "method": "phone"}))
            prof.append(True)
            pre.append(("screen_view", {"screen": "profile_setup"}))
            prof.append(True)
        pre.append(("screen_view", {"screen": "welcome_quiz" if exposed and variant == "treatment" else "home"}))
        prof.append(registered)
        post = _mob_purchase_core(rnd, False) if u["converts"][i] else []
        fill: list = []
        for _ in range(n - len(pre) - len(post)):
            _mob_browse_step(rnd, fill)
        return pre + fill + post, prof + [registered] * (len(fill) + len(post))
    name = _PAT_NAMES[pattern]
    if name == "browse":
        core: list = []
    elif name == "purchase":
        core = _mob_purchase_core(rnd, True) + [("screen_view", {"screen": "orders"})]
    elif name == "payment_failure":
        pid, cat, price = _product(rnd)
        msg = rnd.choice(ERROR_MESSAGES["payment_failure"])
        core = [("product_view", {"screen": "product", "product_id": pid, "category": cat, "price": price}),
                ("add_to_cart", {"screen": "cart", "product_id": pid, "price": price, "quantity": 1}),
                ("checkout_start", {"screen": "checkout", "cart_value": price, "items": 1})]
        core += [("payment_error", {"screen": "checkout", "error_message": msg, "amount": price})] * 2
        core.append(("screen_view", {"screen": "cart"}))
    elif name == "search_no_results":
        core = [("search", {"screen": "search", "query": q, "results_count": 0})
                for q in rnd.sample(_SEARCH_NONE, 3)]
        core.append(("screen_view", {"screen": "catalog"}))
    elif name == "login_loop":
        msg = ERROR_MESSAGES["login_loop"][0]
        core = [("screen_view", {"screen": "login"})]
        core += [("login_error", {"screen": "login", "error_message": msg})] * 3
        core += [("screen_view", {"screen": "password_reset"}), ("login", {"screen": "login", "method": "phone"})]
    else:
        msg = rnd.choice(ERROR_MESSAGES["error_page"])
        scr = rnd.choice(("checkout", "orders", "catalog"))
        core = [("app_error", {"screen": scr, "error_message": msg}), ("screen_view", {"screen": scr}),
                ("app_error", {"screen": scr, "error_message": msg})]
    head = [("screen_view", {"screen": "home"})]
    fill = []
    for _ in range(n - 1 - len(core)):
        _mob_browse_step(rnd, fill)
    ev = head + fill + core
    return ev, [registered] * len(ev)


class _BodyWriter:
    """Streams a ``{"data":[...]}`` body to a file, optionally gzip-compressed (level 1, mtime 0)."""

    def __init__(self, dest: str, gzip_output: bool):
        self.dest = dest
        self.tmp = dest + ".tmp"
        self.fh = open(self.tmp, "wb")
        self.comp = zlib.compressobj(1, zlib.DEFLATED, 31) if gzip_output else None
        self.buf: list[bytes] = [b'{"data":[\n']
        self.count = 0
        self.size = 0

    def _flush(self) -> None:
        data = b"".join(self.buf)
        self.buf = []
        self.fh.write(self.comp.compress(data) if self.comp else data)

    def add(self, rec: bytes) -> None:
        if self.count:
            self.buf.append(b",\n")
        self.buf.append(rec)
        self.count += 1
        if len(self.buf) >= 4096:
            self._flush()

    def close(self) -> int:
        self.buf.append(b"\n]}\n" if self.count else b"]}\n")
        self._flush()
        if self.comp:
            self.fh.write(self.comp.flush())
        self.fh.close()
        os.replace(self.tmp, self.dest)
        return os.path.getsize(self.dest)

    def abort(self) -> None:
        self.fh.close()
        try:
            os.remove(self.tmp)
        except OSError:
            pass


def _mob_context(day: dt.date | str, events_per_day: int, seed: int):
    d = _as_date(day)
    dn = _day_num(d)
    ar = _build_archive(_MOB, events_per_day, seed, dn)
    u = _mob_users(seed, ar.s_cohort, ar.s_uidx, ar.s_plan_dn, events_per_day)
    rng = np.random.Generator(np.random.PCG64(_seed_int(seed, "mob-ts", dn)))
    late = ar.s_delay > 0
    day_end = (_day_start_ms(dn + 1)) // 1000 - 1
    # receive time per session: normal sessions are sent a few seconds after their last event
    last = np.zeros(len(ar.s_n), np.int64)
    if len(ar.e_sess):
        np.maximum.at(last, ar.e_sess, ar.e_time)
    recv_normal = np.minimum(last // 1000 + rng.integers(2, 90, len(ar.s_n)), day_end)
    s_recv = np.where(late, ar.s_upload // 1000, recv_normal)
    sess_num = 10_000_000_000 + (ar.s_plan_dn - ar.s_cohort) * 16 + np.where(ar.s_pattern == P_SERVER, 15, ar.s_seq)
    return d, dn, ar, u, s_recv, sess_num


def _build_number(version: str) -> str:
    """The build number of an app version, as AppMetrica reports it: '8.1.0' -> '80100'."""
    major, minor, patch = (int(part) for part in (version.split(".") + ["0", "0"])[:3])
    return str(major * 10000 + minor * 100 + patch)


def _mob_frag(u: dict, i: int, profile: bool, sess_num: int, application_id: int, fields: tuple) -> bytes:
    vals = {
        "app_build_number": _build_number(u["app_version_name"][i]),
        "appmetrica_device_id": u["appmetrica_device_id"][i], "installation_id": u["installation_id"][i],
        "profile_id": u["profile_id"][i] if profile else "", "session_id": str(sess_num),
        "app_package_name": APPMETRICA_PACKAGE, "application_id": str(application_id),
    }
    d = {}
    for f in fields:
        d[f] = vals[f] if f in vals else u[f][i]
    return orjson.dumps(d)[1:-1]


def write_appmetrica_events_json(day: dt.date | str, dest: str | os.PathLike, *, events_per_day: int,
                                 application_id: int = 4000001, seed: int = 42, gzip_output: bool = False
                                 ) -> DemoSummary:
    """Write the Logs API ``events.json`` body of Moscow day ``day`` (by event_receive_datetime)."""
    d, dn, ar, u, s_recv, sess_num = _mob_context(day, events_per_day, seed)
    nev = len(ar.e_pos)
    ev_sec = ar.e_time // 1000
    e_recv = s_recv[ar.e_sess]
    order = np.lexsort((ar.e_pos, ar.e_sess, e_recv))
    sess_seed = _h(seed, "mob-sess", (ar.s_plan_dn << 32) | ar.s_index).tolist()
    dev_fields = APPMETRICA_EVENT_FIELDS[6:]
    w = _BodyWriter(os.fspath(dest), gzip_output)
    cache: dict[int, list] = {}
    remaining = ar.s_n.copy().tolist()
    users: set[int] = set()
    try:
        chunk = 65536
        for lo in range(0, nev, chunk):
            idx = order[lo:lo + chunk]
            es = ar.e_sess[idx].tolist()
            ep = ar.e_pos[idx].tolist()
            f_edt = _ts_sec(ev_sec[idx])
            f_ets = ev_sec[idx].tolist()
            f_rdt = _ts_sec(e_recv[idx])
            f_rts = e_recv[idx].tolist()
            for j, (s, p) in enumerate(zip(es, ep)):
                c = cache.get(s)
                if c is None:
                    rnd = random.Random(sess_seed[s])
                    events, prof = _mob_session(rnd, int(ar.s_pattern[s]), int(ar.s_n[s]), u, s,
                                                bool(ar.s_first[s]))
                    frags = {pv: _mob_frag(u, s, pv, int(sess_num[s]), application_id, dev_fields)
                             for pv in set(prof)}
                    c = cache[s] = [events, prof, frags]
                    users.add(u["key"][s])
                name, attrs = c[0][p]
                w.add(b'{"event_name":%s,"event_json":%s,"event_datetime":"%s","event_timestamp":"%d",'
                      b'"event_receive_datetime":"%s","event_receive_timestamp":"%d",%s}' % (
                          _etype(name), orjson.dumps(orjson.dumps(attrs).decode()), f_edt[j].encode(),
                          f_ets[j], f_rdt[j].encode(), f_rts[j], c[2][c[1][p]]))
                remaining[s] -= 1
                if remaining[s] == 0:
                    del cache[s]
        size = w.close()
    except BaseException:
        w.abort()
        raise
    return DemoSummary(events=nev, files=1, bytes=size, users=len(users), sessions=len(ar.s_n),
                       late_events=int((ar.s_delay[ar.e_sess] > 0).sum()), duplicates=0)


def write_appmetrica_table_json(table: str, day: dt.date | str, dest: str | os.PathLike, *, events_per_day: int,
                                application_id: int = 4000001, seed: int = 42, gzip_output: bool = False
                                ) -> DemoSummary:
    """Write the Logs API body of ``installations`` or ``sessions_starts`` for Moscow day ``day``
    (by receive date), consistent with :func:`write_appmetrica_events_json` of the same arguments."""
    if table not in ("installations", "sessions_starts"):
        raise ValueError(f"unknown AppMetrica demo table {table!r}; expected 'installations' or 'sessions_starts'")
    d, dn, ar, u, s_recv, sess_num = _mob_context(day, events_per_day, seed)
    recs: list[tuple[int, int, bytes]] = []
    users: set[int] = set()
    if table == "installations":
        sel = np.nonzero(ar.s_first)[0]
        for s in sel.tolist():
            inst = ar.s_start[s] // 1000
            recv = int(s_recv[s])
            tr = _TRACKERS[u["tracker"][s]]
            click = inst - 60 - int(_h(seed, "mob-click", u["key"][s])[0] % 3000) if tr[0] else None
            rec = {"application_id": str(application_id), "installation_id": u["installation_id"][s],
                   "appmetrica_device_id": u["appmetrica_device_id"][s],
                   "install_datetime": _ts_sec(np.array([inst]))[0], "install_timestamp": str(inst),
                   "install_receive_datetime": _ts_sec(np.array([recv]))[0], "install_receive_timestamp": str(recv),
                   "is_reinstallation": "false", "match_type": tr[2], "tracker_name": tr[0],
                   "publisher_name": tr[1],
                   "click_datetime": _ts_sec(np.array([click]))[0] if click else "",
                   "click_timestamp": str(click) if click else ""}
            for f in _DEVICE_FIELDS:
                rec[f] = APPMETRICA_PACKAGE if f == "app_package_name" else u[f][s]
            rec["google_aid"] = u["google_aid"][s]
            rec["ios_ifa"] = u["ios_ifa"][s]
            recs.append((recv, s, orjson.dumps({k: rec[k] for k in APPMETRICA_INSTALLATION_FIELDS})))
            users.add(u["key"][s])
    else:
        sel = np.nonzero(ar.s_pattern != P_SERVER)[0]
        for s in sel.tolist():
            st = ar.s_start[s] // 1000
            recv = int(s_recv[s])
            profile = u["registered"][s] and not ar.s_first[s]
            base = orjson.loads(b"{" + _mob_frag(u, s, profile, int(sess_num[s]), application_id,
                                                 APPMETRICA_EVENT_FIELDS[6:]) + b"}")
            rec = {"application_id": str(application_id), "session_id": str(int(sess_num[s])),
                   "session_start_datetime": _ts_sec(np.array([st]))[0], "session_start_timestamp": str(st),
                   "session_start_receive_datetime": _ts_sec(np.array([recv]))[0],
                   "session_start_receive_timestamp": str(recv), **base}
            recs.append((recv, s, orjson.dumps({k: rec[k] for k in APPMETRICA_SESSION_START_FIELDS})))
            users.add(u["key"][s])
    recs.sort(key=lambda r: (r[0], r[1]))
    w = _BodyWriter(os.fspath(dest), gzip_output)
    try:
        for r in recs:
            w.add(r[2])
        size = w.close()
    except BaseException:
        w.abort()
        raise
    return DemoSummary(events=len(recs), files=1, bytes=size, users=len(users), sessions=len(recs))
