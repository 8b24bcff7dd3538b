"""Markdown tables for asset metadata previews (``dg.MetadataValue.md``), through pandas' ``to_markdown``."""

from __future__ import annotations

from typing import Any

import pandas as pd

NO_ROWS = "_no rows_"


def markdown_table(frame: pd.DataFrame, max_rows: int = 10, max_width: int = 60) -> str:
    """The first ``max_rows`` rows as a pipe table, each cell cut to ``max_width`` characters, and a line counting
    the rows left out. Cells are written unpadded, so a row reads ``| a | b |`` whatever the column widths."""
    if frame.empty:
        return NO_ROWS
    shown = frame.head(max_rows).astype(object).map(lambda value: _cell(value, max_width))
    table = shown.to_markdown(index=False, tablefmt="pipe", stralign=None, numalign=None, disable_numparse=True)
    hidden = len(frame) - max_rows
    return f"{table}\n\n{hidden} more rows" if hidden > 0 else table


def _cell(value: Any, max_width: int) -> str:
    if _missing(value):
        return ""
    if isinstance(value, float):
        text = f"{value:.4g}"
    elif isinstance(value, pd.Timestamp):
        text = value.date().isoformat() if value == value.normalize() else value.isoformat()
    else:
        text = str(value)
    text = text.replace("|", "\\|").replace("\n", " ")
    return text if len(text) <= max_width else text[: max_width - 1] + "…"


def _missing(value: Any) -> bool:
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):  # lists and other containers
        return False
