"""Resources of the ingest stage: Amplitude (Export API and S3 export) and AppMetrica (Logs API).

Built from :class:`analytics_dagster.settings.IngestSettings`; credentials reach the resources as ``dg.EnvVar``
(the UI shows the variable's name, never its value).
Both credentials of a pair set = the real API; neither = the demo source, said loudly in the log and metadata;
only one of a pair = a configuration error, never a silent fallback to demo data.
"""

from __future__ import annotations

from typing import Literal

import boto3
import dagster as dg
import httpx
from pydantic import Field

from analytics_dagster.lib.amplitude import MAX_CONCURRENT_REQUESTS, AmplitudeExportClient, export_base_url
from analytics_dagster.lib.amplitude_sources import (
    AmplitudeDemoSource,
    AmplitudeExportApiSource,
    AmplitudeS3ExportSource,
)
from analytics_dagster.lib.appmetrica import (
    DATE_DIMENSIONS,
    MAX_QUEUED_QUERIES,
    TABLE_FIELDS,
    AppMetricaLogsClient,
    PollPolicy,
)
from analytics_dagster.lib.appmetrica import (
    DEFAULT_BASE_URL as APPMETRICA_DEFAULT_URL,
)
from analytics_dagster.lib.appmetrica_sources import AppMetricaDemoSource, AppMetricaLogsApiSource
from analytics_dagster.lib.day_source import DaySource
from analytics_dagster.lib.http_retry import Backoff, Log
from analytics_dagster.lib.object_store import ObjectStore
from analytics_dagster.lib.s3_export import ExportLocation
from analytics_dagster.settings import AMPLITUDE_REGIONS, IngestSettings, ObjectStoreSettings, demo_events_per_day

# Dagster concurrency pools of the API-calling assets. Each run keeps within the API's own limit by itself
# (5 concurrent Export API requests, 3 queued Logs API queries), so the pools' limit is 1: one such run at a time.
AMPLITUDE_POOL = "amplitude_api"
APPMETRICA_POOL = "appmetrica_api"


class IngestConfigurationError(ValueError):
    """Settings that contradict each other, e.g. an API key without its secret."""


def credentials_pair(source: str, first: tuple[str, str | None], second: tuple[str, str | None]) -> bool:
    """True when both credentials are set, False when neither is; raises when only one is."""
    (first_name, first_value), (second_name, second_value) = first, second
    if bool(first_value) != bool(second_value):
        have, missing = (first_name, second_name) if first_value else (second_name, first_name)
        raise IngestConfigurationError(
            f"{have} is set but {missing} is not: set both to load real {source} data, or neither to load the "
            "demo source"
        )
    return bool(first_value)


class _ApiResource(dg.ConfigurableResource):
    request_timeout_seconds: float = Field(default=600.0, gt=0, description="Read timeout of one HTTP response.")
    retry_max_attempts: int = Field(default=8, ge=1, description="Attempts per request before giving up.")
    retry_base_seconds: float = Field(default=1.0, ge=0, description="First backoff delay; doubles per attempt.")
    retry_max_seconds: float = Field(
        default=60.0, ge=0, description="Longest backoff delay (Retry-After may ask more)."
    )

    def backoff(self) -> Backoff:
        return Backoff(self.retry_base_seconds, self.retry_max_seconds, self.retry_max_attempts)

    def timeout(self) -> httpx.Timeout:
        return httpx.Timeout(min(60.0, self.request_timeout_seconds), read=self.request_timeout_seconds)


class AmplitudeResource(_ApiResource):
    """Amplitude Export API (Basic auth with the project's API key and secret key) and the S3 export location."""

    api_key: str | None = Field(default=None, description="AMPLITUDE_API_KEY")
    secret_key: str | None = Field(default=None, description="AMPLITUDE_SECRET_KEY")
    region: Literal[AMPLITUDE_REGIONS] = Field(
        default="us", description="AMPLITUDE_REGION: 'us' or 'eu' (EU data residency)"
    )
    api_url: str | None = Field(default=None, description="AMPLITUDE_API_URL: overrides the region's host")
    s3_export_prefix: str | None = Field(
        default=None, description="AMPLITUDE_S3_EXPORT_PREFIX: s3://bucket/prefix where the S3 export lands"
    )
    s3_endpoint_url: str | None = Field(
        default=None, description="AMPLITUDE_S3_ENDPOINT_URL (else S3_ENDPOINT_URL): an S3-compatible endpoint"
    )
    max_concurrent_requests: int = Field(
        default=MAX_CONCURRENT_REQUESTS, ge=1, description="Export API requests in flight per run (Amplitude allows 5)"
    )

    def uses_api(self) -> bool:
        return credentials_pair(
            "Amplitude", ("AMPLITUDE_API_KEY", self.api_key), ("AMPLITUDE_SECRET_KEY", self.secret_key)
        )

    def base_url(self) -> str:
        return export_base_url(self.region, self.api_url)

    def export_client(self, log: Log) -> AmplitudeExportClient:
        return AmplitudeExportClient(
            self.api_key or "",
            self.secret_key or "",
            base_url=self.base_url(),
            backoff=self.backoff(),
            timeout=self.timeout(),
            max_concurrent_requests=self.max_concurrent_requests,
            log=log,
        )

    def s3_export_location(self) -> ExportLocation | None:
        return ExportLocation.parse(self.s3_export_prefix) if self.s3_export_prefix else None

    def s3_client(self):
        """A boto3 S3 client; credentials come from the standard AWS chain (AWS_* variables, profile, role).

        Without any, boto3 would fail only at the first listing with a bare "Unable to locate credentials" trace;
        this says what to set instead.
        """
        session = boto3.Session()
        if session.get_credentials() is None:
            raise IngestConfigurationError(
                f"AMPLITUDE_S3_EXPORT_PREFIX={self.s3_export_prefix} is set but no AWS credentials were found to "
                "read it: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (plus AWS_SESSION_TOKEN for temporary "
                "credentials), or AWS_PROFILE naming a profile in ~/.aws, or run where an IAM role provides them "
                "(EC2 instance profile, ECS/EKS task role)"
            )
        return session.client("s3", endpoint_url=self.s3_endpoint_url or None)

    def day_source(self, store: ObjectStore, log: Log, *, s3_export: bool, s3_keys: list[str]) -> DaySource:
        """The S3 export when asked for (``s3_keys``: the new objects that triggered the run), else the Export API
        when credentials are set, else the demo generator."""
        if s3_export:
            location = self.s3_export_location()
            if location is None:
                raise IngestConfigurationError(
                    "source 's3_export' needs AMPLITUDE_S3_EXPORT_PREFIX (s3://bucket/prefix)"
                )
            return AmplitudeS3ExportSource(
                self.s3_client(), location, store, log, self.max_concurrent_requests, s3_keys
            )
        if self.uses_api():
            client = self.export_client(log)
            return AmplitudeExportApiSource(client, self.base_url(), store, log, self.max_concurrent_requests)
        return AmplitudeDemoSource(demo_events_per_day(), store, log)


class AppMetricaResource(_ApiResource):
    """AppMetrica Logs API (``Authorization: OAuth <token>``) for one application."""

    token: str | None = Field(default=None, description="APPMETRICA_TOKEN")
    application_id: str | None = Field(default=None, description="APPMETRICA_APPLICATION_ID")
    api_url: str = Field(default=APPMETRICA_DEFAULT_URL, description="APPMETRICA_API_URL")
    date_dimension: Literal[DATE_DIMENSIONS] = Field(
        default="receive", description="APPMETRICA_DATE_DIMENSION: 'receive' (server receive time) or 'default'"
    )
    tables: list[str] = Field(
        default=["events"], description="APPMETRICA_TABLES: events, plus installations and/or sessions_starts"
    )
    max_queued_queries: int = Field(
        default=MAX_QUEUED_QUERIES, ge=1, description="Queries queued at once per run (AppMetrica queues 3 per app)"
    )
    poll_initial_seconds: float = Field(default=10.0, gt=0, description="First wait while a query is prepared (202)")
    poll_max_seconds: float = Field(default=120.0, gt=0, description="Longest wait between polls")
    prepare_timeout_seconds: float = Field(default=3 * 3600.0, gt=0, description="Give up on one query after this long")

    def uses_api(self) -> bool:
        return credentials_pair(
            "AppMetrica", ("APPMETRICA_TOKEN", self.token), ("APPMETRICA_APPLICATION_ID", self.application_id)
        )

    def checked_tables(self) -> list[str]:
        unknown = [t for t in self.tables if t not in TABLE_FIELDS]
        if unknown or "events" not in self.tables:
            raise IngestConfigurationError(
                f"APPMETRICA_TABLES={','.join(self.tables)!r}: it must include 'events' and may add "
                f"{' and '.join(t for t in TABLE_FIELDS if t != 'events')}"
            )
        return ["events", *(t for t in dict.fromkeys(self.tables) if t != "events")]

    def logs_client(self, log: Log) -> AppMetricaLogsClient:
        return AppMetricaLogsClient(
            self.token or "",
            self.application_id or "",
            base_url=self.api_url,
            date_dimension=self.date_dimension,
            backoff=self.backoff(),
            poll=PollPolicy(self.poll_initial_seconds, self.poll_max_seconds, self.prepare_timeout_seconds),
            timeout=self.timeout(),
            max_queued_queries=self.max_queued_queries,
            log=log,
        )

    def day_source(self, store: ObjectStore, log: Log) -> DaySource:
        """The Logs API when credentials are set, else the demo generator; both fetch the configured tables."""
        tables = self.checked_tables()
        if self.uses_api():
            details = {"application_id": self.application_id, "date_dimension": self.date_dimension}
            client = self.logs_client(log)
            return AppMetricaLogsApiSource(client, tables, details, self.api_url, store, log, self.max_queued_queries)
        return AppMetricaDemoSource(tables, demo_events_per_day(), store, log)


def amplitude_from_env() -> AmplitudeResource:
    settings = IngestSettings.read()
    return AmplitudeResource(
        api_key=settings.env_var("amplitude_api_key"),
        secret_key=settings.env_var("amplitude_secret_key"),
        region=settings.amplitude_region,
        api_url=settings.amplitude_api_url,
        s3_export_prefix=settings.amplitude_s3_export_prefix,
        s3_endpoint_url=settings.amplitude_s3_endpoint_url or ObjectStoreSettings.read().s3_endpoint_url,
    )


def appmetrica_from_env() -> AppMetricaResource:
    settings = IngestSettings.read()
    return AppMetricaResource(
        token=settings.env_var("appmetrica_token"),
        application_id=settings.appmetrica_application_id,
        api_url=settings.appmetrica_api_url,
        date_dimension=settings.appmetrica_date_dimension,
        tables=settings.appmetrica_table_list,
    )


@dg.definitions
def ingest_resources() -> dg.Definitions:
    return dg.Definitions(resources={"amplitude": amplitude_from_env(), "appmetrica": appmetrica_from_env()})
