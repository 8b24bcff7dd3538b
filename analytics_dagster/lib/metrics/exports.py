"""The day's metric tables as files people open: one CSV and one Parquet file per table (complete), one XLSX
workbook with a sheet per table. A sheet keeps at most ``XLSX_MAX_ROWS`` rows (in the table's order; the per-user
table comes most-at-risk first): spreadsheets are for reading, and writing a hundred thousand users cell by cell
would dominate the report's run time. The workbook's first sheet says which sheets are cut and where the rest is.

Demo data says so where a reader meets it first: the workbook's first line, ``day_state.json`` and each Parquet
file's schema metadata (``demo_data``). The file names stay the same, so links to them do not change."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from openpyxl import Workbook

from analytics_dagster.lib.day_state import DayState


def _cell(value):
    # openpyxl cannot store NaN/NaT/NA; an empty cell is what a spreadsheet user expects for a missing figure.
    if value is None or pd.isna(value):
        return None
    if isinstance(value, pd.Timestamp):
        return value.date() if value == value.normalize() else value.to_pydatetime()
    if hasattr(value, "item"):  # numpy scalar
        return value.item()
    return value


XLSX_MAX_ROWS = 10_000


DEMO_NOTE = "DEMO DATA: computed from the built-in demo source, not from Amplitude or AppMetrica"


def write_xlsx(
    tables: dict[str, pd.DataFrame], path: Path, day: dt.date, state: DayState, is_demo: bool = False
) -> None:
    # write-only mode streams rows instead of building every cell object in memory first.
    workbook = Workbook(write_only=True)
    workbook.properties.title = f"{'[DEMO] ' if is_demo else ''}Product metrics {day.isoformat()}"
    about = workbook.create_sheet(title="about")
    if is_demo:
        about.append([DEMO_NOTE])
    about.append([f"Product metrics of {day.isoformat()} (Moscow day)"])
    about.append([f"Day state: {state.label()}"])
    about.append(["sheet", "rows in the table", "rows in this workbook", "complete data"])
    for name, frame in tables.items():
        shown = min(len(frame), XLSX_MAX_ROWS)
        about.append([name, len(frame), shown, "this sheet" if shown == len(frame) else f"{name}.csv / {name}.parquet"])
    for name, frame in tables.items():
        sheet = workbook.create_sheet(title=name[:31])
        sheet.append(list(frame.columns))
        for row in frame.head(XLSX_MAX_ROWS).itertuples(index=False, name=None):
            sheet.append([_cell(v) for v in row])
    workbook.save(path)


def write_exports(
    tables: dict[str, pd.DataFrame], day: dt.date, out_dir: Path, state: DayState, is_demo: bool = False
) -> dict[str, Path]:
    """Writes the files into ``out_dir``; returns {file name: path}. The workbook's first sheet and
    ``day_state.json`` say whether the figures are final (lib/day_state.py) and whether they are demo data."""
    out_dir.mkdir(parents=True, exist_ok=True)
    files: dict[str, Path] = {}
    for name, frame in tables.items():
        csv_path = out_dir / f"{name}.csv"
        frame.to_csv(csv_path, index=False)
        parquet_path = out_dir / f"{name}.parquet"
        table = pa.Table.from_pandas(frame, preserve_index=False)
        demo_flag = {b"demo_data": b"true" if is_demo else b"false"}
        pq.write_table(table.replace_schema_metadata({**(table.schema.metadata or {}), **demo_flag}), parquet_path)
        files[csv_path.name] = csv_path
        files[parquet_path.name] = parquet_path
    xlsx_path = out_dir / f"metrics_{day.isoformat()}.xlsx"
    write_xlsx(tables, xlsx_path, day, state, is_demo)
    files[xlsx_path.name] = xlsx_path
    state_path = out_dir / "day_state.json"
    state_path.write_text(json.dumps({**state.as_metadata(), "demo_data": is_demo}, indent=2), encoding="utf-8")
    files[state_path.name] = state_path
    return files
