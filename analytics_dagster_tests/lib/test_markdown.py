"""The one Markdown-table helper of asset metadata previews."""

import pandas as pd

from analytics_dagster.lib.markdown import NO_ROWS, markdown_table


def test_rows_read_unpadded_with_cells_escaped_cut_and_formatted():
    frame = pd.DataFrame(
        {
            "segment": ["all", "a|b", "line\nbreak"],
            "dau": [12, 3, 4],
            "share": [0.123456, None, 2.0],
            "day": [pd.Timestamp("2026-03-15"), pd.Timestamp("2026-03-15 10:30"), pd.NaT],
            "bag": [["x", "y"], {"k": 1}, "z" * 80],
        }
    )
    lines = markdown_table(frame, max_width=20).splitlines()
    assert lines[0] == "| segment | dau | share | day | bag |"
    assert lines[2] == "| all | 12 | 0.1235 | 2026-03-15 | ['x', 'y'] |"
    assert lines[3] == "| a\\|b | 3 |  | 2026-03-15T10:30:00 | {'k': 1} |"
    assert lines[4] == f"| line break | 4 | 2 |  | {'z' * 19}… |"


def test_rows_beyond_the_limit_are_counted_and_an_empty_frame_says_so():
    frame = pd.DataFrame({"n": range(7)})
    assert markdown_table(frame, max_rows=5) == "| n |\n|-----|\n| 0 |\n| 1 |\n| 2 |\n| 3 |\n| 4 |\n\n2 more rows"
    assert markdown_table(frame.iloc[:0]) == NO_ROWS
