"""Alert messages and the webhooks that carry them: Slack-compatible incoming webhooks, the Telegram Bot API, and a
generic JSON webhook.

A message is short: what happened, which partition, the error's first line and a link to the run. Every text field
passes through :func:`redact` before it is formatted, so a secret that slipped into an error message (a DSN, a token
in a URL) never leaves the platform. Delivery errors never name the webhook's URL, which is itself a secret.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Protocol

import httpx

MAX_DETAIL_CHARS = 300
MAX_ITEMS = 10
REDACTED = "[redacted]"
# Secrets shorter than this are not searched for: redacting "1" or "ab" would mangle every message.
MIN_SECRET_CHARS = 6


class AlertKind(enum.StrEnum):
    RUN_FAILED = "run_failed"
    CHECK_FAILED = "check_failed"
    LATE = "late"
    RECOVERED = "recovered"


_HEADLINES = {
    AlertKind.RUN_FAILED: "FAILED",
    AlertKind.CHECK_FAILED: "CHECK FAILED",
    AlertKind.LATE: "LATE",
    AlertKind.RECOVERED: "RECOVERED",
}


@dataclass(frozen=True)
class Alert:
    kind: AlertKind
    subject: str  # what failed: "run daily_pipeline (amplitude_raw_events)", "checks of run 1a2b3c4d"
    partition: str | None = None  # "2026-01-05" or a range "2026-01-01..2026-01-07"
    detail: str | None = None  # the error's first line, or why a check failed
    items: tuple[str, ...] = ()  # the failed checks or late assets
    run_url: str | None = None

    def text(self) -> str:
        """The message as one short plain text (Slack and Telegram show it as is)."""
        head = f"[analytics_dagster] {_HEADLINES[self.kind]}: {self.subject}"
        if self.partition:
            head += f", partition {self.partition}"
        lines = [head]
        if self.detail:
            lines.append(f"Error: {self.detail}" if self.kind is AlertKind.RUN_FAILED else self.detail)
        shown = self.items[:MAX_ITEMS]
        lines.extend(f"- {item}" for item in shown)
        if len(self.items) > len(shown):
            lines.append(f"- …and {len(self.items) - len(shown)} more")
        if self.run_url:
            lines.append(f"Run: {self.run_url}")
        return "\n".join(lines)

    def as_json(self) -> dict[str, Any]:
        """The generic webhook's body: the fields, and the same text the chat channels get."""
        return {
            "source": "analytics_dagster",
            "kind": self.kind.value,
            "subject": self.subject,
            "partition": self.partition,
            "detail": self.detail,
            "items": list(self.items),
            "run_url": self.run_url,
            "text": self.text(),
        }

    def redacted(self, secrets: Iterable[str]) -> Alert:
        values = _secrets_to_hide(secrets)
        return replace(
            self,
            subject=redact(self.subject, values),
            partition=redact(self.partition, values) if self.partition else None,
            detail=redact(self.detail, values) if self.detail else None,
            items=tuple(redact(item, values) for item in self.items),
            run_url=redact(self.run_url, values) if self.run_url else None,
        )


def first_line(text: str | None) -> str | None:
    """The first non-empty line of an error message, cut to a length a chat message can show."""
    for line in (text or "").splitlines():
        if line.strip():
            line = line.strip()
            return line if len(line) <= MAX_DETAIL_CHARS else line[: MAX_DETAIL_CHARS - 1] + "…"
    return None


def run_url(ui_base_url: str | None, run_id: str) -> str | None:
    """The run's page in the Dagster UI, when the UI's address is known."""
    return f"{ui_base_url.rstrip('/')}/runs/{run_id}" if ui_base_url else None


def _secrets_to_hide(secrets: Iterable[str]) -> list[str]:
    # Longest first, so a secret that contains another is hidden whole.
    return sorted({s for s in secrets if s and len(s) >= MIN_SECRET_CHARS}, key=len, reverse=True)


def redact(text: str, secrets: Iterable[str]) -> str:
    """``text`` with every secret value replaced; also the password of any ``scheme://user:password@`` URL."""
    for secret in _secrets_to_hide(secrets):
        text = text.replace(secret, REDACTED)
    return re.sub(r"(\w+://[^/\s:@]+):[^@\s/]+@", rf"\1:{REDACTED}@", text)


class DeliveryError(RuntimeError):
    """An alert could not be posted. The message names the channel, never its URL or token."""


class AlertChannel(Protocol):
    name: str

    def send(self, alert: Alert) -> None: ...


def _post(client: httpx.Client, url: str, payload: dict[str, Any], channel: str) -> None:
    try:
        response = client.post(url, json=payload)
    except httpx.HTTPError as error:
        raise DeliveryError(f"{channel}: could not post the alert ({type(error).__name__})") from None
    if response.status_code >= 300:
        raise DeliveryError(f"{channel}: the webhook answered HTTP {response.status_code}")


@dataclass
class SlackWebhook:
    """A Slack incoming webhook, or anything accepting its ``{"text": ...}`` body (Mattermost, Rocket.Chat)."""

    url: str
    client: httpx.Client = field(repr=False)
    name: str = "slack"

    def send(self, alert: Alert) -> None:
        _post(self.client, self.url, {"text": alert.text()}, self.name)


@dataclass
class TelegramBot:
    """The Telegram Bot API's ``sendMessage`` to one chat. The token is part of the URL, so it is never shown."""

    token: str = field(repr=False)
    chat_id: str
    client: httpx.Client = field(repr=False)
    api_url: str = "https://api.telegram.org"
    name: str = "telegram"

    def send(self, alert: Alert) -> None:
        payload = {"chat_id": self.chat_id, "text": alert.text(), "disable_web_page_preview": True}
        _post(self.client, f"{self.api_url.rstrip('/')}/bot{self.token}/sendMessage", payload, self.name)


@dataclass
class JsonWebhook:
    """Any HTTP endpoint taking the alert as JSON (:meth:`Alert.as_json`)."""

    url: str
    client: httpx.Client = field(repr=False)
    name: str = "webhook"

    def send(self, alert: Alert) -> None:
        _post(self.client, self.url, alert.as_json(), self.name)


def deliver(alert: Alert, channels: Sequence[AlertChannel], secrets: Iterable[str]) -> Alert:
    """Posts the redacted alert to every channel, and returns it (what was sent, for the log).

    Every channel is tried; when some fail, one :class:`DeliveryError` names them after the others were served.
    """
    safe = alert.redacted(secrets)
    problems = []
    for channel in channels:
        try:
            channel.send(safe)
        except DeliveryError as error:
            problems.append(str(error))
    if problems:
        raise DeliveryError("; ".join(problems))
    return safe
