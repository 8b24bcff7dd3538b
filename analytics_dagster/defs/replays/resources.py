"""Resources of the replay stage, built from :class:`analytics_dagster.settings.ReplaySettings` (docs/replays.md)."""

from __future__ import annotations

from typing import Literal

import dagster as dg
from pydantic import Field

from analytics_dagster.lib.object_store import ObjectStore
from analytics_dagster.lib.replays.browser import DEMO_PLAYER, BrowserSettings, PlayerProfile, default_chromium_path
from analytics_dagster.lib.replays.clustering import METHODS
from analytics_dagster.lib.replays.gdrive import DRIVE_API_URL, DriveClient, google_credentials
from analytics_dagster.lib.replays.links import DEMO_ORG_URL, DEMO_PROJECT_ID, ReplayLinkSettings
from analytics_dagster.lib.replays.llm import LLMClient, TokenBudget
from analytics_dagster.lib.replays.ocr import tesseract_path
from analytics_dagster.lib.replays.screen_text import TEXT_SOURCES
from analytics_dagster.settings import AMPLITUDE_REGIONS, IngestSettings, ReplaySettings


class AmplitudeReplayResource(dg.ConfigurableResource):
    """Amplitude project of the replays, and how to drive its replay player (with a logged-in storage state)."""

    org_url: str = DEMO_ORG_URL
    project_id: str = DEMO_PROJECT_ID
    region: Literal[AMPLITUDE_REGIONS] = "us"
    app_url: str | None = None
    storage_state: str | None = None  # Playwright storage state of a logged-in session; unset = demo replay pages
    # Amplitude's player: which element means "loaded", the timeline to click to seek, and where the replayed page is.
    player_selector: str = "[data-testid='session-replay-player'], .rr-player, iframe[src*='replay']"
    scrubber_selector: str = "[role='slider'], .rr-timeline, .rr-progress"
    text_selector: str = "body"
    settle_ms: int = 1500

    @property
    def demo(self) -> bool:
        return not self.storage_state

    def link_settings(self) -> ReplayLinkSettings:
        return ReplayLinkSettings(self.org_url, self.project_id, self.region, self.app_url)

    def player_profile(self) -> PlayerProfile:
        if self.demo:
            return DEMO_PLAYER
        return PlayerProfile(self.player_selector, self.scrubber_selector, self.text_selector, self.settle_ms)


class ReplayBrowserResource(dg.ConfigurableResource):
    chromium_path: str | None = None  # None: Playwright's own Chromium
    concurrency: int = Field(default=3, ge=1)
    timeout_seconds: float = Field(default=90.0, ge=1)
    screenshots_per_replay: int = Field(default=4, ge=1)
    max_replays_per_day: int = Field(default=50, ge=1)
    # Of max_replays_per_day, kept back for clusters left without a screenshot (at most a quarter of the budget;
    # only used when the day has more replays than the budget; lib/replays/examples.py).
    cluster_example_reserve: int = Field(default=8, ge=0)

    def settings(self, storage_state: str | None) -> BrowserSettings:
        return BrowserSettings(
            chromium_path=self.chromium_path,
            concurrency=self.concurrency,
            timeout_seconds=self.timeout_seconds,
            screenshots_per_replay=self.screenshots_per_replay,
            storage_state=storage_state,
        )


class ReplayAnalysisResource(dg.ConfigurableResource):
    text_source: Literal[TEXT_SOURCES] = "auto"
    clustering: Literal[METHODS] = "kmeans"
    max_clusters: int = Field(default=8, ge=1)
    tesseract: str | None = None  # path of the tesseract program; None: not installed


class LLMResource(dg.ConfigurableResource):
    """Any OpenAI-compatible chat server; without a key or base URL the stage writes offline summaries."""

    api_key: str | None = None
    base_url: str | None = None
    model: str = "gpt-4o-mini"
    vision_model: str | None = None
    daily_token_cap: int = Field(default=200_000, ge=1)
    max_retries: int = Field(default=4, ge=0)
    timeout_seconds: float = Field(default=60.0, ge=1)
    max_tokens: int = 500
    summary_language: str = "English"

    @property
    def configured(self) -> bool:
        return bool(self.api_key or self.base_url)

    def client(self, store: ObjectStore, day: str) -> LLMClient | None:
        if not self.configured:
            return None
        import openai

        # A local server (vLLM, Ollama, LM Studio...) usually needs no key, but the client requires one.
        client = openai.OpenAI(
            base_url=self.base_url or None,
            api_key=self.api_key or "no-key",
            max_retries=self.max_retries,
            timeout=self.timeout_seconds,
        )
        return LLMClient(
            client,
            model=self.model,
            store=store,
            budget=TokenBudget(store, day, self.daily_token_cap),
            max_tokens=self.max_tokens,
        )


class GoogleDriveResource(dg.ConfigurableResource):
    folder_id: str | None = None
    credentials_path: str | None = None
    api_url: str = DRIVE_API_URL

    @property
    def configured(self) -> bool:
        return bool(self.folder_id and self.credentials_path)

    def client(self) -> DriveClient:
        if not self.configured:
            raise ValueError("Google Drive publishing needs GDRIVE_FOLDER_ID and GOOGLE_APPLICATION_CREDENTIALS")
        return DriveClient(google_credentials(self.credentials_path), api_url=self.api_url)


def replay_resources_from_env() -> dict[str, dg.ConfigurableResource]:
    settings = ReplaySettings.read()
    player_defaults = AmplitudeReplayResource()
    return {
        "replay_amplitude": AmplitudeReplayResource(
            org_url=settings.amplitude_org_url,
            project_id=settings.amplitude_project_id,
            region=IngestSettings.read().amplitude_region,
            app_url=settings.amplitude_app_url,
            storage_state=settings.amplitude_replay_storage_state,
            player_selector=settings.amplitude_replay_player_selector or player_defaults.player_selector,
            scrubber_selector=settings.amplitude_replay_scrubber_selector or player_defaults.scrubber_selector,
        ),
        "replay_browser": ReplayBrowserResource(
            chromium_path=default_chromium_path(settings.chromium_path),
            concurrency=settings.replay_concurrency,
            timeout_seconds=settings.replay_timeout_seconds,
            screenshots_per_replay=settings.replay_screenshots_per_replay,
            max_replays_per_day=settings.replay_max_per_day,
            cluster_example_reserve=settings.replay_cluster_examples,
        ),
        "replay_analysis": ReplayAnalysisResource(
            text_source=settings.replay_text_source,
            clustering=settings.replay_clustering,
            max_clusters=settings.replay_max_clusters,
            tesseract=tesseract_path(settings.tesseract_path),
        ),
        "replay_llm": LLMResource(
            api_key=settings.env_var("openai_api_key"),
            base_url=settings.openai_base_url,
            model=settings.openai_model,
            vision_model=settings.openai_vision_model,
            daily_token_cap=settings.llm_daily_token_cap,
            max_retries=settings.llm_max_retries,
            timeout_seconds=settings.llm_timeout_seconds,
            summary_language=settings.llm_summary_language,
        ),
        "replay_gdrive": GoogleDriveResource(
            folder_id=settings.gdrive_folder_id,
            credentials_path=settings.google_application_credentials,
            api_url=settings.gdrive_api_url,
        ),
    }


@dg.definitions
def resources() -> dg.Definitions:
    return dg.Definitions(resources=replay_resources_from_env())
