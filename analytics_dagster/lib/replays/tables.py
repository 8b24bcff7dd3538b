"""The replay stage's warehouse tables (DDL in ``sql/replays/ddl/``) and the reads of one day of them."""

from __future__ import annotations

import datetime as dt

import pandas as pd

from analytics_dagster.lib.warehouse import Warehouse

# The queries that read a day back from the tables, by table (``sql/replays/day_<table>.sql``).
_DAY_QUERIES = {
    "replay_links": "replays/day_replay_links.sql",
    "session_clusters": "replays/day_session_clusters.sql",
    "session_cluster_members": "replays/day_cluster_members.sql",
    "cluster_summaries": "replays/day_cluster_summaries.sql",
}


def ensure_tables(wh: Warehouse, *tables: str) -> None:
    for table in tables:
        wh.execute_file(f"replays/ddl/{table}.sql")


def read_day(wh: Warehouse, table: str, day: dt.date) -> pd.DataFrame:
    return wh.query_file(_DAY_QUERIES[table], {"day": day})


def replace_day(wh: Warehouse, table: str, frame: pd.DataFrame, day: dt.date) -> int:
    return wh.replace_partition(table, frame, partition_column="partition_date", partition_value=day)
