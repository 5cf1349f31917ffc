"""PagerDuty Events API v2 (Alertmanager's ``pagerduty_configs``).

One aggregation group is one PagerDuty alert: ``dedup_key`` is the SHA-256 (hex) of the
group key, as Alertmanager does, so every flush of a group updates the same PagerDuty
alert and the resolution closes it. A group with firing alerts sends ``trigger``; a group
whose alerts all resolved sends ``resolve`` (only the routing key, action and dedup key,
which is all the API needs).

The routing key is a secret: it is not stored in the outbox payload but added by
:meth:`PagerDuty.send`, from the config or from ``routing_key_file`` read at every send.

Limits enforced at build time (PagerDuty rejects larger events): ``payload.summary`` <=
1,024 characters; ``custom_details.alerts`` lists at most 50 alerts and the event stays
under 512 KB. PagerDuty answers 202; 400 (invalid event) is not retried, 429 (honouring
``Retry-After``) and 5xx are.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx

from vigil.alerting.notify.integration import (
    notification_headers,
    raise_for_status,
    read_secret_file,
    register_integration,
)
from vigil.alerting.notify.templates import (
    Notification,
    NotifyTemplate,
    RenderedIntegration,
    default_title,
    maybe_template,
)
from vigil.config.model import PagerdutyConfig
from vigil.errors import NotifyError
from vigil.gocompat.times import format_rfc3339_nano

__all__ = ["MAX_DETAIL_ALERTS", "MAX_SUMMARY", "PagerDuty", "dedup_key", "pagerduty_severity"]

MAX_SUMMARY = 1024
MAX_DETAIL_ALERTS = 50
_MAX_EVENT_BYTES = 500_000  # PagerDuty's limit is 512 KB; leave room for the routing key
_MAX_LINKS = 10

_SEVERITY_WORDS = {
    "critical": "critical", "page": "critical", "fatal": "critical", "emergency": "critical",
    "alert": "critical", "disaster": "critical",
    "error": "error", "err": "error", "high": "error", "major": "error",
    "warning": "warning", "warn": "warning", "medium": "warning", "minor": "warning",
    "info": "info", "informational": "info", "low": "info", "none": "info", "notice": "info",
}
_ORDER = ("critical", "error", "warning", "info")


def dedup_key(group_key: str) -> str:
    """The PagerDuty ``dedup_key`` of an aggregation group: sha256 hex of its group key."""
    return hashlib.sha256(group_key.encode()).hexdigest()


def pagerduty_severity(value: str) -> str | None:
    """A severity word mapped onto PagerDuty's critical/error/warning/info, or None."""
    return _SEVERITY_WORDS.get(value.strip().lower())


@dataclass
class PagerDuty(RenderedIntegration):
    """One entry of a receiver's ``pagerduty_configs``. Safe to share between threads."""

    name: str
    config: PagerdutyConfig
    # (file name, text) of template files the texts may call ({{template "x" .}}).
    library: Sequence[tuple[str, str]] = ()
    _fields: dict[str, NotifyTemplate] = field(init=False)
    _details: dict[str, NotifyTemplate] = field(init=False)
    _summary: NotifyTemplate | None = field(init=False)

    def __post_init__(self) -> None:
        c = self.config
        self._summary = maybe_template(c.description, f"{self.name}.description", library=self.library)
        self._fields = {k: NotifyTemplate(v, f"{self.name}.{k}", library=self.library) for k, v in
                        (("severity", c.severity), ("class", c.class_),
                         ("component", c.component), ("group", c.group),
                         ("source", c.source), ("client", c.client),
                         ("client_url", c.client_url)) if v is not None}
        self._details = {k: NotifyTemplate(v, f"{self.name}.details.{k}", library=self.library)
                         for k, v in c.details.items()}

    def render(self, n: Notification) -> dict[str, Any]:
        key = dedup_key(n.group_key)
        if n.status == "resolved":
            return {"event_action": "resolve", "dedup_key": key}
        rendered = {k: t.render(n).strip() for k, t in self._fields.items()}
        summary = self._summary.render(n) if self._summary is not None else default_title(n)
        client = rendered.get("client") or "Vigil"
        payload: dict[str, Any] = {
            "summary": _cut(summary.strip() or default_title(n), MAX_SUMMARY),
            "source": rendered.get("source") or n.common_labels.get("instance") or client,
            "severity": self._severity(n, rendered.get("severity", "")),
            "timestamp": format_rfc3339_nano(min(a.starts_at for a in n.firing)),
        }
        for k in ("component", "group", "class"):
            if rendered.get(k):
                payload[k] = rendered[k]
        payload["custom_details"] = self._custom_details(n)
        event: dict[str, Any] = {"event_action": "trigger", "dedup_key": key, "payload": payload,
                                 "client": client}
        if rendered.get("client_url"):
            event["client_url"] = rendered["client_url"]
        links = _links(n)
        if links:
            event["links"] = links
        return event

    def _severity(self, n: Notification, configured: str) -> str:
        if configured:
            # A template may yield any word ("page"); unknown words are PagerDuty's "error".
            return pagerduty_severity(configured) or "error"
        mapped = [pagerduty_severity(a.labels.get("severity", "")) for a in n.firing]
        known = [m for m in mapped if m is not None]
        return min(known, key=_ORDER.index) if known else "error"

    def _custom_details(self, n: Notification) -> dict[str, Any]:
        alerts = [{"status": a.status, "labels": a.labels, "annotations": a.annotations,
                   "startsAt": format_rfc3339_nano(a.starts_at), "endsAt": format_rfc3339_nano(a.ends_at),
                   "generatorURL": a.generator_url} for a in n.firing + n.resolved]
        details: dict[str, Any] = {k: t.render(n) for k, t in self._details.items()}
        details.update(num_firing=len(n.firing), num_resolved=len(n.resolved),
                       alerts=alerts[:MAX_DETAIL_ALERTS])
        # Large annotations can still push the event over the limit: drop alerts until not.
        while details["alerts"] and len(json.dumps(details)) > _MAX_EVENT_BYTES:
            details["alerts"] = details["alerts"][: len(details["alerts"]) // 2]
        details["truncated_alerts"] = len(alerts) - len(details["alerts"])
        return details

    async def send(self, client: httpx.AsyncClient, payload: dict[str, Any], *,
                   notification_id: str = "") -> None:
        key = self.config.routing_key
        if key is None:
            assert self.config.routing_key_file is not None  # the config demands one of the two
            key = read_secret_file(f"{self.name} routing_key_file", self.config.routing_key_file)
        url = self.config.url
        try:
            resp = await client.post(url, json={"routing_key": key, **payload},
                                     timeout=self.config.timeout, headers=notification_headers(notification_id))
        except httpx.HTTPError as exc:
            raise NotifyError(f"POST {url}: {type(exc).__name__}: {exc}", recoverable=True) from None
        raise_for_status(resp)


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _links(n: Notification) -> list[dict[str, str]]:
    """Runbooks first, then alert sources, then the alert list; no duplicates."""
    seen: set[str] = set()
    links: list[dict[str, str]] = []

    def add(href: str, text: str) -> None:
        if href and href not in seen and len(links) < _MAX_LINKS:
            seen.add(href)
            links.append({"href": href, "text": text})

    for a in n.firing:
        add(a.annotations.get("runbook_url", ""), f"Runbook: {a.labels.get('alertname', '')}")
    for a in n.firing:
        add(a.generator_url, f"Source: {a.labels.get('alertname', '')}")
    if n.external_url:
        add(n.alerts_url, "Alerts in Vigil")
    return links


register_integration("pagerduty", "pagerduty_configs", PagerDuty)
