from __future__ import annotations

import dagster as dg
import pytest

from analytics_dagster.defs.replays.resources import replay_resources_from_env
from analytics_dagster.lib.replays.browser import DEMO_PLAYER

REPLAY_VARIABLES = (
    "AMPLITUDE_ORG_URL",
    "AMPLITUDE_PROJECT_ID",
    "AMPLITUDE_REGION",
    "AMPLITUDE_APP_URL",
    "AMPLITUDE_REPLAY_STORAGE_STATE",
    "REPLAY_MAX_PER_DAY",
    "REPLAY_CLUSTER_EXAMPLES",
    "REPLAY_CONCURRENCY",
    "REPLAY_TIMEOUT_SECONDS",
    "REPLAY_TEXT_SOURCE",
    "REPLAY_CLUSTERING",
    "OPENAI_API_KEY",
    "OPENAI_BASE_URL",
    "OPENAI_MODEL",
    "OPENAI_VISION_MODEL",
    "LLM_DAILY_TOKEN_CAP",
    "LLM_MAX_RETRIES",
    "GDRIVE_FOLDER_ID",
    "GOOGLE_APPLICATION_CREDENTIALS",
    "GDRIVE_API_URL",
)


@pytest.fixture
def clean_env(monkeypatch):
    for name in REPLAY_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def test_defaults_are_demo_replays_and_offline_summaries(clean_env):
    resources = replay_resources_from_env()
    amplitude = resources["replay_amplitude"]
    assert amplitude.demo and amplitude.player_profile() == DEMO_PLAYER
    assert (amplitude.org_url, amplitude.project_id, amplitude.region) == ("demo-org", "100001", "us")
    assert resources["replay_browser"].max_replays_per_day == 50 and resources["replay_browser"].concurrency == 3
    assert not resources["replay_llm"].configured and resources["replay_llm"].client(None, "2026-03-15") is None
    assert not resources["replay_gdrive"].configured


def test_configuration_comes_from_the_documented_names(clean_env, tmp_path):
    state = tmp_path / "state.json"
    state.write_text('{"cookies": [], "origins": []}')
    for name, value in {
        "AMPLITUDE_ORG_URL": "acme",
        "AMPLITUDE_PROJECT_ID": "42",
        "AMPLITUDE_REGION": "eu",
        "AMPLITUDE_REPLAY_STORAGE_STATE": str(state),
        "REPLAY_MAX_PER_DAY": "7",
        "REPLAY_CLUSTER_EXAMPLES": "0",
        "LLM_MAX_RETRIES": "0",
        "OPENAI_BASE_URL": "http://127.0.0.1:8000/v1",
        "OPENAI_MODEL": "qwen2.5",
        "OPENAI_API_KEY": "sk-secret",
        "GDRIVE_FOLDER_ID": "folder",
        "GOOGLE_APPLICATION_CREDENTIALS": str(state),
    }.items():
        clean_env.setenv(name, value)
    resources = replay_resources_from_env()
    amplitude = resources["replay_amplitude"]
    assert not amplitude.demo and amplitude.link_settings().host == "https://app.eu.amplitude.com"
    assert amplitude.player_profile().settle_ms == 1500
    assert resources["replay_browser"].max_replays_per_day == 7
    assert resources["replay_browser"].cluster_example_reserve == 0  # zero is allowed: no reserve
    llm = resources["replay_llm"]
    assert llm.configured and llm.model == "qwen2.5" and llm.max_retries == 0
    assert isinstance(llm.api_key, dg.EnvVar) and "sk-secret" not in repr(llm.api_key)
    assert resources["replay_gdrive"].configured


@pytest.mark.parametrize(
    "name, value, message",
    [
        ("REPLAY_MAX_PER_DAY", "lots", "REPLAY_MAX_PER_DAY='lots' is not a whole number"),
        ("REPLAY_CONCURRENCY", "0", "REPLAY_CONCURRENCY='0' must be at least 1"),
        ("REPLAY_CLUSTER_EXAMPLES", "-1", "REPLAY_CLUSTER_EXAMPLES='-1' must be at least 0"),
        ("REPLAY_CLUSTERING", "dbscan", "REPLAY_CLUSTERING='dbscan' is not supported"),
        ("AMPLITUDE_REGION", "asia", "AMPLITUDE_REGION='asia' is not supported"),
    ],
)
def test_bad_values_name_their_variable(clean_env, name, value, message):
    clean_env.setenv(name, value)
    with pytest.raises(ValueError, match=message):
        replay_resources_from_env()
