"""Who a declaration pages: the severity's ``response`` (schedules, users, teams) through the
on-call machinery (:func:`vigil.oncall.reach.reach`, users' contact methods and rules), as
outbox entries of the ``@oncall`` integrations, queued in the declaration's transaction (so
a page is sent once, by the outbox workers with their retries), and a ``page`` timeline
event per contact (who, how, never the address).
"""

from __future__ import annotations

import email.utils
from collections.abc import Callable
from datetime import datetime
from functools import partial
from typing import Any

from vigil.config.incidents import Severity
from vigil.config.model import Config
from vigil.incidents.times import utc_iso
from vigil.oncall.escalation_send import PAGES_RECEIVER, smtp_source
from vigil.oncall.reach import Directory, Page, Target, reach
from vigil.state.escalation_store import QueuedNotification
from vigil.state.incident_store import Incident, NewEvent

__all__ = ["incident_page_body", "page_email", "page_urgency", "queue_page", "response_pages"]

BODY_VERSION = "1"


def incident_page_body(inc: Incident, *, severity: Severity, at: datetime, user: str | None, via: str,
                       url: str) -> dict[str, Any]:
    """The JSON a webhook contact receives when an incident pages it."""
    return {
        "version": BODY_VERSION, "kind": "vigil.incident", "at": utc_iso(at), "user": user, "via": via,
        "incident": {"id": inc.id, "ref": inc.ref, "title": inc.title, "severity": inc.severity,
                     "severity_name": severity.name, "status": inc.status, "channel": inc.channel,
                     "commander": inc.commander, "declared_at": utc_iso(inc.declared_at),
                     "communication": severity.communication},
        "url": url,
    }


def _text(body: dict[str, Any]) -> str:
    inc = body["incident"]
    line = f"{inc['severity_name']} incident {inc['ref']} declared: {inc['title']}"
    if inc["channel"]:
        line += f" (channel {inc['channel']})"
    return line


def _email(config: Config, address: str, body: dict[str, Any]) -> dict[str, Any] | None:
    inc = body["incident"]
    lines = [_text(body), f"Severity: {inc['severity_name']} ({inc['communication']})",
             f"Commander: {inc['commander'] or 'not yet assigned'}", f"Incident: {body['url']}"]
    html = "".join("<p>" + line.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;") + "</p>"
                   for line in lines)
    return page_email(config, address, subject=f"[{inc['severity_name']}] [INCIDENT] {inc['title']}",
                      text="\n".join(lines) + "\n", html=html,
                      at=datetime.fromisoformat(body["at"].replace("Z", "+00:00")))


def page_urgency(severity: int) -> str:
    """SEV-1 and SEV-2 page with high urgency, SEV-3 and SEV-4 low (users' rules per urgency)."""
    return "high" if severity <= 2 else "low"


def page_email(config: Config, address: str, *, subject: str, text: str, html: str,
               at: datetime) -> dict[str, Any] | None:
    """The e-mail paging ``address``, sent with the SMTP settings of the first receiver with
    ``email_configs``; None when no receiver has them."""
    smtp = smtp_source(config)
    if smtp is None:
        return None
    sender = smtp.config.from_
    domain = sender.rpartition("@")[2].strip(" >") or "vigil"
    return {"from": sender, "to": [address], "subject": subject, "headers": {},
            "date": email.utils.format_datetime(at), "message_id": email.utils.make_msgid(domain=domain),
            "text": text, "html": html}


def queue_page(page: Page, *, body: dict[str, Any], slack_text: str,
               message: Callable[[], dict[str, Any] | None], out: list[QueuedNotification]) -> str:
    """Queue one contact's page to ``out``: the JSON ``body`` to a webhook, ``slack_text`` to a
    Slack webhook, the e-mail ``message()`` to an address. The reason it cannot be sent, or ""."""
    if page.kind == "webhook":
        out.append(QueuedNotification(PAGES_RECEIVER, "http", {
            "url": page.address, "body": body, "target": f"the webhook of {page.user}"}, page.delay_s))
    elif page.kind == "slack_webhook":
        out.append(QueuedNotification(PAGES_RECEIVER, "http", {
            "url": page.address, "body": {"text": slack_text}, "target": f"the Slack webhook of {page.user}"},
            page.delay_s))
    elif page.kind == "email":
        email_message = message()
        if email_message is None:
            return "no receiver has email_configs, whose SMTP settings e-mail pages use"
        out.append(QueuedNotification(PAGES_RECEIVER, "email", {"message": email_message}, page.delay_s))
    else:
        return f"{page.kind} contacts cannot be paged (use slack_webhook, webhook or email)"
    return ""


def _targets(severity: Severity) -> list[Target]:
    r = severity.response
    out = []
    if r.schedules:
        out.append(Target("schedule", tuple(r.schedules)))
    if r.users:
        out.append(Target("users", tuple(r.users)))
    if r.teams:
        out.append(Target("team", tuple(r.teams)))
    return out


def response_pages(inc: Incident, severity: Severity, config: Config, directory: Directory, *, at: datetime,
                   url: str, reason: str = "declared") -> tuple[list[QueuedNotification], list[NewEvent]]:
    """The outbox entries and ``page`` events for paging ``severity.response`` about ``inc``.
    SEV-1 and SEV-2 page with high urgency, SEV-3 and SEV-4 low (users' rules per urgency).
    A person reached through several targets is paged once per contact."""
    urgency = page_urgency(severity.severity)
    pages: list[Page] = []
    seen: set[tuple[str | None, str, str]] = set()
    for target in _targets(severity):
        for page in reach(target, at, urgency, directory):
            key = (page.user, page.kind, page.address or page.via)
            if key not in seen:
                seen.add(key)
                pages.append(page)
    queued: list[QueuedNotification] = []
    events: list[NewEvent] = []
    for page in pages:
        note: dict[str, Any] = {"user": page.user, "kind": page.kind, "label": page.label, "via": page.via,
                                "delay_s": page.delay_s, "severity": severity.severity, "reason": reason}
        problem = page.problem if not page.sendable else ""
        if not problem:
            body = incident_page_body(inc, severity=severity, at=at, user=page.user, via=page.via, url=url)
            problem = queue_page(page, body=body, slack_text=f":rotating_light: {_text(body)}\n{body['url']}",
                                 message=partial(_email, config, page.address, body), out=queued)
        if problem:
            note["problem"] = problem
        events.append(NewEvent("page", note))
    return queued, events
