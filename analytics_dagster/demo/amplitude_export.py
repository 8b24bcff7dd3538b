"""The Amplitude Export API ZIP of a Moscow day, written by the demo source (streaming; bounded memory)."""

from __future__ import annotations

import datetime as dt
import os
import random
import zipfile
import zlib
from typing import Any

import numpy as np
import orjson

from analytics_dagster.demo.catalog import (
    AMPLITUDE_LIBRARY,
    AMPLITUDE_SERVER_LIBRARY,
    CITIES,
    DUPLICATE_SHARE,
    EXPERIMENT_USER_PROPERTY,
    REPLAY_PROPERTY,
    WEB_PLATFORMS,
)
from analytics_dagster.demo.days import (
    HOUR_MS,
    amplitude_member_name,
    amplitude_timestamps,
    as_date,
    day_number_of,
    day_start_ms,
)
from analytics_dagster.demo.hashing import event_name_json, hash64, seed_of, uuid4_strings
from analytics_dagster.demo.plan import build_archive
from analytics_dagster.demo.population import SERVER_PATTERN, WEB
from analytics_dagster.demo.summary import DemoSummary
from analytics_dagster.demo.web_sessions import KNOWS_EXPERIMENT, KNOWS_PROFILE, KNOWS_USER_ID, web_session_events
from analytics_dagster.demo.web_users import web_users


def _json(v: Any) -> bytes:
    return orjson.dumps(v)


def _escape_percent(b: bytes) -> bytes:
    return b.replace(b"%", b"%%")


class _RenderedSession:
    """Pre-rendered JSON fragments of one session (the parts common to all its events)."""

    __slots__ = ("tmpl", "events", "states", "replay", "remaining")

    def __init__(self, tmpl: dict[int, bytes], events: list, states: list, replay: str | None, n: int):
        self.tmpl = tmpl
        self.events = events
        self.states = states
        self.replay = replay
        self.remaining = n


def _line_templates(
    u: dict, i: int, project_id: int, session_id: int, server: bool, states: set[int], exp_variant: str
) -> dict[int, bytes]:
    """One %-template per state bit combination used in the session."""
    ci = u["city"][i]
    c = CITIES[ci]
    pl = WEB_PLATFORMS[u["platform"][i]]
    library = AMPLITUDE_SERVER_LIBRARY if server else AMPLITUDE_LIBRARY
    p1 = (
        b'","$insert_key":null,"$schema":12,"adid":null,"amplitude_attribution_ids":null,'
        b'"amplitude_event_type":null,"amplitude_id":'
        + str(u["amplitude_id"][i]).encode()
        + b',"app":'
        + str(project_id).encode()
        + b',"city":'
        + _json(c[0])
        + b',"client_event_time":"'
    )
    p2 = (
        b'","country":'
        + _json(c[1])
        + b',"data":{"path":"/2/httpapi","group_first_event":{},"group_ids":{}},"data_type":"event",'
        b'"device_brand":null,"device_carrier":null,"device_family":'
        + _json(pl[0])
        + b',"device_id":'
        + _json(u["device_id"][i].decode())
        + b',"device_manufacturer":null,'
        b'"device_model":'
        + _json(pl[2])
        + b',"device_type":'
        + _json(pl[1])
        + b',"dma":'
        + _json(c[4])
        + b',"event_id":'
    )
    p3 = (
        b',"global_user_properties":{},"group_properties":{},"groups":{},"idfa":null,"ip_address":'
        + _json(u["ip"][i])
        + b',"is_attribution_event":false,"language":'
        + _json(c[6])
        + b',"library":'
        + _json(library)
        + b',"location_lat":null,"location_lng":null,"os_name":'
        + _json(u["browser"][i])
        + b',"os_version":'
        + _json(u["browser_version"][i])
        + b',"partner_id":null,"paying":null,"plan":{},"platform":"Web","processed_time":"'
    )
    p4 = b'","region":' + _json(c[3]) + b',"sample_rate":null,"server_received_time":"'
    creation = u["creation"][i]
    p5 = (
        b'","session_id":' + str(session_id).encode() + b',"source_id":null,"start_version":null,'
        b'"user_creation_time":"' + creation + b'","user_id":'
    )
    p6 = b',"version_name":' + _json(u["version"][i]) + b"}\n"
    out = {}
    for st in states:
        up: dict[str, Any] = {}
        if st & KNOWS_PROFILE:
            up = {
                "birth_year": u["birth_year"][i],
                "gender": u["gender"][i],
                "registration_date": u["registration_date"][i],
                "initial_utm_source": u["utm"][i],
                "plan": u["plan"][i],
                "city": c[0],
                "app_version": u["version"][i],
            }
        else:
            up = {"initial_utm_source": u["utm"][i], "app_version": u["version"][i]}
        if st & KNOWS_EXPERIMENT:
            up[EXPERIMENT_USER_PROPERTY] = exp_variant
        uid = _json(u["user_id"][i]) if st & KNOWS_USER_ID else b"null"
        tmpl = (
            b'{"$insert_id":"%s'
            + _escape_percent(p1)
            + b'%s","client_upload_time":"%s'
            + _escape_percent(p2)
            + b'%d,"event_properties":%s,"event_time":"%s","event_type":%s'
            + _escape_percent(p3)
            + b"%s"
            + _escape_percent(p4)
            + b'%s","server_upload_time":"%s'
            + _escape_percent(p5)
            + _escape_percent(uid)
            + b',"user_properties":'
            + _escape_percent(_json(up))
            + b',"uuid":"%s"'
            + _escape_percent(p6)
        )
        out[st] = tmpl
    return out


def write_amplitude_export_zip(
    day: dt.date | str, dest: str | os.PathLike, *, events_per_day: int, project_id: int = 100001, seed: int = 42
) -> DemoSummary:
    """Write the Amplitude Export API ZIP of Moscow day ``day`` to ``dest`` (streaming; bounded memory)."""
    d = as_date(day)
    day_number = day_number_of(d)
    ar = build_archive(WEB, events_per_day, seed, day_number)
    ns = len(ar.s_n)
    nev = len(ar.e_pos)
    # --- users of the archive's sessions, changing attributes as of the session's own day -------
    u = web_users(seed, ar.s_cohort, ar.s_uidx, ar.s_plan_dn)
    # --- per-event timestamps -------------------------------------------------------------------
    rng = np.random.Generator(np.random.PCG64(seed_of(seed, "web-ts", day_number)))
    skew = np.asarray(u["skew"], dtype=np.int64)[ar.e_sess]
    late = ar.s_delay[ar.e_sess] > 0
    t = ar.e_time
    c_up = np.where(late, ar.s_upload[ar.e_sess], t + rng.integers(150, 1_200, nev))
    s_recv = c_up + rng.integers(30, 400, nev)
    s_up = s_recv + rng.integers(1, 40, nev)
    proc = s_up + rng.integers(400, 5_000, nev)
    win0 = day_start_ms(day_number)
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
    server = ar.s_pattern == SERVER_PATTERN
    sess_id = np.where(server, -1, sess_id)
    sess_seed = hash64(seed, "web-sess", s_key).tolist()
    s_event0 = np.asarray((ar.s_plan_dn - ar.s_cohort) * 1000 + ar.s_evbase, dtype=np.int64)
    dest = os.fspath(dest)
    tmp = dest + ".tmp"
    cache: dict[int, _RenderedSession] = {}
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
            ev_uuid = uuid4_strings(hash64(seed, "uuid1", s_key[es], ep), hash64(seed, "uuid2", s_key[es], ep))
            ev_ins = uuid4_strings(hash64(seed, "ins1", s_key[es], ep), hash64(seed, "ins2", s_key[es], ep))
            sk = skew[idx]
            f_cet = amplitude_timestamps(t[idx] + sk)
            f_cut = amplitude_timestamps(c_up[idx] + sk)
            f_et = amplitude_timestamps(t[idx])
            f_proc = amplitude_timestamps(proc[idx])
            f_recv = amplitude_timestamps(s_recv[idx])
            f_up = amplitude_timestamps(s_up[idx])
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
                        events, states = web_session_events(rnd, pattern, int(ar.s_n[s]), u, i, bool(ar.s_first[s]))
                        variant = "treatment" if u["treatment"][i] else "control"
                        tm = _line_templates(
                            u, i, project_id, int(sess_id[s]), pattern == SERVER_PATTERN, set(states), variant
                        )
                        replay = f"{u['device_id'][i].decode()}/{int(sess_id[s])}" if ar.s_replay[s] else None
                        r = cache[s] = _RenderedSession(tm, events, states, replay, int(ar.s_n[s]))
                        users_seen.add(u["key"][s])
                    etype, props = r.events[p]
                    if r.replay is not None:
                        props = dict(props)
                        props[REPLAY_PROPERTY] = r.replay
                    line = r.tmpl[r.states[p]] % (
                        ev_ins[j],
                        f_cet[j],
                        f_cut[j],
                        int(s_event0[s]) + p,
                        orjson.dumps(props),
                        f_et[j],
                        event_name_json(etype),
                        f_proc[j],
                        f_recv[j],
                        f_up[j],
                        ev_uuid[j],
                    )
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
    return DemoSummary(
        events=written,
        files=files,
        bytes=os.path.getsize(dest),
        users=len(users_seen),
        sessions=int(ns - server.sum()),
        late_events=int(late.sum()),
        duplicates=dups_written,
        first_hour=first_hour,
    )
