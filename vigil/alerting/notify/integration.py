"""Integrations: one configured way of telling a receiver (a webhook URL, later Slack,
PagerDuty, e-mail). Each builds its payload from a flush and sends a stored payload."""

from __future__ import annotations

import email.utils
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

import httpx

from vigil.alerting.notify.payload import webhook_payload
from vigil.config.model import Receiver, WebhookConfig
from vigil.errors import NotifyError
from vigil.model.alert import Alert
from vigil.model.labels import Labels


class Integration(Protocol):
    name: str  # unique within the receiver: "webhook/0"
    send_resolved: bool

    def build(self, *, receiver: str, group_key: str, group_labels: Labels, alerts: list[Alert],
              now: datetime, external_url: str) -> dict[str, Any]: ...

    async def send(self, client: httpx.AsyncClient, payload: dict[str, Any]) -> None:
        """Deliver; raise :class:`NotifyError` saying whether a retry may help."""
        ...


@dataclass
class Webhook:
    name: str
    config: WebhookConfig

    @property
    def send_resolved(self) -> bool:
        return self.config.send_resolved

    def build(self, *, receiver: str, group_key: str, group_labels: Labels, alerts: list[Alert],
              now: datetime, external_url: str) -> dict[str, Any]:
        return webhook_payload(receiver=receiver, group_key=group_key, group_labels=group_labels,
                               alerts=alerts, now=now, external_url=external_url,
                               max_alerts=self.config.max_alerts)

    async def send(self, client: httpx.AsyncClient, payload: dict[str, Any]) -> None:
        try:
            resp = await client.post(self.config.url, json=payload, timeout=self.config.timeout,
                                     headers={"User-Agent": "Vigil"})
        except httpx.HTTPError as exc:
            raise NotifyError(f"POST {self.config.url}: {type(exc).__name__}: {exc}", recoverable=True) from None
        raise_for_status(resp)


def raise_for_status(resp: httpx.Response) -> None:
    """Alertmanager's rule: 5xx and 429 are worth retrying, other 4xx are not."""
    if resp.status_code < 300:
        return
    body = resp.text[:200]
    message = f"{resp.request.method} {resp.request.url}: HTTP {resp.status_code}: {body}"
    recoverable = resp.status_code >= 500 or resp.status_code == 429
    raise NotifyError(message, recoverable=recoverable, retry_after_s=_retry_after(resp))


def _retry_after(resp: httpx.Response) -> float | None:
    value = resp.headers.get("Retry-After")
    if not value:
        return None
    if value.strip().isdigit():
        return float(value)
    when = email.utils.parsedate_to_datetime(value)
    return max(0.0, when.timestamp() - time.time()) if when else None


def build_integrations(receiver: Receiver) -> list[Integration]:
    return [Webhook(f"webhook/{i}", cfg) for i, cfg in enumerate(receiver.webhook_configs)]
