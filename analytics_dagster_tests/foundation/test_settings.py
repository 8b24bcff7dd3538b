"""The settings classes are the one list of environment names: the docs and .env.example are checked against them."""

import re

import dagster as dg
import pytest
from pydantic import SecretStr

from analytics_dagster import settings
from analytics_dagster.defs.ops.resources import alert_channels_from_env
from analytics_dagster.defs.replays.resources import replay_resources_from_env
from analytics_dagster.defs.resources import object_store_from_env, warehouse_from_env
from analytics_dagster.lib.settings import PROJECT_ROOT

ALL_NAMES = {name.upper() for stage in settings.STAGES.values() for name in stage.model_fields}


def test_configuration_doc_is_generated_from_the_settings():
    assert (PROJECT_ROOT / "docs" / "configuration.md").read_text() == settings.configuration_markdown(), (
        "regenerate it: python -m analytics_dagster.settings > docs/configuration.md"
    )


def test_env_example_lists_exactly_the_settings():
    text = (PROJECT_ROOT / ".env.example").read_text()
    assert set(re.findall(r"^#?\s*([A-Z][A-Z0-9_]+)=", text, flags=re.MULTILINE)) == ALL_NAMES


def test_readme_names_only_real_settings():
    readme = (PROJECT_ROOT / "README.md").read_text()
    configuration = readme.split("## Configuration", 1)[1].split("\n## ", 1)[0]
    named = set(re.findall(r"`([A-Z][A-Z0-9_]+)`", configuration))
    assert named and named <= ALL_NAMES, named - ALL_NAMES


def test_secrets_reach_resources_as_env_vars_only(monkeypatch, tmp_path):
    secrets = {
        "POSTGRES_DSN": "postgresql://u:pw-secret@host/db",
        "ALERT_WEBHOOK_URL": "https://hooks.example.com/hook-secret",
        "OPENAI_API_KEY": "sk-secret",
        "AWS_SECRET_ACCESS_KEY": "aws-secret",
    }
    monkeypatch.setenv("ANALYTICS_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("S3_BUCKET", "bucket")
    monkeypatch.setenv("WAREHOUSE", "postgres")
    for name, value in secrets.items():
        monkeypatch.setenv(name, value)
    resources = [
        object_store_from_env(),
        warehouse_from_env(),
        alert_channels_from_env(),
        *replay_resources_from_env().values(),
    ]
    shown = repr(resources)
    assert not [value for value in secrets.values() if value in shown]
    assert warehouse_from_env().postgres_dsn == dg.EnvVar("POSTGRES_DSN")
    assert "sk-secret" not in repr(settings.ReplaySettings.read())
    assert isinstance(settings.ReplaySettings.read().openai_api_key, SecretStr)
    assert set(secrets.values()) <= set(settings.secret_values())


def test_empty_means_unset_and_defaults_match_the_docs(monkeypatch):
    monkeypatch.setenv("REPLAY_MAX_PER_DAY", "")
    monkeypatch.setenv("WAREHOUSE", "")
    assert settings.ReplaySettings.read().replay_max_per_day == 50
    assert settings.WarehouseSettings.read().warehouse == "duckdb"


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("DEMO_EVENTS_PER_DAY", "-1", "DEMO_EVENTS_PER_DAY='-1' must be at least 0"),
        ("DEMO_EVENTS_PER_DAY", "many", "DEMO_EVENTS_PER_DAY='many' is not a whole number"),
        (
            "ANALYTICS_SOURCES",
            "amplitude,ga4",
            "ANALYTICS_SOURCES='amplitude,ga4' names no source or an unknown one; choose among amplitude, appmetrica",
        ),
        ("ANALYTICS_START_DATE", "15.03.2026", "ANALYTICS_START_DATE='15.03.2026' is not a date in YYYY-MM-DD form"),
        ("DWH_MAX_QUARANTINE_SHARE", "lots", "DWH_MAX_QUARANTINE_SHARE='lots' is not a number"),
        ("DWH_MIN_MAPPING_COVERAGE", "1.5", "DWH_MIN_MAPPING_COVERAGE='1.5' must be at most 1"),
        ("APPMETRICA_DATE_DIMENSION", "device", "APPMETRICA_DATE_DIMENSION='device' is not supported"),
    ],
)
def test_bad_values_name_their_variable(monkeypatch, name, value, message):
    monkeypatch.setenv(name, value)
    with pytest.raises(settings.SettingsError, match=re.escape(message)):
        for stage in settings.STAGES.values():
            stage.read()
