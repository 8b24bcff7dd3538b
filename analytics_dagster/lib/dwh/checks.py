"""Data-quality checks of a loaded partition, run against the warehouse itself (SQL of ``sql/dwh/checks/``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from analytics_dagster.lib.dwh.sqltext import render
from analytics_dagster.lib.dwh.tables import DWH_TABLES, EVENT_TABLES, TABLE_KEYS, USER_TABLES
from analytics_dagster.lib.warehouse import Warehouse

NON_EMPTY = "non_empty"
UNIQUE_KEY = "unique_key"
MAPPING_COVERAGE = "user_property_mapping_coverage"
COVERAGE_TABLE = "tmp_user_properties"


@dataclass(frozen=True)
class CheckOutcome:
    table: str
    name: str
    passed: bool
    description: str
    metadata: dict[str, Any] = field(default_factory=dict)
    warn_only: bool = False


def _scalar(warehouse: Warehouse, sql: str, day: str) -> int:
    return int(warehouse.query_df(sql, {"partition_date": day})["n"].iloc[0])


def non_empty(warehouse: Warehouse, table: str, day: str, expected_events: int) -> CheckOutcome:
    """events_part must hold exactly the events the run loaded; every other table must have rows wherever the
    partition's events call for them (mobile_devices: where there were mobile events)."""
    rows = _scalar(warehouse, render("dwh/checks/partition_rows.sql", table=table), day)
    if table == "events_part":
        passed = rows == expected_events
        return CheckOutcome(
            table,
            NON_EMPTY,
            passed,
            f"{rows:,} events stored for {day}; the raw day yields {expected_events:,}",
            {"rows": rows, "expected_rows": expected_events},
        )
    source_events = _scalar(warehouse, render("dwh/checks/expected_nonempty.sql", table=table), day)
    passed = rows > 0 or source_events == 0
    what = "mobile events" if table == "mobile_devices" else "events"
    return CheckOutcome(
        table,
        NON_EMPTY,
        passed,
        f"{rows:,} rows for {day}, which has {source_events:,} {what}",
        {"rows": rows, f"partition_{what.replace(' ', '_')}": source_events},
    )


def unique_key(warehouse: Warehouse, table: str, day: str) -> CheckOutcome:
    key = TABLE_KEYS[table]
    sql = render(
        "dwh/checks/duplicate_keys.sql", table=table, key=list(key), event_tables=EVENT_TABLES, user_tables=USER_TABLES
    )
    duplicated = _scalar(warehouse, sql, day)
    return CheckOutcome(
        table,
        UNIQUE_KEY,
        duplicated == 0,
        f"{duplicated:,} keys ({', '.join(key)}) of partition {day} occur more than once",
        {"duplicated_keys": duplicated, "key": ", ".join(key)},
    )


def mapping_coverage(warehouse: Warehouse, day: str, min_share: float) -> CheckOutcome:
    """The share of user-property keys (over all bags of the partition) that field_mappings/ names. Unmapped keys
    stay in tmp_user_properties, so a low share is a warning to extend the mappings, not lost data."""
    frame = warehouse.query_df(render("dwh/checks/mapping_coverage.sql"), {"partition_date": day})
    keys = int(frame["property_keys"].sum())
    mapped = int(frame["mapped_keys"].sum())
    share = mapped / keys if keys else 1.0
    metadata: dict[str, Any] = {
        "property_keys": keys,
        "mapped_keys": mapped,
        "share": round(share, 4),
        "min_share": min_share,
    }
    for row in frame.itertuples(index=False):
        metadata[f"{row.source}_share"] = round(row.mapped_keys / row.property_keys, 4) if row.property_keys else 1.0
        metadata[f"{row.source}_fully_migrated_bags"] = int(row.migrated_bags)
    return CheckOutcome(
        COVERAGE_TABLE,
        MAPPING_COVERAGE,
        share >= min_share,
        f"{share:.1%} of {keys:,} user-property keys are mapped (minimum {min_share:.0%})",
        metadata,
        warn_only=True,
    )


def check_partition(warehouse: Warehouse, day: str, loaded_events: int, min_coverage: float) -> list[CheckOutcome]:
    outcomes = []
    for table in DWH_TABLES:
        outcomes.append(non_empty(warehouse, table, day, loaded_events))
        outcomes.append(unique_key(warehouse, table, day))
    outcomes.append(mapping_coverage(warehouse, day, min_coverage))
    return outcomes
