"""Small markdown tables for asset metadata previews."""

from __future__ import annotations

import pandas as pd


def _cell(value) -> str:
    if value is None or (not isinstance(value, (list, dict)) and pd.isna(value)):
        return ""
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, pd.Timestamp):
        return value.date().isoformat() if value == value.normalize() else value.isoformat()
    return str(value).replace("|", "\\|")


def markdown_table(frame: pd.DataFrame, max_rows: int = 10, columns: list[str] | None = None) -> str:
    shown = frame.loc[:, columns] if columns else frame
    lines = ["| " + " | ".join(shown.columns) + " |", "|" + "---|" * len(shown.columns)]
    for row in shown.head(max_rows).itertuples(index=False, name=None):
        lines.append("| " + " | ".join(_cell(v) for v in row) + " |")
    if len(shown) > max_rows:
        lines.append(f"\n{len(shown) - max_rows} more rows")
    return "\n".join(lines)
