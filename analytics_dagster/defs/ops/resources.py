"""Where alerts and figures go, configured by environment variables (see .env.example and docs/observability.md).

Webhook URLs and the Telegram token are secrets: they reach the resources as ``dg.EnvVar`` so the UI shows their
names only, and every alert is redacted against them (and the project's other secrets) before it is posted.
"""

import logging
import os

import dagster as dg
import httpx

from analytics_dagster.lib.ops.alerts import Alert, AlertChannel, JsonWebhook, SlackWebhook, TelegramBot, deliver
from analytics_dagster.lib.ops.prometheus import Pushgateway

# Every secret the platform is configured with; their values never appear in an alert.
SECRET_ENV_NAMES = (
    "ALERT_SLACK_WEBHOOK_URL", "ALERT_TELEGRAM_BOT_TOKEN", "ALERT_WEBHOOK_URL", "AMPLITUDE_API_KEY",
    "AMPLITUDE_SECRET_KEY", "APPMETRICA_TOKEN", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN",
    "OPENAI_API_KEY", "POSTGRES_DSN", "PROMETHEUS_PUSHGATEWAY_URL",
)


class AlertChannelsResource(dg.ConfigurableResource):
    """Alert webhooks; every configured one gets every alert, and with none the alerts are only logged."""

    slack_webhook_url: str | None = None
    telegram_bot_token: str | None = None
    telegram_chat_id: str | None = None
    telegram_api_url: str = "https://api.telegram.org"
    webhook_url: str | None = None
    ui_base_url: str | None = None
    timeout_seconds: float = 30.0

    def _channels(self, client: httpx.Client) -> list[AlertChannel]:
        channels: list[AlertChannel] = []
        if self.slack_webhook_url:
            channels.append(SlackWebhook(self.slack_webhook_url, client))
        if self.telegram_bot_token and self.telegram_chat_id:
            channels.append(TelegramBot(self.telegram_bot_token, self.telegram_chat_id, client, self.telegram_api_url))
        if self.webhook_url:
            channels.append(JsonWebhook(self.webhook_url, client))
        return channels

    def secrets(self) -> list[str]:
        own = [self.slack_webhook_url, self.telegram_bot_token, self.webhook_url]
        return [s for s in (*own, *(os.getenv(name) for name in SECRET_ENV_NAMES)) if s]

    def send(self, alert: Alert, log: logging.Logger | dg.DagsterLogManager) -> Alert:
        """Posts the alert (redacted) to every configured channel and logs it; returns what was sent."""
        with httpx.Client(timeout=self.timeout_seconds, transport=httpx.HTTPTransport(retries=2)) as client:
            channels = self._channels(client)
            sent = deliver(alert, channels, self.secrets())
        where = ", ".join(c.name for c in channels) or "no channel configured, logged only"
        log.info(f"Alert ({where}):\n{sent.text()}")
        return sent


class PushgatewayResource(dg.ConfigurableResource):
    """The Prometheus Pushgateway the platform's figures are pushed to; unset = not pushed."""

    url: str | None = None
    timeout_seconds: float = 10.0

    def gateway(self) -> Pushgateway | None:
        return Pushgateway(self.url, timeout_seconds=self.timeout_seconds) if self.url else None


def _secret(name: str) -> dg.EnvVar | None:
    return dg.EnvVar(name) if os.getenv(name) else None


def alert_channels_from_env() -> AlertChannelsResource:
    return AlertChannelsResource(
        slack_webhook_url=_secret("ALERT_SLACK_WEBHOOK_URL"),
        telegram_bot_token=_secret("ALERT_TELEGRAM_BOT_TOKEN"),
        telegram_chat_id=os.getenv("ALERT_TELEGRAM_CHAT_ID") or None,
        telegram_api_url=os.getenv("ALERT_TELEGRAM_API_URL") or "https://api.telegram.org",
        webhook_url=_secret("ALERT_WEBHOOK_URL"),
        ui_base_url=os.getenv("DAGSTER_UI_BASE_URL") or None,
    )


@dg.definitions
def resources() -> dg.Definitions:
    return dg.Definitions(
        resources={
            "alert_channels": alert_channels_from_env(),
            "pushgateway": PushgatewayResource(url=_secret("PROMETHEUS_PUSHGATEWAY_URL")),
        }
    )
