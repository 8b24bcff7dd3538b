"""Attributes of web (Amplitude) users: stable ones from the user hash, changing ones as of a day."""

from __future__ import annotations

import datetime as dt

import numpy as np

from analytics_dagster.demo.catalog import CITIES, CITY_WEIGHTS, UTM_SOURCES, UTM_WEIGHTS, WEB_PLATFORMS
from analytics_dagster.demo.days import EPOCH, amplitude_timestamps, day_number_of
from analytics_dagster.demo.hashing import hash64, pick_weighted, uniform, uuid4_strings
from analytics_dagster.demo.population import WEB, first_session_start, user_flags


def web_user_ids(cohort: np.ndarray, idx: np.ndarray) -> list[str]:
    """The product's user id of a registered web user: a numeric string, unique while a cohort has
    fewer than 1,000,000 new users (i.e. up to ~2e8 events per day)."""
    return [str(v) for v in (1_000_000 + cohort.astype(np.int64) * 1_000_000 + idx).tolist()]


def web_app_versions(day_number: np.ndarray | int, lag: np.ndarray | int) -> list[str]:
    rel = (np.asarray(day_number) - np.asarray(lag)) // 14
    rel = np.atleast_1d(np.maximum(rel, 0))
    return [f"{1 + r // 26}.{r % 26}.{(r * 7) % 3}" for r in rel.tolist()]


def web_users(seed: int, cohort: np.ndarray, idx: np.ndarray, dn_state: np.ndarray) -> dict[str, list]:
    """Attributes of web users (stable ones from the user hash; changing ones as of day dn_state)."""
    pop = WEB
    key = (cohort.astype(np.int64) << 24) | idx
    flags = user_flags(pop, seed, cohort, idx)
    n = len(key)
    age = dn_state - cohort
    dev = uuid4_strings(hash64(seed, "web-dev1", key), hash64(seed, "web-dev2", key))
    amp_id = (100_000_000_000 + cohort * 4_000_000 + idx).tolist()
    user_id = web_user_ids(cohort, idx)
    city0 = pick_weighted(uniform(seed, "web-city", key), CITY_WEIGHTS)
    moves = uniform(seed, "web-move", key) < 0.08
    move_age = 7 + (uniform(seed, "web-move-age", key) * 120).astype(np.int64)
    city1 = pick_weighted(uniform(seed, "web-city2", key), CITY_WEIGHTS)
    city = np.where(moves & (age >= move_age), city1, city0)
    plat = pick_weighted(uniform(seed, "web-plat", key), [p[4] for p in WEB_PLATFORMS])
    ub = uniform(seed, "web-browser", key)
    uv = uniform(seed, "web-bver", key)
    browsers, versions = [], []
    for pi, b, v, dn_s in zip(plat.tolist(), ub.tolist(), uv.tolist(), np.broadcast_to(dn_state, key.shape).tolist()):
        opts = WEB_PLATFORMS[pi][3]
        j = int(pick_weighted(np.array([b]), [o[3] for o in opts])[0])
        name, ref, ref_day, period, _ = opts[j]
        browsers.append(name)
        cur = ref + (dn_s - day_number_of(dt.date.fromisoformat(ref_day))) // period
        versions.append(str(max(1, cur - int(v * 3))))
    birth_offset = uniform(seed, "web-by1", key) * 23 + uniform(seed, "web-by2", key) * 22
    birth = (1962 + birth_offset.astype(np.int64)).tolist()
    gender_index = pick_weighted(uniform(seed, "web-g", key), (0.48, 0.48, 0.04))
    gender = np.array(["male", "female", "other"])[gender_index].tolist()
    utm = np.array(UTM_SOURCES)[pick_weighted(uniform(seed, "web-utm", key), UTM_WEIGHTS)].tolist()
    upgrades = uniform(seed, "web-upg", key) < 0.25
    upg_age = 3 + (uniform(seed, "web-upg-age", key) * 57).astype(np.int64)
    plan = np.where(upgrades & (age >= upg_age), "pro", "free").tolist()
    lag = (uniform(seed, "web-vlag", key) * 10).astype(np.int64)
    ver = web_app_versions(dn_state, lag)
    skew = np.where(
        uniform(seed, "web-skew", key) < 0.8, 0, ((uniform(seed, "web-skew2", key) - 0.5) * 240_000).astype(np.int64)
    ).tolist()
    ipu = hash64(seed, "web-ip", key)
    ips = []
    for ci, hv in zip(city.tolist(), ipu.tolist()):
        firsts = CITIES[ci][9]
        ips.append(f"{firsts[hv % len(firsts)]}.{(hv >> 8) & 255}.{(hv >> 16) & 255}.{1 + (hv >> 24) % 254}")
    creation = amplitude_timestamps(first_session_start(pop, seed, cohort, key)) if n else []
    reg_date = [(EPOCH + dt.timedelta(days=c)).isoformat() for c in cohort.tolist()]
    method_index = pick_weighted(uniform(seed, "web-method", key), (0.6, 0.3, 0.1))
    method = np.array(["email", "google", "vk"])[method_index].tolist()
    return {
        "key": key.tolist(),
        "device_id": dev,
        "amplitude_id": amp_id,
        "user_id": user_id,
        "registered": flags["registered"].tolist(),
        "treatment": flags["treatment"].tolist(),
        "exposed": flags["exposed"].tolist(),
        "converts": flags["converts"].tolist(),
        "signup_loops": flags["signup_loops"].tolist(),
        "city": city.tolist(),
        "platform": plat.tolist(),
        "browser": browsers,
        "browser_version": versions,
        "birth_year": birth,
        "gender": gender,
        "utm": utm,
        "plan": plan,
        "version": ver,
        "skew": skew,
        "ip": ips,
        "creation": creation,
        "registration_date": reg_date,
        "method": method,
    }
