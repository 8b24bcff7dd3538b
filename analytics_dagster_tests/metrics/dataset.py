"""A small multi-week warehouse for the metric tests, written straight into the DWH tables (DDL from sql/dwh/ddl).

Six Moscow weeks (2026-02-02 Monday .. 2026-03-15 Sunday) of web (Amplitude) and mobile (AppMetrica) users with
sessions, events around Moscow midnight, revenue, bookkeeping events, late uploads (1..3 days, which count, and
4..6 days, which do not), an experiment with exposure events, exposure-by-user-property and users seen in both
variants. Deterministic (seeded).
"""

from __future__ import annotations

import datetime as dt
import json
import random
import uuid as uuidlib
from dataclasses import dataclass

import pandas as pd

from analytics_dagster.lib.dwh.etl import ensure_load_log
from analytics_dagster.lib.settings import ALL_SOURCES
from analytics_dagster.lib.sql import SQL_DIR
from analytics_dagster.lib.warehouse import PostgresWarehouse, Warehouse, copy_dataframe

FIRST_DAY = dt.date(2026, 2, 2)
LAST_DAY = dt.date(2026, 3, 15)
FLAG = "test-flag"
MSK = dt.timedelta(hours=3)

WEB_EVENTS = [
    "Page Viewed",
    "Page Viewed",
    "Page Viewed",
    "Button Clicked",
    "Product Viewed",
    "Search Performed",
    "Product Added to Cart",
]
MOBILE_EVENTS = ["screen_view", "screen_view", "product_view", "search", "add_to_cart"]


@dataclass
class Dataset:
    events: pd.DataFrame  # events_part rows
    event_properties: pd.DataFrame  # tmp_event_properties rows
    user_properties: pd.DataFrame  # tmp_user_properties rows


def _upload_delay(rnd: random.Random) -> int:
    roll = rnd.random()
    if roll < 0.03:
        return rnd.randint(4, 6)  # too late: must not count
    if roll < 0.15:
        return rnd.randint(1, 3)
    return 0


def build_dataset(
    seed: int = 11, users: int = 140, first_day: dt.date = FIRST_DAY, last_day: dt.date = LAST_DAY
) -> Dataset:
    rnd = random.Random(seed)
    events, event_props, user_props = [], [], []
    days = (last_day - first_day).days + 1

    for index in range(users):
        mobile = rnd.random() < 0.45
        anonymous = rnd.random() < 0.15
        user_key = f"device:d{index}" if anonymous else f"u{index}"
        source = "appmetrica" if mobile else "amplitude"
        platform = rnd.choice(["Android", "iOS"]) if mobile else "Web"
        also_other_source = not anonymous and rnd.random() < 0.15  # a linked user on both web and mobile
        start = rnd.randrange(days - 3)
        loyalty = rnd.random()
        lifetime = rnd.randint(3, days)
        variant = "treatment" if rnd.random() < 0.5 else "control"
        exposed_by_event = rnd.random() < 0.75  # the others are exposed by the user property only
        conflicting = index % 37 == 5  # seen in both variants
        exposed_at: dt.datetime | None = None
        variant_seen = variant

        for offset in range(start, min(days, start + lifetime)):
            age = offset - start
            if age > 0 and rnd.random() > 0.15 + 0.6 * loyalty * (0.92**age):
                continue
            day = first_day + dt.timedelta(days=offset)
            for session in range(rnd.randint(1, 3)):
                # Moscow hours 0..23, with some sessions right around midnight Moscow (21:00 UTC).
                hour = rnd.choice([0, 0, 1, 9, 12, 13, 18, 20, 21, 22, 23, 23])
                minute = rnd.randrange(60)
                session_source, session_platform = source, platform
                if also_other_source and rnd.random() < 0.3:
                    session_source = "amplitude" if mobile else "appmetrica"
                    session_platform = "Web" if mobile else "iOS"
                start_msk = dt.datetime.combine(day, dt.time(hour, minute))
                session_id = (
                    int((start_msk - MSK).timestamp() * 1000)
                    if session_source == "amplitude"
                    else 10_000 + index * 100 + session
                )
                delay = _upload_delay(rnd)
                types = WEB_EVENTS if session_source == "amplitude" else MOBILE_EVENTS
                planned: list[tuple[str, dict]] = [(rnd.choice(types), {"n": k}) for k in range(rnd.randint(1, 6))]
                if session == 0 and rnd.random() < 0.3:
                    planned.insert(0, ("$identify", {}))
                if session == 0 and exposed_at is None and day >= first_day + dt.timedelta(days=7):
                    if conflicting and exposed_at is None:
                        variant_seen = "control" if variant == "treatment" else "treatment"
                    if exposed_by_event:
                        exposure_type = "$exposure" if session_source == "amplitude" else "experiment_exposure"
                        planned.insert(0, (exposure_type, {"flag_key": FLAG, "variant": variant}))
                    exposed_at = start_msk - MSK
                if exposed_at is not None:
                    buy_rate = {"control": 0.10, "treatment": 0.22}[variant]
                    if rnd.random() < buy_rate:
                        purchase = "Purchase Completed" if session_source == "amplitude" else "purchase"
                        planned.append((purchase, {"revenue": round(rnd.uniform(5, 120), 2)}))
                    if rnd.random() < 0.08:
                        planned.append(("Sign Up Completed" if session_source == "amplitude" else "sign_up", {}))
                if session_source == "amplitude" and rnd.random() < 0.1:
                    planned.append(("Email Opened", {"server": True}))

                for position, (event_type, properties) in enumerate(planned):
                    event_time = start_msk - MSK + dt.timedelta(seconds=40 * position + rnd.randrange(30))
                    event_date = (event_time + MSK).date()
                    upload = event_time + dt.timedelta(days=delay, seconds=5 + rnd.randrange(60))
                    partition_date = (upload + MSK).date()
                    event_uuid = str(uuidlib.UUID(int=rnd.getrandbits(128)))
                    server_side = event_type == "Email Opened"
                    revenue = properties.get("revenue")
                    events.append(
                        {
                            "uuid": event_uuid,
                            "source": session_source,
                            "partition_date": partition_date,
                            "event_type": event_type,
                            "event_time": event_time,
                            "event_date": event_date,
                            "client_event_time": event_time,
                            "server_upload_time": upload,
                            "user_key": user_key,
                            "user_id": None if anonymous else user_key,
                            "device_id": f"d{index}",
                            "amplitude_id": 1000 + index if session_source == "amplitude" else None,
                            "session_id": -1 if server_side else session_id,
                            "event_id": position,
                            "insert_id": None,
                            "platform": session_platform,
                            "os_name": None,
                            "app_version": "1.0",
                            "country": "RU",
                            "city": "Moscow",
                            "revenue": revenue,
                            "session_replay_id": None,
                        }
                    )
                    event_props.append(
                        {
                            "uuid": event_uuid,
                            "source": session_source,
                            "partition_date": partition_date,
                            "event_time": event_time,
                            "event_type": event_type,
                            "event_properties": json.dumps(properties),
                        }
                    )
                    # AppMetrica events carry no user-property bag (NULL in the warehouse).
                    bag = {"plan": "free"} if session_source == "amplitude" else None
                    if bag is not None and exposed_at is not None and event_time >= exposed_at:
                        # A conflicting user's later events carry the other variant.
                        bag[f"[Experiment] {FLAG}"] = variant_seen if position > 0 else variant
                    user_props.append(
                        {
                            "uuid": event_uuid,
                            "source": session_source,
                            "partition_date": partition_date,
                            "user_key": user_key,
                            "event_time": event_time,
                            "user_properties": None if bag is None else json.dumps(bag),
                            "migrated": False,
                            "property_count": len(bag or {}),
                            "mapped_count": 0,
                        }
                    )
    frame = pd.DataFrame(events)
    for column in ("amplitude_id", "session_id", "event_id"):
        frame[column] = frame[column].astype("Int64")
    return Dataset(frame, pd.DataFrame(event_props), pd.DataFrame(user_props))


def load_dataset(warehouse: Warehouse, dataset: Dataset) -> None:
    """Creates the DWH tables from the lead's DDL and replaces their contents by the dataset (DuckDB or PostgreSQL)."""
    for table, frame in (
        ("events_part", dataset.events),
        ("tmp_event_properties", dataset.event_properties),
        ("tmp_user_properties", dataset.user_properties),
    ):
        warehouse.execute((SQL_DIR / "dwh" / "ddl" / f"{table}.sql").read_text())
        columns = ", ".join(f'"{c}"' for c in frame.columns)
        with warehouse.connect() as con:
            # One bulk load per table: the DWH's partition-by-partition writes are not what is under test here.
            if isinstance(warehouse, PostgresWarehouse):
                with con.transaction():
                    con.execute(f"DELETE FROM {table}")
                    copy_dataframe(con, table, frame)
            else:
                con.execute(f"DELETE FROM {table}")
                con.register("incoming", frame)
                con.execute(f"INSERT INTO {table} ({columns}) SELECT {columns} FROM incoming")
    record_loaded_uploads(warehouse, sorted(set(dataset.events["partition_date"])))


def record_loaded_uploads(warehouse: Warehouse, days, sources=ALL_SOURCES) -> None:
    """Marks ``days`` as loaded for every source in dwh_partition_loads, as the DWH does with each partition."""
    ensure_load_log(warehouse)
    warehouse.execute("DELETE FROM dwh_partition_loads")
    for day in days:
        for source in sources:
            warehouse.execute(
                "INSERT INTO dwh_partition_loads VALUES ($day, $source, 'test', '', 0, 0, CURRENT_TIMESTAMP)",
                {"day": pd.Timestamp(day).date(), "source": source},
            )
