"""Exact comparison of a warehouse table with a reference frame, whatever driver produced it."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd


def _plain(value):
    if value is None or (not isinstance(value, (list, dict, str)) and pd.isna(value)):
        return None
    if isinstance(value, pd.Timestamp):
        return value.date() if value == value.normalize() else value.to_pydatetime()
    if isinstance(value, dt.datetime) and value.time() == dt.time():
        return value.date()
    if isinstance(value, np.generic):
        return value.item()
    return value


def normalized(frame: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    # Built column by column as object Series: pandas would turn None back into NaN if it inferred a dtype.
    plain = pd.DataFrame({c: pd.Series([_plain(v) for v in frame[c]], dtype=object) for c in frame.columns})
    return plain.sort_values(keys).reset_index(drop=True)


def assert_same_rows(actual: pd.DataFrame, expected: pd.DataFrame, keys: list[str], rtol: float = 1e-12) -> None:
    """Same rows (matched by ``keys``) and, for every column of ``expected``, the same values: integers, text,
    dates, booleans and NULLs exactly, floats to ``rtol`` (the SQL sums in another order than pandas)."""
    assert len(actual) == len(expected), f"{len(actual)} rows, expected {len(expected)}"
    got = normalized(actual[list(expected.columns)], keys)
    want = normalized(expected, keys)
    for column in expected.columns:
        for index, (a, e) in enumerate(zip(got[column], want[column])):
            where = f"{column} of {dict(want.loc[index, keys])}"
            if e is None:
                assert a is None, f"{where}: {a!r}, expected NULL"
            elif isinstance(e, bool):
                assert a is e, f"{where}: {a!r} != {e!r}"
            elif isinstance(e, float):
                assert a is not None and np.isclose(float(a), e, rtol=rtol, atol=1e-12), f"{where}: {a!r} != {e!r}"
            else:
                assert a == e, f"{where}: {a!r} != {e!r}"
