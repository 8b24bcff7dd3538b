"""PostgreSQL COPY streaming: rows arrive, and a failure on either side is raised instead of hanging."""

from __future__ import annotations

import duckdb
import psycopg
import pytest

from analytics_dagster.lib.dwh.targets import PostgresSession


@pytest.fixture
def session(postgres_dsn, tmp_path):
    local = duckdb.connect()
    with psycopg.connect(postgres_dsn) as pg:
        pg.execute("CREATE TABLE copied (id BIGINT NOT NULL, label TEXT, payload JSON)")
        pg.commit()
        yield PostgresSession(local, pg, tmp_path)
    local.close()


def copy(session, rows_sql):
    with session.pg.transaction(), session.pg.cursor() as cur:
        session._copy(cur, "copied", ["id", "label", "payload"], rows_sql)


@pytest.mark.timeout(600)
def test_rows_stream_through_copy_with_nulls_and_empty_strings(session):
    copy(
        session,
        "SELECT i AS id, CASE WHEN i = 0 THEN NULL WHEN i = 1 THEN '' ELSE 'a,\"b\"' END AS label, "
        "'{\"k\": [1, 2]}' AS payload FROM range(50000) t(i)",
    )
    with session.pg.cursor() as cur:
        cur.execute("SELECT count(*), count(label), count(*) FILTER (WHERE label = ''), max(label) FROM copied")
        assert cur.fetchone() == (50000, 49999, 1, 'a,"b"')
        cur.execute("SELECT payload::text FROM copied WHERE id = 7")
        assert cur.fetchone() == ('{"k": [1, 2]}',)


@pytest.mark.timeout(600)
def test_a_postgres_error_is_raised(session):
    with pytest.raises(psycopg.errors.NotNullViolation):
        copy(
            session,
            "SELECT CASE WHEN i = 40000 THEN NULL ELSE i END AS id, 'x' AS label, '{}' AS payload "
            "FROM range(100000) t(i)",
        )


@pytest.mark.timeout(600)
def test_a_duckdb_error_before_any_row_is_raised(session):
    with pytest.raises(duckdb.Error, match="no_such_table does not exist"):
        copy(session, "SELECT * FROM no_such_table")
    copy(session, "SELECT 1 AS id, 'after' AS label, '{}' AS payload")  # the session is still usable
    with session.pg.cursor() as cur:
        cur.execute("SELECT label FROM copied")
        assert cur.fetchall() == [("after",)]
