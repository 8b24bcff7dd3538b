"""Attributes of mobile (AppMetrica) users: device, ids, place, operator; ~20% are linked to a web user."""

from __future__ import annotations

import hashlib
import uuid

import numpy as np

from analytics_dagster.demo.catalog import (
    ANDROID_MODELS,
    ANDROID_VERSIONS,
    CITIES,
    CITY_WEIGHTS,
    IOS_MODELS,
    IOS_VERSIONS,
    LINKED_MOBILE_SHARE,
    LOCALES,
    OPERATORS,
    TRACKERS,
)
from analytics_dagster.demo.hashing import hash64, pick_weighted, uniform, uuid4_strings
from analytics_dagster.demo.plan import new_users_per_cohort
from analytics_dagster.demo.population import MOBILE, WEB, cohort_sizes, first_session_start, user_flags
from analytics_dagster.demo.web_users import web_user_ids


def mobile_users(
    seed: int, cohort: np.ndarray, idx: np.ndarray, dn_state: np.ndarray, events_per_day: int
) -> dict[str, list]:
    pop = MOBILE
    key = (cohort.astype(np.int64) << 24) | idx
    flags = user_flags(pop, seed, cohort, idx)
    age = dn_state - cohort
    ios = uniform(seed, "mob-os", key) < 0.38
    dev_id = hash64(seed, "mob-dev", key)
    inst = hash64(seed, "mob-inst1", key), hash64(seed, "mob-inst2", key)
    inst_hex = [x.replace(b"-", b"").decode() for x in uuid4_strings(*inst)]
    ad = uuid4_strings(hash64(seed, "mob-ad1", key), hash64(seed, "mob-ad2", key))
    lat = uniform(seed, "mob-lat", key) < 0.25  # limited ad tracking on iOS
    mod_a = pick_weighted(uniform(seed, "mob-model", key), [m[2] for m in ANDROID_MODELS])
    mod_i = pick_weighted(uniform(seed, "mob-model", key), [m[2] for m in IOS_MODELS])
    osv_a = pick_weighted(uniform(seed, "mob-osv", key), [m[1] for m in ANDROID_VERSIONS])
    osv_i = pick_weighted(uniform(seed, "mob-osv", key), [m[1] for m in IOS_VERSIONS])
    city0 = pick_weighted(uniform(seed, "mob-city", key), CITY_WEIGHTS)
    moves = uniform(seed, "mob-move", key) < 0.06
    move_age = 7 + (uniform(seed, "mob-move-age", key) * 120).astype(np.int64)
    city = np.where(moves & (age >= move_age), pick_weighted(uniform(seed, "mob-city2", key), CITY_WEIGHTS), city0)
    lag = (uniform(seed, "mob-vlag", key) * 21).astype(np.int64)
    rel = np.maximum((dn_state - lag) // 14, 0)
    version = [f"{3 + r // 26}.{r % 26}.{(r * 5) % 4}" for r in np.broadcast_to(rel, key.shape).tolist()]
    # profile ids: ~20% of all mobile users are web users (same user_id), other registered ones are
    # mobile-only accounts of the same product (another id range), anonymous ones have ''
    linked = flags["registered"] & (uniform(seed, "mob-link", key) < LINKED_MOBILE_SHARE / pop.registered_share)
    profile = [str(v) for v in (100_000_000_000 + cohort.astype(np.int64) * 1_000_000 + idx).tolist()]
    if linked.any():
        lam_web = new_users_per_cohort(WEB, events_per_day)
        li = np.nonzero(linked)[0]
        found = np.zeros(len(li), bool)
        wc = np.zeros(len(li), np.int64)
        wi = np.zeros(len(li), np.int64)
        for attempt in range(6):
            c = np.maximum(cohort[li] - (uniform(seed, "mob-link-lag", key[li], attempt) * 60).astype(np.int64), 0)
            size = cohort_sizes(WEB, lam_web, seed, c)
            slots = np.maximum(size, 1).astype(np.uint64)
            i = (hash64(seed, "mob-link-idx", key[li], attempt) % slots).astype(np.int64)
            ok = (size > 0) & user_flags(WEB, seed, c, i)["registered"] & ~found
            wc[ok], wi[ok] = c[ok], i[ok]
            found |= ok
        web_ids = web_user_ids(wc, wi)
        for j, f, wid in zip(li.tolist(), found.tolist(), web_ids):
            if f:
                profile[j] = wid
        linked[li[~found]] = False
    tracker = pick_weighted(uniform(seed, "mob-tracker", key), [t[3] for t in TRACKERS])
    conn = np.where(uniform(seed, "mob-conn", key) < 0.55, "wifi", "cell")
    out: dict[str, list] = {
        k: []
        for k in (
            "os_name",
            "os_version",
            "device_manufacturer",
            "device_model",
            "device_type",
            "device_locale",
            "city",
            "country_iso_code",
            "operator_name",
            "mcc",
            "mnc",
            "google_aid",
            "ios_ifa",
            "device_ipv6",
            "ios_ifv",
            "original_device_model",
            "windows_aid",
        )
    }
    uop = uniform(seed, "mob-op", key).tolist()
    for j, (is_ios, ma, mi, oa, oi, ci, l_, a, u_op) in enumerate(
        zip(
            ios.tolist(),
            mod_a.tolist(),
            mod_i.tolist(),
            osv_a.tolist(),
            osv_i.tolist(),
            city.tolist(),
            lat.tolist(),
            ad,
            uop,
        )
    ):
        c = CITIES[ci]
        if is_ios:
            man, model, _ = IOS_MODELS[mi]
            out["os_name"].append("ios")
            out["os_version"].append(IOS_VERSIONS[oi][0])
            out["google_aid"].append("")
            out["ios_ifa"].append("00000000-0000-0000-0000-000000000000" if l_ else a.decode().upper())
            out["ios_ifv"].append(str(uuid.UUID(bytes=hashlib.md5(b"ifv:%d" % int(key[j])).digest())).upper())
        else:
            man, model, _ = ANDROID_MODELS[ma]
            out["os_name"].append("android")
            out["os_version"].append(ANDROID_VERSIONS[oa][0])
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
        out["device_locale"].append(LOCALES[c[6]])
        out["city"].append(c[0])
        out["country_iso_code"].append(c[2])
        mcc, ops = OPERATORS[c[2]]
        k = int(pick_weighted(np.array([u_op]), [o[2] for o in ops])[0])
        out["operator_name"].append(ops[k][0])
        out["mcc"].append(mcc)
        out["mnc"].append(ops[k][1])
    out.update(
        {
            "key": key.tolist(),
            "appmetrica_device_id": [str(v) for v in dev_id.tolist()],
            "installation_id": inst_hex,
            "profile_id": profile,
            "linked": linked.tolist(),
            "registered": flags["registered"].tolist(),
            "treatment": flags["treatment"].tolist(),
            "exposed": flags["exposed"].tolist(),
            "converts": flags["converts"].tolist(),
            "signup_loops": flags["signup_loops"].tolist(),
            "app_version_name": version,
            "connection_type": conn.tolist(),
            "tracker": tracker.tolist(),
            "creation_ms": first_session_start(pop, seed, cohort, key).tolist() if len(key) else [],
        }
    )
    return out
