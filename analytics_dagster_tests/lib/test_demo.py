"""The demo source produces exactly what the Amplitude Export API / AppMetrica Logs API return."""

from __future__ import annotations

import collections
import datetime as dt
import gzip
import re
import uuid
import zipfile
from pathlib import Path

import numpy as np
import orjson
import pytest

from analytics_dagster import demo
from analytics_dagster.demo.population import WEB, user_flags
from analytics_dagster.lib.appmetrica import EVENT_FIELDS, INSTALLATION_FIELDS, SESSION_START_FIELDS

DAY = dt.date(2025, 7, 1)
N = 5000
TS = re.compile(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}\.\d{3}000$")
MEMBER = re.compile(r"^(\d+)/(\d+)_(\d{4}-\d{2}-\d{2})_(\d{1,2})#0\.json\.gz$")

AMPLITUDE_FIELDS = {
    "$insert_id": str,
    "$insert_key": type(None),
    "$schema": int,
    "adid": type(None),
    "amplitude_attribution_ids": type(None),
    "amplitude_event_type": type(None),
    "amplitude_id": int,
    "app": int,
    "city": str,
    "client_event_time": str,
    "client_upload_time": str,
    "country": str,
    "data": dict,
    "data_type": str,
    "device_brand": type(None),
    "device_carrier": type(None),
    "device_family": str,
    "device_id": str,
    "device_manufacturer": type(None),
    "device_model": str,
    "device_type": str,
    "dma": (str, type(None)),
    "event_id": int,
    "event_properties": dict,
    "event_time": str,
    "event_type": str,
    "global_user_properties": dict,
    "group_properties": dict,
    "groups": dict,
    "idfa": type(None),
    "ip_address": str,
    "is_attribution_event": bool,
    "language": str,
    "library": str,
    "location_lat": (float, type(None)),
    "location_lng": (float, type(None)),
    "os_name": str,
    "os_version": str,
    "partner_id": type(None),
    "paying": (str, bool, type(None)),
    "plan": dict,
    "platform": str,
    "processed_time": str,
    "region": str,
    "sample_rate": type(None),
    "server_received_time": str,
    "server_upload_time": str,
    "session_id": int,
    "source_id": type(None),
    "start_version": type(None),
    "user_creation_time": str,
    "user_id": (str, type(None)),
    "user_properties": dict,
    "uuid": str,
    "version_name": str,
}


def _ts(s: str) -> dt.datetime:
    return dt.datetime.strptime(s, "%Y-%m-%d %H:%M:%S.%f")


def _read_zip(path: Path) -> list[tuple[str, bytes, dict]]:
    out = []
    with zipfile.ZipFile(path) as zf:
        for info in zf.infolist():
            assert info.compress_type == zipfile.ZIP_STORED
            for line in gzip.decompress(zf.read(info)).splitlines():
                out.append((info.filename, line, orjson.loads(line)))
    return out


@pytest.fixture(scope="module")
def web(tmp_path_factory) -> dict[dt.date, tuple[Path, demo.DemoSummary, list]]:
    tmp = tmp_path_factory.mktemp("demo_web")
    out = {}
    for d in (DAY - dt.timedelta(days=1), DAY):
        p = tmp / f"{d}.zip"
        s = demo.write_amplitude_export_zip(d, p, events_per_day=N)
        out[d] = (p, s, _read_zip(p))
    return out


@pytest.fixture(scope="module")
def mobile(tmp_path_factory) -> tuple[Path, demo.DemoSummary, list]:
    p = tmp_path_factory.mktemp("demo_mob") / "events.json"
    s = demo.write_appmetrica_events_json(DAY, p, events_per_day=N)
    return p, s, orjson.loads(p.read_bytes())["data"]


def test_amplitude_fields_and_types(web):
    path, summary, rows = web[DAY]
    assert summary.events == len(rows) and summary.demo
    for _, line, e in rows:
        assert list(e) == sorted(AMPLITUDE_FIELDS), "every top-level key, in the export's (sorted) order"
        for k, typ in AMPLITUDE_FIELDS.items():
            assert isinstance(e[k], typ), (k, e[k])
        for k in (
            "client_event_time",
            "client_upload_time",
            "event_time",
            "processed_time",
            "server_received_time",
            "server_upload_time",
            "user_creation_time",
        ):
            assert TS.match(e[k]), (k, e[k])
        assert e["app"] == 100001 and e["platform"] == "Web" and e["data_type"] == "event"
        assert e["data"] == {"path": "/2/httpapi", "group_first_event": {}, "group_ids": {}}
        assert uuid.UUID(e["uuid"]).version == 4 and uuid.UUID(e["$insert_id"]).version == 4
        assert e["event_type"] in demo.AMPLITUDE_EVENT_TYPES
        assert line.endswith(b"}") and b"\n" not in line
        sid = e["session_id"]
        if sid == -1:
            assert e["library"] == demo.AMPLITUDE_SERVER_LIBRARY
        else:
            assert 1.7e12 < sid < 1.8e12, "ms since epoch"
            assert e["library"] == demo.AMPLITUDE_LIBRARY
            # the session starts with (or before) its first event, on the client clock
            assert sid <= _ts(e["client_event_time"]).replace(tzinfo=dt.UTC).timestamp() * 1000 + 1
        assert _ts(e["server_upload_time"]) >= _ts(e["event_time"])
        assert _ts(e["server_received_time"]) <= _ts(e["server_upload_time"]) <= _ts(e["processed_time"])
        if e["user_id"] is not None:
            assert e["user_id"].isdigit()
        ep = e["event_properties"]
        if e["event_type"] == "Page Viewed":
            assert ep["page_path"].startswith("/") and ep["page_title"]
        if e["event_type"] in ("Payment Failed", "Sign Up Form Error", "Login Failed", "Error Shown"):
            assert ep["error_message"]
        if e["event_type"] == "$exposure":
            assert set(ep) - {demo.REPLAY_PROPERTY} == {"flag_key", "variant"}
            assert ep["flag_key"] == demo.EXPERIMENT_FLAG and ep["variant"] in demo.EXPERIMENT_VARIANTS
        if e["event_type"] == "Purchase Completed":
            assert ep["revenue"] > 0


def test_amplitude_files_cover_the_utc_window_of_the_moscow_day(web):
    path, summary, rows = web[DAY]
    with zipfile.ZipFile(path) as zf:
        names = zf.namelist()
    assert len(names) == summary.files == len(set(names))
    assert 20 <= len(names) <= 24
    window = [dt.datetime(2025, 6, 30, 21) + dt.timedelta(hours=h) for h in range(24)]
    allowed = {demo.amplitude_member_name(100001, h) for h in window}
    assert set(names) <= allowed
    assert demo.amplitude_window(DAY) == ("20250630T21", "20250701T20")
    m = MEMBER.match(names[0])
    assert m and m.group(1) == m.group(2) == "100001"
    counts = collections.Counter(e["uuid"] for _, _, e in rows)
    dup_lines = 0
    for name, _line, e in rows:
        m = MEMBER.match(name)
        up = _ts(e["server_upload_time"])
        member_hour = dt.datetime.fromisoformat(m.group(3)) + dt.timedelta(hours=int(m.group(4)))
        if counts[e["uuid"]] > 1 and up.replace(minute=0, second=0, microsecond=0) != member_hour:
            dup_lines += 1  # a duplicate may land in the next hour's file
            assert member_hour - up.replace(minute=0, second=0, microsecond=0) == dt.timedelta(hours=1)
        else:
            assert up.replace(minute=0, second=0, microsecond=0) == member_hour, (name, e["server_upload_time"])
        assert window[0] <= up < window[-1] + dt.timedelta(hours=1)


def test_amplitude_uuids_unique_except_exact_duplicates(web):
    _, summary, rows = web[DAY]
    by_uuid = collections.defaultdict(list)
    for _, line, e in rows:
        by_uuid[e["uuid"]].append(line)
    dups = {k: v for k, v in by_uuid.items() if len(v) > 1}
    for lines in dups.values():
        assert len(lines) == 2 and lines[0] == lines[1], "duplicates are identical lines"
    assert sum(len(v) - 1 for v in dups.values()) == summary.duplicates
    assert summary.duplicates <= 0.005 * len(rows)
    assert len({e["$insert_id"] for _, _, e in rows}) == len(by_uuid)


def test_amplitude_sessions_replays_and_user_properties(web):
    _, _, rows = web[DAY]
    sessions = collections.defaultdict(list)
    for _, _, e in rows:
        sessions[(e["device_id"], e["session_id"])].append(e)
    web_sessions = {k: v for k, v in sessions.items() if k[1] != -1}
    with_replay = 0
    for (device, sid), evs in web_sessions.items():
        rids = {e["event_properties"].get(demo.REPLAY_PROPERTY) for e in evs}
        assert len(rids) == 1, "all events of a session carry the replay id, or none"
        rid = rids.pop()
        if rid is not None:
            assert rid == f"{device}/{sid}"
            with_replay += 1
        assert len({e["amplitude_id"] for e in evs}) == 1
    assert 0.2 < with_replay / len(web_sessions) < 0.4
    assert sum(len(v) for v in web_sessions.values()) / len(web_sessions) > 4, "sessions of several events"
    # no session has replay ids outside sessions
    assert all(demo.REPLAY_PROPERTY not in e["event_properties"] for k, v in sessions.items() if k[1] == -1 for e in v)
    types = collections.Counter(e["event_type"] for _, _, e in rows)
    for t in (
        "Page Viewed",
        "Product Viewed",
        "Search Performed",
        "Purchase Completed",
        "Payment Failed",
        "Login Failed",
        "$identify",
        "$exposure",
        "Sign Up Completed",
    ):
        assert types[t] > 0, t
    anon = sum(e["user_id"] is None for _, _, e in rows) / len(rows)
    assert 0.05 < anon < 0.5
    reg = [e for _, _, e in rows if e["user_id"] is not None and "birth_year" in e["user_properties"]]
    assert reg and all(
        {"birth_year", "gender", "registration_date", "initial_utm_source", "plan", "city", "app_version"}
        <= set(e["user_properties"])
        for e in reg
    )
    assert {e["user_properties"]["plan"] for e in reg} == {"free", "pro"}


def test_amplitude_late_uploads_belong_to_the_later_day(web):
    rows_prev = web[DAY - dt.timedelta(days=1)][2]
    rows = web[DAY][2]
    msk = dt.timedelta(hours=3)
    late = [e for _, _, e in rows if (_ts(e["event_time"]) + msk).date() < DAY]
    share = len(late) / len(rows)
    assert 0.01 < share < 0.06
    for e in late:
        delay = _ts(e["server_upload_time"]) - _ts(e["event_time"])
        assert dt.timedelta(days=1) <= delay < dt.timedelta(days=3, hours=2)
        assert (_ts(e["event_time"]) + msk).date() >= DAY - dt.timedelta(days=3)
    prev_uuids = {e["uuid"] for _, _, e in rows_prev}
    late_from_prev = [e for e in late if (_ts(e["event_time"]) + msk).date() == DAY - dt.timedelta(days=1)]
    assert late_from_prev and not prev_uuids & {e["uuid"] for e in late}
    # the previous day's archive holds nothing that happened after that day
    assert all((_ts(e["event_time"]) + msk).date() <= DAY - dt.timedelta(days=1) for _, _, e in rows_prev)


def test_amplitude_same_user_same_identity_across_days(web):
    stable = ("amplitude_id", "user_creation_time")
    props = ("birth_year", "gender", "registration_date", "initial_utm_source")
    seen: dict[str, dict] = {}
    common = 0
    for d in (DAY - dt.timedelta(days=1), DAY):
        day_users: dict[str, dict] = {}
        for _, _, e in web[d][2]:
            if e["session_id"] == -1:
                continue
            rec = {k: e[k] for k in stable}
            if e["user_id"] is not None and "birth_year" in e["user_properties"]:
                rec["user_id"] = e["user_id"]
                rec.update({k: e["user_properties"][k] for k in props})
            prev = day_users.setdefault(e["device_id"], rec)
            for k, v in rec.items():
                prev.setdefault(k, v)
        for dev, rec in day_users.items():
            if dev in seen:
                common += 1
                for k in rec.keys() & seen[dev].keys():
                    assert rec[k] == seen[dev][k], (dev, k)
            seen.setdefault(dev, rec)
    assert common > 50, "returning users appear on consecutive days"


def test_amplitude_deterministic_and_volume(tmp_path, web):
    a, b = tmp_path / "a.zip", tmp_path / "b.zip"
    s1 = demo.write_amplitude_export_zip(DAY, a, events_per_day=N)
    s2 = demo.write_amplitude_export_zip(DAY, b, events_per_day=N)
    assert a.read_bytes() == b.read_bytes() == web[DAY][0].read_bytes()
    assert s1 == s2
    other = demo.write_amplitude_export_zip(DAY, tmp_path / "c.zip", events_per_day=N, seed=7)
    assert (tmp_path / "c.zip").read_bytes() != a.read_bytes() and other.events > 0
    for d in (DAY - dt.timedelta(days=1), DAY):
        assert abs(web[d][1].events / N - 1) <= 0.10
    big = demo.write_amplitude_export_zip(DAY + dt.timedelta(days=3), tmp_path / "big.zip", events_per_day=20000)
    assert abs(big.events / 20000 - 1) <= 0.10
    assert not list(tmp_path.glob("*.tmp"))


def test_experiment_assignment_and_true_effect(web):
    # plan of many cohorts (cheap): 50/50 split and conversion rates as declared
    conv_t, conv_c, n_t, n_c = 0, 0, 0, 0
    for k in range(150):
        p = demo.plan_new_users(DAY - dt.timedelta(days=k), events_per_day=50000)
        assert p["exposed"].all()
        n_t += int(p["treatment"].sum())
        n_c += int((~p["treatment"]).sum())
        conv_t += int(p["converts"][p["treatment"]].sum())
        conv_c += int(p["converts"][~p["treatment"]].sum())
    assert 0.47 < n_t / (n_t + n_c) < 0.53
    rate_t, rate_c = conv_t / n_t, conv_c / n_c
    assert abs(rate_c - demo.EXPERIMENT_CONVERSION_RATES["control"]) < 0.012
    assert abs(rate_t - demo.EXPERIMENT_CONVERSION_RATES["treatment"]) < 0.012
    assert rate_t - rate_c > 0.01
    # in the events: variant stable per device, user property set from the exposure on, and the exposure
    # session converts exactly when the plan says so
    variant_of: dict[str, str] = {}
    exposure_sessions: dict[tuple, str] = {}
    for d in web:
        for _, _, e in web[d][2]:
            if e["event_type"] == "$exposure":
                v = e["event_properties"]["variant"]
                assert variant_of.setdefault(e["device_id"], v) == v
                exposure_sessions[(e["device_id"], e["session_id"])] = v
                assert e["user_properties"][demo.EXPERIMENT_USER_PROPERTY] == v
    assert exposure_sessions
    for d in web:
        for _, _, e in web[d][2]:
            v = e["user_properties"].get(demo.EXPERIMENT_USER_PROPERTY)
            if v is not None and e["device_id"] in variant_of:
                assert v == variant_of[e["device_id"]]
    purchased = {
        (e["device_id"], e["session_id"])
        for d in web
        for _, _, e in web[d][2]
        if e["event_type"] == demo.AMPLITUDE_CONVERSION_EVENT
    }
    for (dev, sid), v in exposure_sessions.items():
        amp = next(e["amplitude_id"] for d in web for _, _, e in web[d][2] if e["device_id"] == dev)
        cohort, idx = divmod(amp - 100_000_000_000, 4_000_000)
        fl = user_flags(WEB, 42, np.array([cohort]), np.array([idx]))
        assert demo.user_variant(bool(fl["treatment"][0])) == v
        assert ((dev, sid) in purchased) == bool(fl["converts"][0])


def test_appmetrica_events_shape(mobile):
    path, summary, rows = mobile
    raw = path.read_bytes()
    assert raw.startswith(b'{"data":[') and raw.rstrip().endswith(b"]}")
    assert len(rows) == summary.events and abs(summary.events / N - 1) <= 0.10
    big = 0
    for r in rows:
        assert list(r) == list(EVENT_FIELDS)
        assert all(isinstance(v, str) for v in r.values()), r
        assert r["event_name"] in demo.APPMETRICA_EVENT_NAMES
        assert isinstance(orjson.loads(r["event_json"]), dict)
        did = int(r["appmetrica_device_id"])
        assert 0 <= did < 2**64 and str(did) == r["appmetrica_device_id"]
        big += did >= 2**63
        ev = dt.datetime.strptime(r["event_datetime"], "%Y-%m-%d %H:%M:%S")
        rc = dt.datetime.strptime(r["event_receive_datetime"], "%Y-%m-%d %H:%M:%S")
        assert ev == dt.datetime.fromtimestamp(int(r["event_timestamp"]), demo.MSK).replace(tzinfo=None)
        assert rc == dt.datetime.fromtimestamp(int(r["event_receive_timestamp"]), demo.MSK).replace(tzinfo=None)
        assert rc.date() == DAY and rc >= ev
        assert r["os_name"] in ("android", "ios") and r["device_type"] in ("phone", "tablet")
        assert (r["google_aid"] == "") == (r["os_name"] == "ios") and (r["ios_ifa"] == "") == (
            r["os_name"] == "android"
        )
        assert r["application_id"] == "4000001" and r["session_id"].isdigit()
        if r["event_name"] == demo.APPMETRICA_EXPOSURE_EVENT:
            assert orjson.loads(r["event_json"])["flag_key"] == demo.EXPERIMENT_FLAG
    assert big > 0.3 * len(rows), "uint64 ids above 2^63 are common"
    late = sum(dt.datetime.strptime(r["event_datetime"], "%Y-%m-%d %H:%M:%S").date() < DAY for r in rows)
    assert 0.04 < late / len(rows) < 0.14
    assert any(r["profile_id"] == "" for r in rows) and any(r["profile_id"] for r in rows)


def test_appmetrica_deterministic_gzip_tables_and_cross_platform_ids(tmp_path, mobile, web):
    path, summary, rows = mobile
    s = demo.write_appmetrica_events_json(DAY, tmp_path / "e.json.gz", events_per_day=N, gzip_output=True)
    assert gzip.decompress((tmp_path / "e.json.gz").read_bytes()) == path.read_bytes()
    assert s.events == summary.events
    demo.write_appmetrica_events_json(DAY, tmp_path / "e2.json.gz", events_per_day=N, gzip_output=True)
    assert (tmp_path / "e.json.gz").read_bytes() == (tmp_path / "e2.json.gz").read_bytes()
    devices = {r["appmetrica_device_id"] for r in rows}
    inst = demo.write_appmetrica_table_json("installations", DAY, tmp_path / "i.json", events_per_day=N)
    irows = orjson.loads((tmp_path / "i.json").read_bytes())["data"]
    assert inst.events == len(irows) > 0
    for r in irows:
        assert list(r) == list(INSTALLATION_FIELDS)
        assert all(isinstance(v, str) for v in r.values())
        assert r["appmetrica_device_id"] in devices
    ss = demo.write_appmetrica_table_json("sessions_starts", DAY, tmp_path / "s.json", events_per_day=N)
    srows = orjson.loads((tmp_path / "s.json").read_bytes())["data"]
    assert ss.events == len(srows) > 0
    ev_sessions = {(r["appmetrica_device_id"], r["session_id"]) for r in rows}
    for r in srows:
        assert list(r) == list(SESSION_START_FIELDS)
        assert (r["appmetrica_device_id"], r["session_id"]) in ev_sessions
    with pytest.raises(ValueError):
        demo.write_appmetrica_table_json("clicks", DAY, tmp_path / "x.json", events_per_day=N)
    # ~20% of mobile users are web users: their profile_id is a web user_id
    web_ids = {e["user_id"] for d in web for _, _, e in web[d][2] if e["user_id"]}
    profiles = {r["appmetrica_device_id"]: r["profile_id"] for r in rows if r["profile_id"]}
    linked = [p for p in profiles.values() if len(p) < 12]  # web ids are shorter than mobile-only ids
    assert 0.1 < len(linked) / len({r["appmetrica_device_id"] for r in rows}) < 0.35
    assert set(linked) & web_ids, "some users use both the web and the mobile app with one user id"
