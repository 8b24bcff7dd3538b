"""Every environment setting of the platform, in one place (listed in docs/configuration.md and .env.example).

Each stage's settings are a ``pydantic-settings`` class whose field names are the environment names in lower case,
so ``REPLAY_MAX_PER_DAY`` is ``ReplaySettings().replay_max_per_day``. An empty variable counts as unset. A bad
value fails with a message naming the variable, its value and what it must be.

The environment is read when a settings object is made: resources and definitions make theirs when the code
location loads; helpers that run inside a step (``data_dir()``, ``demo_events_per_day()``...) read it when
called, so a run sees the environment of the process that runs it. ``lib/`` never reads the environment: it gets
these values as arguments.

Secrets are ``SecretStr``: they show as ``**********`` and reach resources only as ``dg.EnvVar`` (the UI shows the
variable's name, never its value).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Literal, Self, get_args, get_origin

import dagster as dg
import pandas as pd
from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic.fields import FieldInfo
from pydantic_settings import BaseSettings, SettingsConfigDict

from analytics_dagster.lib.appmetrica import DATE_DIMENSIONS
from analytics_dagster.lib.appmetrica import DEFAULT_BASE_URL as APPMETRICA_DEFAULT_URL
from analytics_dagster.lib.dwh.mappings import DEFAULT_MAPPINGS_DIR
from analytics_dagster.lib.markdown import markdown_table
from analytics_dagster.lib.object_store import LOCAL_REPORTS_BASE_URL, MAX_PRESIGNED_URL_SECONDS
from analytics_dagster.lib.ops.freshness import DEFAULT_DEADLINES, Deadline, deadlines
from analytics_dagster.lib.replays.clustering import METHODS
from analytics_dagster.lib.replays.gdrive import DRIVE_API_URL
from analytics_dagster.lib.replays.links import DEMO_ORG_URL, DEMO_PROJECT_ID
from analytics_dagster.lib.replays.screen_text import TEXT_SOURCES
from analytics_dagster.lib.settings import ALL_SOURCES, DEFAULT_DEMO_EVENTS_PER_DAY, DEFAULT_START_DATE, PROJECT_ROOT
from analytics_dagster.lib.warehouse import WAREHOUSE_KINDS

AMPLITUDE_REGIONS = ("us", "eu")


class SettingsError(ValueError):
    """A setting has a value it cannot have; the message names the variable."""


def _problem(error: dict) -> str:
    context = error.get("ctx", {})
    match error["type"]:
        case "int_parsing" | "int_from_float":
            return "is not a whole number"
        case "float_parsing":
            return "is not a number"
        case "greater_than_equal":
            return f"must be at least {context['ge']:g}"
        case "less_than_equal":
            return f"must be at most {context['le']:g}"
        case "literal_error":
            return f"is not supported; choose one of {context['expected']}"
        case "date_from_datetime_parsing" | "date_parsing":
            return "is not a date in YYYY-MM-DD form"
        case "value_error":
            return str(context["error"])
    return error["msg"]


class _EnvSettings(BaseSettings):
    """One stage's settings; ``read()`` reads them from the environment (and raises ``SettingsError``)."""

    model_config = SettingsConfigDict(env_ignore_empty=True, extra="ignore", frozen=True)

    @classmethod
    def read(cls) -> Self:
        try:
            return cls()
        except ValidationError as error:
            raise SettingsError(
                "; ".join(f"{str(e['loc'][0]).upper()}={e['input']!r} {_problem(e)}" for e in error.errors())
            ) from None

    def env_var(self, field: str) -> dg.EnvVar | None:
        """A set secret as ``dg.EnvVar``, resolved by Dagster when the resource is used; None when unset."""
        return dg.EnvVar(field.upper()) if getattr(self, field) else None


class CoreSettings(_EnvSettings):
    analytics_data_dir: Path | None = Field(
        default=None,
        description="root of everything local (object store folder, DuckDB file, Dagster home); "
        "relative paths are taken from the current directory; default `<project>/data`",
    )
    analytics_start_date: dt.date = Field(
        default=dt.date.fromisoformat(DEFAULT_START_DATE), description="first daily partition (Moscow day)"
    )
    demo_events_per_day: int = Field(
        default=DEFAULT_DEMO_EVENTS_PER_DAY,
        ge=0,
        description="size of a demo day per source (used when a source has no credentials)",
    )
    analytics_sources: str = Field(
        default=",".join(ALL_SOURCES),
        description="the sources a day needs (comma-separated): a DWH day fails without their raw data, a metric day "
        "is final only when all are loaded",
    )

    @field_validator("analytics_sources")
    @classmethod
    def _known_sources(cls, value: str) -> str:
        if not _split(value) or set(_split(value)) - set(ALL_SOURCES):
            raise ValueError(f"names no source or an unknown one; choose among {', '.join(ALL_SOURCES)}")
        return value

    @property
    def data_dir(self) -> Path:
        return self.analytics_data_dir.resolve() if self.analytics_data_dir else PROJECT_ROOT / "data"

    @property
    def sources(self) -> tuple[str, ...]:
        return _split(self.analytics_sources)


class WarehouseSettings(_EnvSettings):
    warehouse: Literal[WAREHOUSE_KINDS] = Field(default="duckdb", description="the warehouse")
    duckdb_path: Path | None = Field(
        default=None, description="DuckDB file; default `$ANALYTICS_DATA_DIR/warehouse.duckdb`"
    )
    postgres_dsn: SecretStr | None = Field(
        default=None, description="PostgreSQL warehouse (the DSN holds the password)"
    )
    bq_project_id: str | None = Field(
        default=None, description="BigQuery project (credentials from `GOOGLE_APPLICATION_CREDENTIALS`)"
    )
    bq_dataset_id: str | None = Field(default=None, description="BigQuery dataset")


class ObjectStoreSettings(_EnvSettings):
    s3_bucket: str | None = Field(default=None, description="keep the object store on S3 (else a local folder)")
    s3_prefix: str = Field(default="", description="key prefix inside the bucket")
    s3_endpoint_url: str | None = Field(default=None, description="any S3-compatible endpoint")
    aws_region: str | None = Field(default=None, description="region of the bucket")
    aws_default_region: str | None = Field(default=None, description="region of the bucket when `AWS_REGION` is unset")
    aws_access_key_id: SecretStr | None = Field(
        default=None, description="S3 credentials; unset = the standard AWS chain"
    )
    aws_secret_access_key: SecretStr | None = Field(default=None, description="S3 credentials")
    aws_session_token: SecretStr | None = Field(default=None, description="temporary S3 credentials")
    reports_base_url: str = Field(
        default=LOCAL_REPORTS_BASE_URL,
        description="base of the report links in "
        "metadata when the object store is local (the report server, or a proxy)",
    )
    s3_presigned_url_expiry_seconds: int = Field(
        default=MAX_PRESIGNED_URL_SECONDS,
        ge=1,
        le=MAX_PRESIGNED_URL_SECONDS,
        description="how long report links in metadata work when the object store is S3 (7 days at most, S3's limit)",
    )


class IngestSettings(_EnvSettings):
    amplitude_api_key: SecretStr | None = Field(default=None, description="Amplitude Export API; unset = demo data")
    amplitude_secret_key: SecretStr | None = Field(default=None, description="Amplitude Export API")
    amplitude_region: Literal[AMPLITUDE_REGIONS] = Field(default="us", description="Amplitude data region")
    amplitude_api_url: str | None = Field(default=None, description="overrides the Export API host (e.g. a proxy)")
    amplitude_s3_export_prefix: str | None = Field(
        default=None, description="`s3://bucket/prefix` where Amplitude's hourly S3 export lands, watched by a sensor"
    )
    amplitude_s3_endpoint_url: str | None = Field(
        default=None, description="S3-compatible endpoint of the export bucket; default `S3_ENDPOINT_URL`"
    )
    appmetrica_token: SecretStr | None = Field(
        default=None, description="AppMetrica Logs API OAuth token; unset = demo data"
    )
    appmetrica_application_id: str | None = Field(default=None, description="AppMetrica application id")
    appmetrica_api_url: str = Field(default=APPMETRICA_DEFAULT_URL, description="AppMetrica Logs API host")
    appmetrica_tables: str = Field(
        default="events",
        description="Logs API tables, comma-separated: `events`, plus `installations` and/or `sessions_starts`",
    )
    appmetrica_date_dimension: Literal[DATE_DIMENSIONS] = Field(
        default="receive", description="`receive` (server receive time) or `default` (device time)"
    )

    @property
    def appmetrica_table_list(self) -> list[str]:
        return list(_split(self.appmetrica_tables))


class ReplaySettings(_EnvSettings):
    amplitude_org_url: str = Field(default=DEMO_ORG_URL, description="Amplitude organisation, for replay links")
    amplitude_project_id: str = Field(default=DEMO_PROJECT_ID, description="Amplitude project, for replay links")
    amplitude_app_url: str | None = Field(
        default=None, description="Amplitude UI host override (replay links, screenshots)"
    )
    amplitude_replay_storage_state: str | None = Field(
        default=None, description="Playwright storage state of a logged-in Amplitude session; unset = demo replay pages"
    )
    amplitude_replay_player_selector: str | None = Field(
        default=None, description="CSS selector telling the replay player has loaded"
    )
    amplitude_replay_scrubber_selector: str | None = Field(
        default=None, description="CSS selector of the player's timeline"
    )
    chromium_path: str | None = Field(
        default=None,
        description="browser for screenshots; default `/usr/bin/chromium` when present, else Playwright's Chromium",
    )
    tesseract_path: str | None = Field(
        default=None, description="Tesseract program for OCR; default `tesseract` on the PATH"
    )
    replay_max_per_day: int = Field(default=50, ge=1, description="replays screenshotted per day")
    replay_cluster_examples: int = Field(
        default=8,
        ge=0,
        description="of that budget, screenshots kept back for "
        "one example of each cluster that has none (at most a quarter of it)",
    )
    replay_concurrency: int = Field(default=3, ge=1, description="browser pages at once")
    replay_timeout_seconds: float = Field(default=90.0, ge=1, description="time allowed for one replay")
    replay_screenshots_per_replay: int = Field(default=4, ge=1, description="screenshots of one replay")
    replay_text_source: Literal[TEXT_SOURCES] = Field(
        default="auto",
        description="how screenshots become text (auto: vision model, else Tesseract OCR, else the page text)",
    )
    replay_clustering: Literal[METHODS] = Field(default="kmeans", description="clustering method")
    replay_max_clusters: int = Field(default=8, ge=1, description="most clusters per day")
    openai_api_key: SecretStr | None = Field(
        default=None, description="LLM for replay summaries; unset with no base URL = offline summaries"
    )
    openai_base_url: str | None = Field(default=None, description="any OpenAI-compatible server")
    openai_model: str = Field(default="gpt-4o-mini", description="summary model")
    openai_vision_model: str | None = Field(default=None, description="set to read screenshots with a vision model")
    llm_daily_token_cap: int = Field(default=200_000, ge=1, description="LLM tokens per day")
    llm_max_retries: int = Field(default=4, ge=0, description="retries of one LLM call")
    llm_timeout_seconds: float = Field(default=60.0, ge=1, description="time allowed for one LLM call")
    llm_summary_language: str = Field(default="English", description="language of the summaries")
    gdrive_folder_id: str | None = Field(
        default=None, description="also publish replay reports to this Google Drive folder"
    )
    google_application_credentials: str | None = Field(
        default=None, description="Google service account file (Drive, BigQuery)"
    )
    gdrive_api_url: str = Field(default=DRIVE_API_URL, description="Drive API host override (tests, proxies)")


class DwhSettings(_EnvSettings):
    dwh_max_quarantine_share: float = Field(
        default=0.01,
        ge=0,
        le=1,
        description="fail a day, writing nothing, when a source's malformed records exceed this share",
    )
    dwh_min_mapping_coverage: float = Field(
        default=0.5,
        ge=0,
        le=1,
        description="warn when field_mappings/ cover less than this share of user-property keys",
    )
    dwh_duckdb_memory_limit: str = Field(
        default="1GB", description="DuckDB memory while parsing; spills to disk beyond it"
    )
    dwh_field_mappings_dir: Path = Field(default=DEFAULT_MAPPINGS_DIR, description="the field mappings folder")


class MetricsSettings(_EnvSettings):
    metrics_experiments_file: Path = Field(
        default=PROJECT_ROOT / "config" / "experiments.yaml", description="A/B tests analysed by metrics_ab_tests"
    )


class OpsSettings(_EnvSettings):
    freshness_deadline_ingest: str = Field(
        default=DEFAULT_DEADLINES["ingest"],
        description="Moscow time (HH:MM) of day D by which ingest must have materialized D-1",
    )
    freshness_deadline_dwh: str = Field(default=DEFAULT_DEADLINES["dwh"], description="the same for the DWH")
    freshness_deadline_metrics: str = Field(default=DEFAULT_DEADLINES["metrics"], description="the same for metrics")
    freshness_deadline_replays: str = Field(default=DEFAULT_DEADLINES["replays"], description="the same for replays")
    alert_slack_webhook_url: SecretStr | None = Field(
        default=None, description="Slack-compatible incoming webhook for alerts"
    )
    alert_telegram_bot_token: SecretStr | None = Field(default=None, description="Telegram bot for alerts")
    alert_telegram_chat_id: str | None = Field(default=None, description="the chat the bot posts to")
    alert_telegram_api_url: str = Field(default="https://api.telegram.org", description="Bot API host override")
    alert_webhook_url: SecretStr | None = Field(default=None, description="generic JSON webhook for alerts")
    dagster_ui_base_url: str | None = Field(default=None, description="links to runs in alerts")
    prometheus_pushgateway_url: SecretStr | None = Field(
        default=None, description="push figures after every run; unset = not pushed"
    )

    def deadlines(self) -> dict[str, Deadline]:
        return deadlines(
            {
                f"FRESHNESS_DEADLINE_{group.upper()}": getattr(self, f"freshness_deadline_{group}")
                for group in DEFAULT_DEADLINES
            }
        )


STAGES: dict[str, type[_EnvSettings]] = {
    "core": CoreSettings,
    "warehouse": WarehouseSettings,
    "object store": ObjectStoreSettings,
    "ingest": IngestSettings,
    "replays": ReplaySettings,
    "dwh": DwhSettings,
    "metrics": MetricsSettings,
    "observability": OpsSettings,
}


def secret_values() -> list[str]:
    """The values of every configured secret of every stage (to redact them from alerts)."""
    return [
        value.get_secret_value()
        for stage in STAGES.values()
        for value in stage.read().model_dump().values()
        if isinstance(value, SecretStr)
    ]


def _split(value: str) -> tuple[str, ...]:
    return tuple(dict.fromkeys(part.strip() for part in value.split(",") if part.strip()))


# Read inside steps and CLIs, when called: a run sees the environment of the process running it.
def data_dir() -> Path:
    return CoreSettings.read().data_dir


def start_date() -> str:
    return CoreSettings.read().analytics_start_date.isoformat()


def demo_events_per_day() -> int:
    return CoreSettings.read().demo_events_per_day


def configured_sources() -> tuple[str, ...]:
    return CoreSettings.read().sources


def _allowed(field: FieldInfo) -> str:
    if SecretStr in get_args(field.annotation):
        return "secret"
    if get_origin(field.annotation) is Literal:
        return ", ".join(f"`{choice}`" for choice in get_args(field.annotation))
    bounds = {type(rule).__name__: rule for rule in field.metadata}
    low, high = bounds.get("Ge"), bounds.get("Le")
    if low and high:
        return f"{low.ge:g} to {high.le:g}"
    return f"at least {low.ge:g}" if low else ""


def _default(field: FieldInfo) -> str:
    value = field.default
    if value is None or value == "":
        return "—"
    if isinstance(value, Path) and value.is_relative_to(PROJECT_ROOT):
        value = f"<project>/{value.relative_to(PROJECT_ROOT)}"
    return f"`{value.isoformat() if isinstance(value, dt.date) else value}`"


def configuration_markdown() -> str:
    """docs/configuration.md: every setting, from the classes above (a test keeps the file equal to it)."""
    rows = [
        {
            "stage": stage,
            "name": f"`{name.upper()}`",
            "default": _default(field),
            "allowed": _allowed(field),
            "meaning": field.description,
        }
        for stage, settings in STAGES.items()
        for name, field in settings.model_fields.items()
    ]
    return (
        "# Configuration\n\n"
        "Every setting is an environment variable (or a line of `.env`, which `dagster dev` loads); all are optional. "
        "They are read by `analytics_dagster/settings.py`, and this page is generated from it "
        "(`python -m analytics_dagster.settings > docs/configuration.md`). An empty value counts as unset; a bad "
        "value stops the code location from loading with a message naming the variable. Secrets reach resources as "
        "`dagster.EnvVar`, so the UI shows the variable's name, never its value.\n\n"
        f"{markdown_table(pd.DataFrame(rows), max_rows=len(rows), max_width=1000)}\n"
    )


if __name__ == "__main__":
    print(configuration_markdown(), end="")
