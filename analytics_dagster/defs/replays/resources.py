"""Resources of the replay stage, configured from the environment (names in docs/replays.md and .env.example)."""

from __future__ import annotations

import os

import dagster as dg

from analytics_dagster.lib.object_store import ObjectStore
from analytics_dagster.lib.replays.browser import DEMO_PLAYER, BrowserSettings, PlayerProfile, default_chromium_path
from analytics_dagster.lib.replays.clustering import METHODS
from analytics_dagster.lib.replays.gdrive import DRIVE_API_URL, DriveClient, google_credentials
from analytics_dagster.lib.replays.links import DEMO_ORG_URL, DEMO_PROJECT_ID, ReplayLinkSettings
from analytics_dagster.lib.replays.llm import LLMClient, TokenBudget
from analytics_dagster.lib.replays.ocr import tesseract_path
from analytics_dagster.lib.replays.screen_text import TEXT_SOURCES


class AmplitudeReplayResource(dg.ConfigurableResource):
    """Amplitude project of the replays, and how to drive its replay player (with a logged-in storage state)."""

    org_url: str = DEMO_ORG_URL
    project_id: str = DEMO_PROJECT_ID
    region: str = "us"
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
    concurrency: int = 3
    timeout_seconds: float = 90.0
    screenshots_per_replay: int = 4
    max_replays_per_day: int = 50
    # Of max_replays_per_day, kept back for clusters left without a screenshot (at most a quarter of the budget;
    # only used when the day has more replays than the budget; lib/replays/examples.py).
    cluster_example_reserve: int = 8

    def settings(self, storage_state: str | None) -> BrowserSettings:
        return BrowserSettings(
            chromium_path=self.chromium_path,
            concurrency=self.concurrency,
            timeout_seconds=self.timeout_seconds,
            screenshots_per_replay=self.screenshots_per_replay,
            storage_state=storage_state,
        )


class ReplayAnalysisResource(dg.ConfigurableResource):
    text_source: str = "auto"  # auto, vision, ocr, page_text, none
    clustering: str = "kmeans"  # kmeans or hdbscan
    max_clusters: int = 8
    tesseract: str | None = None  # path of the tesseract program; None: not installed


class LLMResource(dg.ConfigurableResource):
    """Any OpenAI-compatible chat server; without a key or base URL the stage writes offline summaries."""

    api_key: str | None = None
    base_url: str | None = None
    model: str = "gpt-4o-mini"
    vision_model: str | None = None
    daily_token_cap: int = 200_000
    max_retries: int = 4
    timeout_seconds: float = 60.0
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


def _number(name: str, default: float, kind: type = int, minimum: float = 1) -> float:
    value = os.getenv(name)
    if not value:
        return default
    try:
        number = kind(value)
    except ValueError as error:
        raise ValueError(f"{name}={value!r} is not a {'whole ' if kind is int else ''}number") from error
    if number < minimum:
        raise ValueError(f"{name}={value!r} must be at least {minimum:g}")
    return number


def _choice(name: str, default: str, choices: tuple[str, ...]) -> str:
    value = os.getenv(name) or default
    if value not in choices:
        raise ValueError(f"{name}={value!r} is not supported; choose one of {', '.join(choices)}")
    return value


def _secret(name: str) -> dg.EnvVar | None:
    return dg.EnvVar(name) if os.getenv(name) else None


def replay_resources_from_env() -> dict[str, dg.ConfigurableResource]:
    player_defaults = AmplitudeReplayResource()
    return {
        "replay_amplitude": AmplitudeReplayResource(
            org_url=os.getenv("AMPLITUDE_ORG_URL") or DEMO_ORG_URL,
            project_id=os.getenv("AMPLITUDE_PROJECT_ID") or DEMO_PROJECT_ID,
            region=_choice("AMPLITUDE_REGION", "us", ("us", "eu")),
            app_url=os.getenv("AMPLITUDE_APP_URL") or None,
            storage_state=os.getenv("AMPLITUDE_REPLAY_STORAGE_STATE") or None,
            player_selector=os.getenv("AMPLITUDE_REPLAY_PLAYER_SELECTOR") or player_defaults.player_selector,
            scrubber_selector=os.getenv("AMPLITUDE_REPLAY_SCRUBBER_SELECTOR") or player_defaults.scrubber_selector,
        ),
        "replay_browser": ReplayBrowserResource(
            chromium_path=default_chromium_path(),
            concurrency=int(_number("REPLAY_CONCURRENCY", 3)),
            timeout_seconds=float(_number("REPLAY_TIMEOUT_SECONDS", 90.0, float, minimum=1)),
            screenshots_per_replay=int(_number("REPLAY_SCREENSHOTS_PER_REPLAY", 4)),
            max_replays_per_day=int(_number("REPLAY_MAX_PER_DAY", 50)),
            cluster_example_reserve=int(_number("REPLAY_CLUSTER_EXAMPLES", 8, minimum=0)),
        ),
        "replay_analysis": ReplayAnalysisResource(
            text_source=_choice("REPLAY_TEXT_SOURCE", "auto", TEXT_SOURCES),
            clustering=_choice("REPLAY_CLUSTERING", "kmeans", METHODS),
            max_clusters=int(_number("REPLAY_MAX_CLUSTERS", 8)),
            tesseract=tesseract_path(),
        ),
        "replay_llm": LLMResource(
            api_key=_secret("OPENAI_API_KEY"),
            base_url=os.getenv("OPENAI_BASE_URL") or None,
            model=os.getenv("OPENAI_MODEL") or "gpt-4o-mini",
            vision_model=os.getenv("OPENAI_VISION_MODEL") or None,
            daily_token_cap=int(_number("LLM_DAILY_TOKEN_CAP", 200_000)),
            max_retries=int(_number("LLM_MAX_RETRIES", 4, minimum=0)),
            timeout_seconds=float(_number("LLM_TIMEOUT_SECONDS", 60.0, float)),
            summary_language=os.getenv("LLM_SUMMARY_LANGUAGE") or "English",
        ),
        "replay_gdrive": GoogleDriveResource(
            folder_id=os.getenv("GDRIVE_FOLDER_ID") or None,
            credentials_path=os.getenv("GOOGLE_APPLICATION_CREDENTIALS") or None,
            api_url=os.getenv("GDRIVE_API_URL") or DRIVE_API_URL,
        ),
    }


@dg.definitions
def resources() -> dg.Definitions:
    return dg.Definitions(resources=replay_resources_from_env())
