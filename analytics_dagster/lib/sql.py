"""SQL files under ``sql/``, written once in DuckDB's dialect and translated per warehouse with sqlglot.

Parameters are written ``$name`` in the source; sqlglot turns them into ``%(name)s`` for psycopg and ``@name``
for BigQuery, so one file serves every warehouse.
"""

from __future__ import annotations

from functools import cache, lru_cache
from pathlib import Path

import sqlglot

SQL_DIR = Path(__file__).resolve().parents[2] / "sql"

_SQLGLOT_DIALECTS = {"duckdb": "duckdb", "postgres": "postgres", "bigquery": "bigquery"}


@cache
def read_sql(relative_path: str) -> str:
    path = SQL_DIR / relative_path
    if not path.is_file():
        raise FileNotFoundError(f"SQL file {path} does not exist")
    return path.read_text()


@lru_cache(maxsize=1024)
def translate(sql: str, dialect: str) -> list[str]:
    """The statements of ``sql`` (DuckDB dialect) in the target dialect."""
    if dialect not in _SQLGLOT_DIALECTS:
        raise ValueError(f"unknown SQL dialect {dialect!r}; expected one of {sorted(_SQLGLOT_DIALECTS)}")
    if dialect == "duckdb":
        return [sql]
    return sqlglot.transpile(sql, read="duckdb", write=_SQLGLOT_DIALECTS[dialect])


def sql_statements(relative_path: str, dialect: str) -> list[str]:
    return translate(read_sql(relative_path), dialect)
