"""Metric previews for asset metadata: the shared Markdown table over the columns a metric asset shows."""

from __future__ import annotations

import pandas as pd

from analytics_dagster.lib import markdown


def markdown_table(frame: pd.DataFrame, max_rows: int = 10, columns: list[str] | None = None) -> str:
    return markdown.markdown_table(frame.loc[:, columns] if columns else frame, max_rows=max_rows)
