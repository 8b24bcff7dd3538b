"""AppMetrica Logs API bodies of a Moscow day (by receive date), written by the demo source: ``events.json``,
``installations.json`` and ``sessions_starts.json``, every value a string as the API sends it."""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import random
import zlib

import numpy as np
import orjson

from analytics_dagster.demo.catalog import APPMETRICA_PACKAGE, TRACKERS
from analytics_dagster.demo.days import as_date, day_number_of, day_start_ms, moscow_datetimes
from analytics_dagster.demo.hashing import event_name_json, hash64, seed_of
from analytics_dagster.demo.mobile_sessions import mobile_session_events
from analytics_dagster.demo.mobile_users import mobile_users
from analytics_dagster.demo.plan import build_archive
from analytics_dagster.demo.population import MOBILE, SERVER_PATTERN
from analytics_dagster.demo.summary import DemoSummary
from analytics_dagster.lib.appmetrica import DEVICE_FIELDS, EVENT_FIELDS, INSTALLATION_FIELDS, SESSION_START_FIELDS


class LogsApiBodyWriter:
    """Streams a ``{"data":[...]}`` body to a file, optionally gzip-compressed (level 1, mtime 0)."""

    def __init__(self, dest: str, gzip_output: bool):
        self.dest = dest
        self.tmp = dest + ".tmp"
        self.fh = open(self.tmp, "wb")  # noqa: SIM115 - held across add() calls; close() or abort() ends it
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
        with contextlib.suppress(OSError):
            os.remove(self.tmp)


def _mobile_day(day: dt.date | str, events_per_day: int, seed: int):
    d = as_date(day)
    day_number = day_number_of(d)
    ar = build_archive(MOBILE, events_per_day, seed, day_number)
    u = mobile_users(seed, ar.s_cohort, ar.s_uidx, ar.s_plan_dn, events_per_day)
    rng = np.random.Generator(np.random.PCG64(seed_of(seed, "mob-ts", day_number)))
    late = ar.s_delay > 0
    day_end = (day_start_ms(day_number + 1)) // 1000 - 1
    # receive time per session: normal sessions are sent a few seconds after their last event
    last = np.zeros(len(ar.s_n), np.int64)
    if len(ar.e_sess):
        np.maximum.at(last, ar.e_sess, ar.e_time)
    recv_normal = np.minimum(last // 1000 + rng.integers(2, 90, len(ar.s_n)), day_end)
    s_recv = np.where(late, ar.s_upload // 1000, recv_normal)
    session_in_day = np.where(ar.s_pattern == SERVER_PATTERN, 15, ar.s_seq)
    sess_num = 10_000_000_000 + (ar.s_plan_dn - ar.s_cohort) * 16 + session_in_day
    return d, day_number, ar, u, s_recv, sess_num


def _build_number(version: str) -> str:
    """The build number of an app version, as AppMetrica reports it: '8.1.0' -> '80100'."""
    major, minor, patch = (int(part) for part in (version.split(".") + ["0", "0"])[:3])
    return str(major * 10000 + minor * 100 + patch)


def _device_fragment(u: dict, i: int, profile: bool, sess_num: int, application_id: int, fields: tuple) -> bytes:
    vals = {
        "app_build_number": _build_number(u["app_version_name"][i]),
        "appmetrica_device_id": u["appmetrica_device_id"][i],
        "installation_id": u["installation_id"][i],
        "profile_id": u["profile_id"][i] if profile else "",
        "session_id": str(sess_num),
        "app_package_name": APPMETRICA_PACKAGE,
        "application_id": str(application_id),
    }
    d = {}
    for f in fields:
        d[f] = vals[f] if f in vals else u[f][i]
    return orjson.dumps(d)[1:-1]


def write_appmetrica_events_json(
    day: dt.date | str,
    dest: str | os.PathLike,
    *,
    events_per_day: int,
    application_id: int = 4000001,
    seed: int = 42,
    gzip_output: bool = False,
) -> DemoSummary:
    """Write the Logs API ``events.json`` body of Moscow day ``day`` (by event_receive_datetime)."""
    d, day_number, ar, u, s_recv, sess_num = _mobile_day(day, events_per_day, seed)
    nev = len(ar.e_pos)
    ev_sec = ar.e_time // 1000
    e_recv = s_recv[ar.e_sess]
    order = np.lexsort((ar.e_pos, ar.e_sess, e_recv))
    sess_seed = hash64(seed, "mob-sess", (ar.s_plan_dn << 32) | ar.s_index).tolist()
    dev_fields = EVENT_FIELDS[6:]
    w = LogsApiBodyWriter(os.fspath(dest), gzip_output)
    cache: dict[int, list] = {}
    remaining = ar.s_n.copy().tolist()
    users: set[int] = set()
    try:
        chunk = 65536
        for lo in range(0, nev, chunk):
            idx = order[lo : lo + chunk]
            es = ar.e_sess[idx].tolist()
            ep = ar.e_pos[idx].tolist()
            f_edt = moscow_datetimes(ev_sec[idx])
            f_ets = ev_sec[idx].tolist()
            f_rdt = moscow_datetimes(e_recv[idx])
            f_rts = e_recv[idx].tolist()
            for j, (s, p) in enumerate(zip(es, ep)):
                c = cache.get(s)
                if c is None:
                    rnd = random.Random(sess_seed[s])
                    events, prof = mobile_session_events(
                        rnd, int(ar.s_pattern[s]), int(ar.s_n[s]), u, s, bool(ar.s_first[s])
                    )
                    frags = {
                        pv: _device_fragment(u, s, pv, int(sess_num[s]), application_id, dev_fields) for pv in set(prof)
                    }
                    c = cache[s] = [events, prof, frags]
                    users.add(u["key"][s])
                name, attrs = c[0][p]
                w.add(
                    b'{"event_name":%s,"event_json":%s,"event_datetime":"%s","event_timestamp":"%d",'
                    b'"event_receive_datetime":"%s","event_receive_timestamp":"%d",%s}'
                    % (
                        event_name_json(name),
                        orjson.dumps(orjson.dumps(attrs).decode()),
                        f_edt[j].encode(),
                        f_ets[j],
                        f_rdt[j].encode(),
                        f_rts[j],
                        c[2][c[1][p]],
                    )
                )
                remaining[s] -= 1
                if remaining[s] == 0:
                    del cache[s]
        size = w.close()
    except BaseException:
        w.abort()
        raise
    return DemoSummary(
        events=nev,
        files=1,
        bytes=size,
        users=len(users),
        sessions=len(ar.s_n),
        late_events=int((ar.s_delay[ar.e_sess] > 0).sum()),
        duplicates=0,
    )


def write_appmetrica_table_json(
    table: str,
    day: dt.date | str,
    dest: str | os.PathLike,
    *,
    events_per_day: int,
    application_id: int = 4000001,
    seed: int = 42,
    gzip_output: bool = False,
) -> DemoSummary:
    """Write the Logs API body of ``installations`` or ``sessions_starts`` for Moscow day ``day``
    (by receive date), consistent with :func:`write_appmetrica_events_json` of the same arguments."""
    if table not in ("installations", "sessions_starts"):
        raise ValueError(f"unknown AppMetrica demo table {table!r}; expected 'installations' or 'sessions_starts'")
    d, day_number, ar, u, s_recv, sess_num = _mobile_day(day, events_per_day, seed)
    recs: list[tuple[int, int, bytes]] = []
    users: set[int] = set()
    if table == "installations":
        sel = np.nonzero(ar.s_first)[0]
        for s in sel.tolist():
            inst = ar.s_start[s] // 1000
            recv = int(s_recv[s])
            tr = TRACKERS[u["tracker"][s]]
            click = inst - 60 - int(hash64(seed, "mob-click", u["key"][s])[0] % 3000) if tr[0] else None
            rec = {
                "application_id": str(application_id),
                "installation_id": u["installation_id"][s],
                "appmetrica_device_id": u["appmetrica_device_id"][s],
                "install_datetime": moscow_datetimes(np.array([inst]))[0],
                "install_timestamp": str(inst),
                "install_receive_datetime": moscow_datetimes(np.array([recv]))[0],
                "install_receive_timestamp": str(recv),
                "is_reinstallation": "false",
                "match_type": tr[2],
                "tracker_name": tr[0],
                "publisher_name": tr[1],
                "click_datetime": moscow_datetimes(np.array([click]))[0] if click else "",
                "click_timestamp": str(click) if click else "",
            }
            for f in DEVICE_FIELDS:
                rec[f] = APPMETRICA_PACKAGE if f == "app_package_name" else u[f][s]
            rec["google_aid"] = u["google_aid"][s]
            rec["ios_ifa"] = u["ios_ifa"][s]
            recs.append((recv, s, orjson.dumps({k: rec[k] for k in INSTALLATION_FIELDS})))
            users.add(u["key"][s])
    else:
        sel = np.nonzero(ar.s_pattern != SERVER_PATTERN)[0]
        for s in sel.tolist():
            st = ar.s_start[s] // 1000
            recv = int(s_recv[s])
            profile = u["registered"][s] and not ar.s_first[s]
            base = orjson.loads(
                b"{" + _device_fragment(u, s, profile, int(sess_num[s]), application_id, EVENT_FIELDS[6:]) + b"}"
            )
            rec = {
                "application_id": str(application_id),
                "session_id": str(int(sess_num[s])),
                "session_start_datetime": moscow_datetimes(np.array([st]))[0],
                "session_start_timestamp": str(st),
                "session_start_receive_datetime": moscow_datetimes(np.array([recv]))[0],
                "session_start_receive_timestamp": str(recv),
                **base,
            }
            recs.append((recv, s, orjson.dumps({k: rec[k] for k in SESSION_START_FIELDS})))
            users.add(u["key"][s])
    recs.sort(key=lambda r: (r[0], r[1]))
    w = LogsApiBodyWriter(os.fspath(dest), gzip_output)
    try:
        for r in recs:
            w.add(r[2])
        size = w.close()
    except BaseException:
        w.abort()
        raise
    return DemoSummary(events=len(recs), files=1, bytes=size, users=len(users), sessions=len(recs))
