"""What an escalation step sends, and the outbox integrations that deliver it.

Every page is an outbox entry of the receiver :data:`PAGES_RECEIVER` (``@oncall``), so the
outbox workers deliver it with their claims, retries and notification ids. Two integrations:

* ``@oncall/http`` POSTs ``payload["body"]`` (JSON) to ``payload["url"]``: users' ``webhook``
  and ``slack_webhook`` contact methods and the policies' ``webhook`` steps;
* ``@oncall/email`` sends ``payload["message"]`` through the SMTP settings of the first
  receiver with ``email_configs`` (there is no SMTP setting of its own); without one,
  e-mail contacts cannot be reached and the step records it.

The JSON body of a page (users' webhooks and ``webhook`` steps) is :func:`page_body`,
documented in docs/oncall.md.
"""

from __future__ import annotations

import email.utils
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import httpx

from vigil.alerting.notify.email import Email
from vigil.alerting.notify.integration import Integration, notification_headers, raise_for_status
from vigil.config.model import Config
from vigil.errors import NotifyError
from vigil.state.lifecycle_store import Episode

__all__ = ["PAGES_RECEIVER", "PageEmail", "PageHttp", "page_body", "page_integrations", "slack_text"]

PAGES_RECEIVER = "@oncall"
BODY_VERSION = "1"


@dataclass
class PageHttp:
    """POSTs a stored JSON body to a stored URL (the URL is in the payload, as contact
    methods change at run time)."""

    name: str = "http"
    send_resolved: bool = False

    def build(self, **_: Any) -> dict[str, Any]:
        raise NotImplementedError("escalation pages are built by vigil.oncall.escalation")

    async def send(self, client: httpx.AsyncClient, payload: dict[str, Any], *,
                   notification_id: str = "") -> None:
        target = payload.get("target") or "an escalation webhook"
        try:
            resp = await client.post(payload["url"], json=payload["body"],
                                     timeout=float(payload.get("timeout", 10.0)),
                                     headers=notification_headers(notification_id))
        except httpx.HTTPError as exc:
            raise NotifyError(f"POST {target}: {type(exc).__name__}: {exc}", recoverable=True) from None
        raise_for_status(resp, target=target)


@dataclass
class PageEmail:
    """Sends a stored message through one receiver's SMTP settings."""

    smtp: Email
    name: str = "email"
    send_resolved: bool = False

    def build(self, **_: Any) -> dict[str, Any]:
        raise NotImplementedError("escalation pages are built by vigil.oncall.escalation")

    async def send(self, client: httpx.AsyncClient, payload: dict[str, Any], *,
                   notification_id: str = "") -> None:
        await self.smtp.send(client, payload["message"], notification_id=notification_id)


def smtp_source(config: Config) -> Email | None:
    """The e-mail integration whose SMTP settings pages use: the first ``email_configs``."""
    for receiver in config.alerting.receivers:
        if receiver.email_configs:
            return Email("email/0", receiver.email_configs[0])
    return None


def page_integrations(config: Config) -> dict[tuple[str, str], Integration]:
    """The outbox integrations of pages, for :meth:`OutboxWorker.set_integrations`."""
    out: dict[tuple[str, str], Integration] = {(PAGES_RECEIVER, "http"): PageHttp()}
    smtp = smtp_source(config)
    if smtp is not None:
        out[(PAGES_RECEIVER, "email")] = PageEmail(smtp)
    return out


def _iso(at: datetime | None) -> str | None:
    return None if at is None else at.isoformat().replace("+00:00", "Z")


def page_body(episode: Episode, *, policy: str, level: int, cycle: int, step: int, step_kind: str,
              at: datetime, user: str | None, via: str, links: dict[str, str | None],
              alerts_url: str) -> dict[str, Any]:
    """The JSON a webhook receives for a page (docs/oncall.md, "Page body")."""
    return {
        "version": BODY_VERSION,
        "kind": "vigil.escalation",
        "policy": policy, "level": level, "cycle": cycle, "step": step, "step_kind": step_kind,
        "at": _iso(at), "user": user, "via": via,
        "episode": {"id": episode.id, "group_key": episode.group_key, "receiver": episode.receiver,
                    "group_labels": dict(episode.group_labels), "priority": episode.priority,
                    "opened_at": _iso(episode.opened_at),
                    "ack_deadline_at": _iso(episode.ack_deadline_at), "runbooks": list(episode.runbooks)},
        "ack_url": links.get("ack_url"), "resolve_url": links.get("resolve_url"),
        "alerts_url": alerts_url,
    }


def slack_text(body: dict[str, Any]) -> str:
    ep = body["episode"]
    labels = ", ".join(f"{k}={v}" for k, v in sorted(ep["group_labels"].items()))
    text = (f":rotating_light: {ep['priority']} not acknowledged, escalation level {body['level']} "
            f"({body['policy']}): {labels or ep['group_key']}")
    if body.get("ack_url"):
        text += f"\n<{body['ack_url']}|Acknowledge> · <{body['resolve_url']}|Resolve>"
    return text


def email_message(smtp: Email, address: str, body: dict[str, Any]) -> dict[str, Any]:
    """The stored message for an e-mail contact (the SMTP integration's payload format)."""
    ep = body["episode"]
    labels = ", ".join(f"{k}={v}" for k, v in sorted(ep["group_labels"].items()))
    subject = f"[{ep['priority']}] escalation level {body['level']}: {labels or ep['group_key']}"
    lines = [f"Alert episode {ep['id']} ({ep['priority']}) is not acknowledged.",
             f"Policy {body['policy']}, level {body['level']}, paged via {body['via']}.",
             f"Group: {labels or ep['group_key']}", f"Alerts: {body['alerts_url']}"]
    if body.get("ack_url"):
        lines += [f"Acknowledge: {body['ack_url']}", f"Resolve: {body['resolve_url']}"]
    text = "\n".join(lines) + "\n"
    html = "".join(f"<p>{_escape(line)}</p>" for line in lines)
    sender = smtp.config.from_
    domain = sender.rpartition("@")[2].strip(" >") or "vigil"
    return {"from": sender, "to": [address], "subject": subject, "headers": {},
            "date": email.utils.format_datetime(datetime.fromisoformat(body["at"].replace("Z", "+00:00"))),
            "message_id": email.utils.make_msgid(domain=domain), "text": text, "html": html}


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
