"""Resources shared by every stage, built from :mod:`analytics_dagster.settings` when definitions load.

Secrets are passed as ``dg.EnvVar`` so the UI shows the variable's name, never its value.
"""

from typing import Any, Literal

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
from analytics_dagster.lib.warehouse import WAREHOUSE_KINDS, Warehouse, make_warehouse
from analytics_dagster.settings import CoreSettings, ObjectStoreSettings, WarehouseSettings

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
        ge=1,
        le=MAX_PRESIGNED_URL_SECONDS,
        description="S3_PRESIGNED_URL_EXPIRY_SECONDS: how long S3 links in metadata work (at most 7 days)",
    )

    def store(self) -> ObjectStore:
        if self.s3_bucket:
            s3 = self.s3 or S3Resource()
            return S3ObjectStore(s3.get_client(), self.s3_bucket, self.s3_prefix, self.presigned_url_expiry_seconds)
        return LocalObjectStore(self.local_dir, self.reports_base_url)


class WarehouseResource(dg.ConfigurableResource):
    """The warehouse the DWH and metrics write to: DuckDB (default), PostgreSQL or BigQuery."""

    kind: Literal[WAREHOUSE_KINDS] = "duckdb"
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


def object_store_from_env() -> ObjectStoreResource:
    settings = ObjectStoreSettings.read()
    s3 = None
    if settings.s3_bucket:
        s3 = S3Resource(
            endpoint_url=settings.s3_endpoint_url,
            region_name=settings.aws_region or settings.aws_default_region,
            aws_access_key_id=settings.env_var("aws_access_key_id"),
            aws_secret_access_key=settings.env_var("aws_secret_access_key"),
            aws_session_token=settings.env_var("aws_session_token"),
        )
    return ObjectStoreResource(
        local_dir=str(CoreSettings.read().data_dir / "objects"),
        s3_bucket=settings.s3_bucket,
        s3_prefix=settings.s3_prefix,
        s3=s3,
        reports_base_url=settings.reports_base_url,
        presigned_url_expiry_seconds=settings.s3_presigned_url_expiry_seconds,
    )


def warehouse_from_env() -> WarehouseResource:
    settings = WarehouseSettings.read()
    return WarehouseResource(
        kind=settings.warehouse,
        duckdb_path=str(settings.duckdb_path or CoreSettings.read().data_dir / "warehouse.duckdb"),
        postgres_dsn=settings.env_var("postgres_dsn"),
        bq_project_id=settings.bq_project_id,
        bq_dataset_id=settings.bq_dataset_id,
    )


@dg.definitions
def resources() -> dg.Definitions:
    return dg.Definitions(resources={"object_store": object_store_from_env(), "warehouse": warehouse_from_env()})
