"""Fixtures shared by the whole suite: temporary object stores and warehouses, and real local servers.

Servers listen on 127.0.0.1 only and are stopped by the fixtures that start them. PostgreSQL tests fail (never
skip) when CI=true and the server is unreachable.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterable, Iterator
from pathlib import Path

import dagster as dg
import pytest

from analytics_dagster.defs.resources import ObjectStoreResource, WarehouseResource

POSTGRES_URL = os.getenv("TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
# What `make run` leaves unset: no source credentials (the demo sources), no S3 bucket and the embedded DuckDB.
DEMO_UNSET = (
    "AMPLITUDE_API_KEY",
    "AMPLITUDE_SECRET_KEY",
    "APPMETRICA_TOKEN",
    "APPMETRICA_APPLICATION_ID",
    "S3_BUCKET",
    "WAREHOUSE",
    "DUCKDB_PATH",
)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_port(port: int, process: subprocess.Popen | None = None, timeout: float = 300.0) -> None:
    """Until something listens on the port. Generous: a loaded machine may take a minute to start a server; a server
    that exits fails at once instead."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"{process.args[0]} exited with {process.returncode} before listening on port {port}")
        time.sleep(0.05)
    raise TimeoutError(f"nothing listens on 127.0.0.1:{port} after {timeout}s")


@pytest.fixture(autouse=True, scope="session")
def _data_dir_outside_the_checkout(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Runs write their scratch folders under ANALYTICS_DATA_DIR: keep the suite's out of the checkout's data/."""
    saved = os.environ.get("ANALYTICS_DATA_DIR")
    os.environ["ANALYTICS_DATA_DIR"] = str(tmp_path_factory.mktemp("data"))
    yield
    if saved is None:
        os.environ.pop("ANALYTICS_DATA_DIR", None)
    else:
        os.environ["ANALYTICS_DATA_DIR"] = saved


def load_demo_definitions(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, events_per_day: int, also_unset: Iterable[str] = ()
) -> dg.Definitions:
    """The code location as `make run` loads it, on embedded defaults (``DEMO_UNSET`` and ``also_unset`` unset) under
    the data folder ``tmp_path / "data"``, with ``events_per_day`` demo events a day."""
    from analytics_dagster.definitions import defs

    monkeypatch.setenv("DEMO_EVENTS_PER_DAY", str(events_per_day))
    monkeypatch.setenv("ANALYTICS_DATA_DIR", str(tmp_path / "data"))
    for name in (*DEMO_UNSET, *also_unset):
        monkeypatch.delenv(name, raising=False)
    return defs()


def stop_process(process: subprocess.Popen) -> None:
    """Asks the process to stop, and kills it if a loaded machine keeps it from stopping within a minute."""
    process.terminate()
    try:
        process.wait(timeout=60)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@pytest.fixture(autouse=True)
def _no_leaked_dagster_instance() -> Iterator[None]:
    """Evaluation contexts built without ``with`` (``dg.build_schedule_context(instance=...)`` and the like) enter an
    instance they never exit, leaving Dagster's current defs-state storage pointing at it; once it is collected,
    every later load of definitions in this process fails ("undefined DagsterInstance weakref"). Each test gets the
    storage it started with back."""
    from dagster._core.storage.defs_state import base

    saved = base._current_storage.get()
    yield
    base._current_storage.set(saved)


@pytest.fixture
def object_store_resource(tmp_path: Path) -> ObjectStoreResource:
    return ObjectStoreResource(local_dir=str(tmp_path / "objects"))


@pytest.fixture
def duckdb_resource(tmp_path: Path) -> WarehouseResource:
    return WarehouseResource(kind="duckdb", duckdb_path=str(tmp_path / "warehouse.duckdb"))


def _postgres_reachable() -> str | None:
    import psycopg

    try:
        with psycopg.connect(POSTGRES_URL, connect_timeout=3) as con:
            con.execute("SELECT 1")
    except psycopg.OperationalError as error:
        return str(error)
    return None


@pytest.fixture(scope="session")
def postgres_url() -> str:
    """The local PostgreSQL server; a test needing it fails under CI=true when it is down, skips elsewhere."""
    problem = _postgres_reachable()
    if problem:
        message = f"PostgreSQL at {POSTGRES_URL} is unreachable: {problem}"
        if os.getenv("CI", "").lower() == "true":
            pytest.fail(message)
        pytest.skip(message)
    return POSTGRES_URL


@pytest.fixture
def postgres_dsn(postgres_url: str) -> Iterator[str]:
    """A DSN whose search_path is a fresh schema, dropped after the test."""
    import psycopg

    schema = f"t_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(postgres_url, autocommit=True) as con:
        con.execute(f"CREATE SCHEMA {schema}")
    separator = "&" if "?" in postgres_url else "?"
    yield f"{postgres_url}{separator}options=-csearch_path%3D{schema}"
    with psycopg.connect(postgres_url, autocommit=True) as con:
        con.execute(f"DROP SCHEMA {schema} CASCADE")


@pytest.fixture
def postgres_resource(postgres_dsn: str) -> WarehouseResource:
    return WarehouseResource(kind="postgres", postgres_dsn=postgres_dsn)


@pytest.fixture(scope="session")
def moto_endpoint() -> Iterator[str]:
    """A real S3-compatible endpoint: ``moto_server`` on 127.0.0.1, with dummy credentials in the environment."""
    port = free_port()
    executable = shutil.which("moto_server", path=str(Path(sys.executable).parent)) or "moto_server"
    process = subprocess.Popen(
        [executable, "-H", "127.0.0.1", "-p", str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    saved = {k: os.environ.get(k) for k in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_DEFAULT_REGION")}
    os.environ.update(AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing", AWS_DEFAULT_REGION="us-east-1")
    try:
        wait_for_port(port, process)
        yield f"http://127.0.0.1:{port}"
    finally:
        stop_process(process)
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


@pytest.fixture
def s3_bucket(moto_endpoint: str) -> str:
    """A fresh bucket on the moto endpoint."""
    import boto3

    name = f"test-{uuid.uuid4().hex[:12]}"
    boto3.client("s3", endpoint_url=moto_endpoint, region_name="us-east-1").create_bucket(Bucket=name)
    return name


@pytest.fixture
def s3_client(moto_endpoint: str):
    import boto3

    return boto3.client("s3", endpoint_url=moto_endpoint, region_name="us-east-1")
