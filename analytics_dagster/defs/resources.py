"""Resources shared by every stage, configured by the names in .env.example.

Non-secret settings are read once when definitions load; secrets are passed as ``dg.EnvVar`` so the UI shows the
variable's name, never its value.
"""

import os
from typing import Any

import dagster as dg
from dagster_aws.s3 import S3Resource
from pydantic import Field

from analytics_dagster.lib.object_store import (
    LOCAL_REPORTS_BASE_URL,
    MAX_PRESIGNED_URL_SECONDS,
    LocalObjectStore,
    ObjectStore,
    S3ObjectStore,
)
from analytics_dagster.lib.settings import data_dir
from analytics_dagster.lib.warehouse import WAREHOUSE_KINDS, Warehouse, make_warehouse

# Dagster pool shared by every asset that writes to (or reads from) the warehouse: DuckDB allows one writing
# process per file, so runs queue for it instead of failing on the file lock. Its limit (1) is set in dagster.yaml.
WAREHOUSE_POOL = "warehouse"


class ObjectStoreResource(dg.ConfigurableResource):
    """Raw data, screenshots and reports: a local folder, or S3 when ``s3_bucket`` is set.

    Links in asset metadata (``ObjectStore.public_url``) are presigned S3 URLs valid for
    ``presigned_url_expiry_seconds``, or, for the local folder, URLs under ``reports_base_url`` where the read-only
    report server (``python -m analytics_dagster.report_server``, started by ``make dev``) serves it.
    """

    local_dir: str
    s3_bucket: str | None = None
    s3_prefix: str = ""
    s3: S3Resource | None = None
    reports_base_url: str = Field(
        default=LOCAL_REPORTS_BASE_URL, description="REPORTS_BASE_URL: where the report server is reached"
    )
    presigned_url_expiry_seconds: int = Field(
        default=MAX_PRESIGNED_URL_SECONDS,
        description="S3_PRESIGNED_URL_EXPIRY_SECONDS: how long S3 links in metadata work (at most 7 days)",
    )

    def store(self) -> ObjectStore:
        if self.s3_bucket:
            s3 = self.s3 or S3Resource()
            return S3ObjectStore(s3.get_client(), self.s3_bucket, self.s3_prefix, self.presigned_url_expiry_seconds)
        return LocalObjectStore(self.local_dir, self.reports_base_url)


class WarehouseResource(dg.ConfigurableResource):
    """The warehouse the DWH and metrics write to: DuckDB (default), PostgreSQL or BigQuery."""

    kind: str = "duckdb"
    duckdb_path: str | None = None
    postgres_dsn: str | None = None
    bq_project_id: str | None = None
    bq_dataset_id: str | None = None

    def get(self) -> Warehouse:
        return make_warehouse(
            self.kind,
            duckdb_path=self.duckdb_path,
            postgres_dsn=self.postgres_dsn,
            bq_project_id=self.bq_project_id,
            bq_dataset_id=self.bq_dataset_id,
            bq_client=self._bigquery_client,
        )

    def _bigquery_client(self) -> Any:
        """dagster-gcp's ``google.cloud.bigquery.Client`` for BQ_PROJECT_ID, its credentials from the environment
        (GOOGLE_APPLICATION_CREDENTIALS or the machine's default), read when the client is made so it outlives the
        context. Imported here: dagster_gcp doubles the code location's import time and only BigQuery needs it."""
        from dagster_gcp import BigQueryResource

        with BigQueryResource(project=self.bq_project_id).get_client() as client:
            return client


def _secret(name: str) -> dg.EnvVar | None:
    return dg.EnvVar(name) if os.getenv(name) else None


def object_store_from_env() -> ObjectStoreResource:
    bucket = os.getenv("S3_BUCKET")
    s3 = None
    if bucket:
        s3 = S3Resource(
            endpoint_url=os.getenv("S3_ENDPOINT_URL") or None,
            region_name=os.getenv("AWS_REGION") or os.getenv("AWS_DEFAULT_REGION") or None,
            aws_access_key_id=_secret("AWS_ACCESS_KEY_ID"),
            aws_secret_access_key=_secret("AWS_SECRET_ACCESS_KEY"),
            aws_session_token=_secret("AWS_SESSION_TOKEN"),
        )
    expiry = os.getenv("S3_PRESIGNED_URL_EXPIRY_SECONDS") or str(MAX_PRESIGNED_URL_SECONDS)
    if not expiry.isdigit() or not 1 <= int(expiry) <= MAX_PRESIGNED_URL_SECONDS:
        raise ValueError(
            f"S3_PRESIGNED_URL_EXPIRY_SECONDS={expiry!r} must be a whole number of seconds from 1 to "
            f"{MAX_PRESIGNED_URL_SECONDS} (7 days, S3's limit)"
        )
    return ObjectStoreResource(
        local_dir=str(data_dir() / "objects"),
        s3_bucket=bucket or None,
        s3_prefix=os.getenv("S3_PREFIX", ""),
        s3=s3,
        reports_base_url=os.getenv("REPORTS_BASE_URL") or LOCAL_REPORTS_BASE_URL,
        presigned_url_expiry_seconds=int(expiry),
    )


def warehouse_from_env() -> WarehouseResource:
    kind = os.getenv("WAREHOUSE") or "duckdb"
    if kind not in WAREHOUSE_KINDS:
        raise ValueError(f"WAREHOUSE={kind!r} is not supported; choose one of {', '.join(WAREHOUSE_KINDS)}")
    return WarehouseResource(
        kind=kind,
        duckdb_path=os.getenv("DUCKDB_PATH") or str(data_dir() / "warehouse.duckdb"),
        postgres_dsn=_secret("POSTGRES_DSN"),
        bq_project_id=os.getenv("BQ_PROJECT_ID") or None,
        bq_dataset_id=os.getenv("BQ_DATASET_ID") or None,
    )


@dg.definitions
def resources() -> dg.Definitions:
    return dg.Definitions(resources={"object_store": object_store_from_env(), "warehouse": warehouse_from_env()})
