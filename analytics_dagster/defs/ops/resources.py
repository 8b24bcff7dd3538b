"""Where alerts and figures go, built from :class:`analytics_dagster.settings.OpsSettings` (docs/observability.md).

Webhook URLs and the Telegram token are secrets: they reach the resources as ``dg.EnvVar`` so the UI shows their
names only, and every alert is redacted against them (and the project's other secrets) before it is posted.
"""

import logging

import dagster as dg
import httpx
from pydantic import Field

from analytics_dagster.lib.ops.alerts import Alert, AlertChannel, JsonWebhook, SlackWebhook, TelegramBot, deliver
from analytics_dagster.lib.ops.prometheus import Pushgateway
from analytics_dagster.settings import OpsSettings, secret_values


class AlertChannelsResource(dg.ConfigurableResource):
    """Alert webhooks; every configured one gets every alert, and with none the alerts are only logged."""

    slack_webhook_url: str | None = None
    telegram_bot_token: str | None = None
    telegram_chat_id: str | None = None
    telegram_api_url: str = "https://api.telegram.org"
    webhook_url: str | None = None
    ui_base_url: str | None = None
    timeout_seconds: float = Field(default=30.0, gt=0)

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
        """Every secret the platform is configured with (read when an alert is sent); none appears in an alert."""
        own = [self.slack_webhook_url, self.telegram_bot_token, self.webhook_url]
        return [s for s in (*own, *secret_values()) if s]

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
    timeout_seconds: float = Field(default=10.0, gt=0)

    def gateway(self) -> Pushgateway | None:
        return Pushgateway(self.url, timeout_seconds=self.timeout_seconds) if self.url else None


def alert_channels_from_env() -> AlertChannelsResource:
    settings = OpsSettings.read()
    return AlertChannelsResource(
        slack_webhook_url=settings.env_var("alert_slack_webhook_url"),
        telegram_bot_token=settings.env_var("alert_telegram_bot_token"),
        telegram_chat_id=settings.alert_telegram_chat_id,
        telegram_api_url=settings.alert_telegram_api_url,
        webhook_url=settings.env_var("alert_webhook_url"),
        ui_base_url=settings.dagster_ui_base_url,
    )


@dg.definitions
def resources() -> dg.Definitions:
    return dg.Definitions(
        resources={
            "alert_channels": alert_channels_from_env(),
            "pushgateway": PushgatewayResource(url=OpsSettings.read().env_var("prometheus_pushgateway_url")),
        }
    )
