"""What the response loop pages about (an overdue task, a "Next update" that is due) and to
whom, as outbox entries of the ``@oncall`` integrations (:mod:`vigil.oncall.escalation_send`):
users' webhook and Slack webhook contacts get a JSON body or a Slack text, e-mail contacts a
message through the SMTP settings of the first receiver with ``email_configs``.

Who: ``commander`` (the incident's), ``schedule:NAME`` (who is on call now), ``user:NAME``,
``team:NAME`` (every member), reached through users' contact methods and notification
rules (:func:`vigil.oncall.reach.reach`; SEV-1 and SEV-2 are high urgency). What is recorded
of each page (:func:`pages_for`) says who and how, never an address.
"""

from __future__ import annotations

from datetime import datetime, timezone
from functools import partial
from typing import Any

from vigil.config.model import Config
from vigil.incidents.paging import page_email, page_urgency, queue_page
from vigil.oncall.reach import Directory, Target, reach
from vigil.state.escalation_store import QueuedNotification
from vigil.state.incident_store import Incident

__all__ = ["page_body", "pages_for", "target_for"]

BODY_VERSION = "1"


def _iso(dt: datetime | None) -> str | None:
    return None if dt is None else dt.astimezone(timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")


def target_for(to: str, inc: Incident) -> tuple[Target | None, str]:
    """The target ``to`` names for ``inc`` (``commander``, ``communications`` — the
    communications role, else the commander —, ``schedule:X``, ``user:X``, ``team:X``), or
    None and why nobody."""
    if to in ("commander", "communications"):
        who = inc.roles.get("communications") if to == "communications" else None
        who = who or inc.commander
        if not who:
            return None, f"{inc.ref} has no {'communications lead or ' if to == 'communications' else ''}commander"
        return Target("users", (who,)), ""
    kind, _, name = to.partition(":")
    return Target({"schedule": "schedule", "user": "users", "team": "team"}[kind], (name,)), ""  # type: ignore[arg-type]


def page_body(inc: Incident, *, kind: str, at: datetime, user: str | None, via: str, url: str,
              extra: dict[str, Any]) -> dict[str, Any]:
    """The JSON a webhook contact receives: ``kind`` is ``vigil.incident.task_overdue``
    (``extra``: ``task`` with key, title, phase, due_at) or ``vigil.incident.update_reminder``
    (``extra``: ``next_update_at``)."""
    return {
        "version": BODY_VERSION, "kind": kind, "at": _iso(at), "user": user, "via": via,
        "incident": {"id": inc.id, "ref": inc.ref, "title": inc.title, "severity": inc.severity,
                     "severity_name": inc.severity_name, "status": inc.status, "channel": inc.channel,
                     "commander": inc.commander, "declared_at": _iso(inc.declared_at)},
        **extra, "url": url,
    }


def pages_for(inc: Incident, to: str, *, config: Config, directory: Directory, at: datetime, kind: str,
              subject: str, text: str, url: str, extra: dict[str, Any],
              ) -> tuple[list[QueuedNotification], list[dict[str, Any]]]:
    """The outbox entries paging ``to`` about ``inc`` and what to record of each contact
    (``{"user", "kind", "via", "delay_s"}``, plus ``problem`` when it cannot be sent; one
    ``{"problem"}`` when nobody is to be paged)."""
    target, problem = target_for(to, inc)
    if target is None:
        return [], [{"to": to, "problem": problem}]
    urgency = page_urgency(inc.severity)
    queued: list[QueuedNotification] = []
    described: list[dict[str, Any]] = []
    for page in reach(target, at, urgency, directory):
        note: dict[str, Any] = {"to": to, "user": page.user, "kind": page.kind, "label": page.label,
                                "via": page.via, "delay_s": page.delay_s}
        problem = page.problem if not page.sendable else ""
        if not problem:
            body = page_body(inc, kind=kind, at=at, user=page.user, via=page.via, url=url, extra=extra)
            problem = queue_page(page, body=body, slack_text=f"{text}\n{url}", out=queued,
                                 message=partial(page_email, config, page.address, subject=subject,
                                                 text=f"{text}\n{url}\n", html="", at=at))
        if problem:
            note["problem"] = problem
        described.append(note)
    return queued, described
