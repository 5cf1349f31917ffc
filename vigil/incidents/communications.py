"""Incident communications (issue 17, part 4): the runbook's internal notification and
external status update, rendered from an incident and sent through receivers.

The templates (``incidents.communications.internal|external``: ``subject`` and ``body``)
are Go templates run by the engine of alert templates (:class:`NotifyTemplate`, with the
same functions) over :func:`template_data`:

    .Organization .ID .Ref .Title .Summary .Impact .Severity ("SEV-1") .SeverityLevel (1)
    .Status ("Investigating") .StartTime .DetectedAt .DeclaredAt (ISO 8601, UTC)
    .CurrentStatus .NextUpdate .Channel .Commander .CommunicationsLead .Components (list)
    .Service .Symptoms .URL

A send is ONE transaction (:meth:`IncidentResponseStore.send`): the record with the rendered
texts, a ``communication`` timeline event, for an external update also the ``public_update``
event the status page shows, the incident's next "Next update" time (now plus the
severity's ``update_interval``), and the outbox entries delivered by the receivers' own
integrations (so their SMTP settings, Slack URL and webhook URL, with the outbox's retries):

* ``email_configs``: an e-mail (plain text) from its ``from`` to its ``to`` list, the
  subject and body as rendered;
* ``slack_configs``: ``{"channel", "text"}`` posted to its ``api_url`` (the config's channel
  if it is plain text, else the incident's channel);
* ``webhook_configs``: the JSON of :func:`webhook_body` posted to its ``url``.

The internal notification goes out by itself at declaration for the severities of
``notify_on_declare`` (:meth:`CommunicationService.notify_declared`, called by the primary's
loop), claimed once per incident.
"""

from __future__ import annotations

import email.utils
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

from vigil.alerting.notify.templates import NotifyTemplate
from vigil.config.incident_response import CommunicationTemplate
from vigil.config.model import Config, Receiver
from vigil.gocompat.template import GoStruct
from vigil.state.escalation_store import QueuedNotification
from vigil.state.incident_response_store import Communication, IncidentResponseStore
from vigil.state.incident_store import Incident, IncidentError, IncidentStore

__all__ = ["KINDS", "CommunicationService", "Rendered", "template_data", "webhook_body"]

KINDS = ("internal", "external")
BODY_VERSION = "1"
_TEMPLATE_ERROR = "<error expanding template:"


def iso(dt: datetime | None) -> str:
    """ISO 8601 in UTC to the second (``2026-12-07T05:00:00Z``); "" for None."""
    if dt is None:
        return ""
    return dt.astimezone(timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")


class _IncidentData(GoStruct):
    type_name = "incident"


@dataclass(frozen=True)
class TemplateInput:
    """What a template runs on (see :func:`template_data`); duck-typed as the
    notification :class:`NotifyTemplate` renders."""

    incident: Incident
    organization: str
    next_update_at: datetime | None
    current_status: str
    symptoms: str
    url: str

    def template_data(self, escape: Callable[[str], str] = str) -> GoStruct:
        return template_data(self, escape)


def template_data(t: TemplateInput, escape: Callable[[str], str] = str) -> GoStruct:
    """The template fields (module docstring). ``.Service`` is the impacted components
    (comma-separated), else the title; ``.Symptoms`` the given text, else the incident's
    impact, else "service disruption"; ``.CurrentStatus`` the given text, else the summary,
    else the status; ``.NextUpdate`` a time, or "none scheduled"."""
    inc = t.incident
    status = inc.status.capitalize()
    return _IncidentData(
        Organization=escape(t.organization), ID=inc.id, Ref=inc.ref, Title=escape(inc.title),
        Summary=escape(inc.summary), Impact=escape(inc.impact), Severity=inc.severity_name,
        SeverityLevel=inc.severity, Status=status, StartTime=iso(inc.started_at),
        DetectedAt=iso(inc.detected_at), DeclaredAt=iso(inc.declared_at),
        CurrentStatus=escape(t.current_status or inc.summary or f"{status}."),
        NextUpdate=iso(t.next_update_at) or "none scheduled", Channel=escape(inc.channel),
        Commander=escape(inc.commander or ""), CommunicationsLead=escape(inc.roles.get("communications") or ""),
        Components=[escape(c) for c in inc.components],
        Service=escape(", ".join(inc.components) or inc.title),
        Symptoms=escape(t.symptoms or inc.impact or "service disruption"), URL=t.url)


def check_templates(config: Config) -> tuple[tuple[str, ...], str] | None:
    """(config path, message) of the first communication template that fails on a sample
    incident (a misspelt field such as ``.Tittle``, a function given the wrong type), so
    ``vigil check`` finds it before an incident does; None when both run."""
    at = datetime(2026, 1, 1, tzinfo=timezone.utc)
    sample = Incident(
        id="00000000-0000-0000-0000-000000000000", ref="INC-20260101-001", title="Sample", summary="",
        impact="", severity=1, status="investigating", commander="ann",
        roles={"communications": "bob", "scribe": None, "responders": []}, components=("api",),
        channel="#incident-20260101-001", alert_matchers=(), source="manual", origin_key=None,
        declared_by="ann", started_at=at, detected_at=at, declared_at=at, acknowledged_at=None,
        mitigated_at=None, resolved_at=None, next_update_at=None, updated_at=at)
    comms = config.incidents.communications
    data = TemplateInput(sample, comms.organization, at, "", "", "https://vigil.example/incidents/INC-20260101-001")
    for kind in KINDS:
        for field in ("subject", "body"):
            error = NotifyTemplate(getattr(comms.template(kind), field), f"{kind}.{field}").error_for(data)  # type: ignore[arg-type]
            if error is not None:
                return ("incidents", "communications", kind, field), error
    return None


@dataclass(frozen=True)
class Rendered:
    kind: str
    subject: str
    body: str
    receivers: tuple[str, ...]
    next_update_at: datetime | None  # what .NextUpdate said (stored on the incident when sent)


def webhook_body(inc: Incident, r: Rendered, *, at: datetime, sent_by: str | None, url: str) -> dict[str, Any]:
    """The JSON a ``webhook_configs`` receiver gets for a communication (docs/incidents.md)."""
    return {
        "version": BODY_VERSION, "kind": "vigil.incident.communication", "type": r.kind,
        "subject": r.subject, "body": r.body, "at": iso(at), "sent_by": sent_by,
        "next_update_at": iso(r.next_update_at) or None,
        "incident": {"id": inc.id, "ref": inc.ref, "title": inc.title, "severity": inc.severity,
                     "severity_name": inc.severity_name, "status": inc.status, "channel": inc.channel,
                     "commander": inc.commander, "components": list(inc.components),
                     "started_at": iso(inc.started_at), "declared_at": iso(inc.declared_at)},
        "url": url,
    }


def _one_line(text: str) -> str:
    return " ".join(text.split())


class CommunicationService:
    """Preview and send an incident's communications; every read goes to the database."""

    def __init__(self, incidents: IncidentStore, store: IncidentResponseStore, config: Callable[[], Config], *,
                 external_url: str = "", on_enqueue: Callable[[], None] | None = None) -> None:
        self.incidents = incidents
        self.store = store
        self.config = config
        self.external_url = external_url.rstrip("/")
        self.on_enqueue = on_enqueue
        # Parsed templates, again after a reload (the config object changes).
        self._parsed: tuple[Config, dict[str, tuple[NotifyTemplate, NotifyTemplate]]] | None = None

    def url(self, inc: Incident) -> str:
        return f"{self.external_url}/incidents/{inc.ref}"

    def _templates(self, kind: str) -> tuple[CommunicationTemplate, NotifyTemplate, NotifyTemplate]:
        config = self.config()
        if self._parsed is None or self._parsed[0] is not config:
            comms = config.incidents.communications
            self._parsed = (config, {k: (NotifyTemplate(comms.template(k).subject, f"{k}.subject"),
                                         NotifyTemplate(comms.template(k).body, f"{k}.body")) for k in KINDS})
        subject, body = self._parsed[1][kind]
        return config.incidents.communications.template(kind), subject, body

    def next_update(self, inc: Incident, now: datetime) -> datetime | None:
        """When the next update is due if one is sent ``now``: the severity's
        ``update_interval`` later (None: the severity has none, or the incident is resolved)."""
        interval = self.config().incidents.severity(inc.severity).update_interval
        if interval is None or not inc.is_open:
            return None
        # To the second, as the text says it: the column and the text agree.
        return (now + timedelta(seconds=interval)).replace(microsecond=0)

    def render(self, inc: Incident, kind: str, *, now: datetime, current_status: str = "",
               symptoms: str = "") -> Rendered:
        if kind not in KINDS:
            raise IncidentError(f"kind must be internal or external, not {kind!r}", "invalid")
        settings, subject, body = self._templates(kind)
        next_at = self.next_update(inc, now)
        data = TemplateInput(inc, self.config().incidents.communications.organization, next_at,
                             current_status.strip(), symptoms.strip(), self.url(inc))
        return Rendered(kind, _one_line(subject.render(data)), body.render(data),  # type: ignore[arg-type]
                        tuple(settings.receivers.get(inc.severity_name, ())), next_at)

    def preview(self, id_or_ref: str, kind: str, *, current_status: str = "", symptoms: str = "") -> Rendered:
        """What :meth:`send` would send now, without sending."""
        inc = self.incidents.get(id_or_ref)
        return self.render(inc, kind, now=self.store.now(), current_status=current_status, symptoms=symptoms)

    def send(self, id_or_ref: str, kind: str, *, actor: str | None, via: str, current_status: str = "",
             symptoms: str = "", subject: str | None = None, body: str | None = None,
             claim_key: str | None = None, strict: bool = True) -> Communication | None:
        """Render and send (``subject``/``body`` given: sent as they are, e.g. an edited
        preview). IncidentError "invalid" when the text is empty or, if ``strict``, a
        template fails on this incident (Vigil's own sends are not strict: like alert
        notifications, they go out with the error in the text). None only with
        ``claim_key``, when it was sent before."""
        inc = self.incidents.get(id_or_ref)
        now = self.store.now()
        r = self.render(inc, kind, now=now, current_status=current_status, symptoms=symptoms)
        r = Rendered(kind, _one_line(subject) if subject is not None else r.subject,
                     body if body is not None else r.body, r.receivers, r.next_update_at)
        for name, text in (("subject", r.subject), ("body", r.body)):
            if strict and _TEMPLATE_ERROR in text:
                raise IncidentError(f"the {kind} {name} template fails on {inc.ref}: {text.strip()}", "invalid")
            if not text.strip():
                raise IncidentError(f"the {kind} {name} is empty", "invalid")
        queued = self._notifications(inc, r, now=now, sent_by=actor)
        sent = self.store.send(inc.id, kind=kind, subject=r.subject, body=r.body, receivers=r.receivers,
                               notifications=queued, actor=actor, via=via, next_update_at=r.next_update_at,
                               claim_key=claim_key)
        if sent is not None and queued and self.on_enqueue is not None:
            self.on_enqueue()
        return sent

    def notify_declared(self, inc: Incident) -> Communication | None:
        """The internal notification at declaration, when the incident's severity is in
        ``notify_on_declare`` and has receivers; once per incident (claimed in the
        database). None when not due or sent before."""
        internal = self.config().incidents.communications.internal
        if (not inc.is_open or inc.severity_name not in internal.notify_on_declare
                or not internal.receivers.get(inc.severity_name)):
            return None
        key = f"declared:{inc.id}"
        if self.store.has_claim(key):
            return None
        return self.send(inc.id, "internal", actor=None, via="vigil", claim_key=key, strict=False)

    def sent(self, id_or_ref: str) -> list[Communication]:
        return self.store.communications(self.incidents.get(id_or_ref).id)

    # --- what goes to the outbox ---
    def _notifications(self, inc: Incident, r: Rendered, *, now: datetime,
                       sent_by: str | None) -> list[QueuedNotification]:
        receivers = {rc.name: rc for rc in self.config().alerting.receivers}
        out: list[QueuedNotification] = []
        for name in r.receivers:
            receiver = receivers.get(name)
            if receiver is None:  # the config check prevents it; a reload may race
                raise IncidentError(f"receiver {name!r} is not in alerting.receivers", "invalid")
            out += self._for_receiver(receiver, inc, r, now=now, sent_by=sent_by)
        return out

    def _for_receiver(self, receiver: Receiver, inc: Incident, r: Rendered, *, now: datetime,
                      sent_by: str | None) -> list[QueuedNotification]:
        out = []
        for i in range(len(receiver.webhook_configs)):
            out.append(QueuedNotification(receiver.name, f"webhook/{i}",
                                          webhook_body(inc, r, at=now, sent_by=sent_by, url=self.url(inc))))
        for i, slack in enumerate(receiver.slack_configs):
            channel = slack.channel if slack.channel and "{{" not in slack.channel else inc.channel
            out.append(QueuedNotification(receiver.name, f"slack/{i}",
                                          {"channel": channel, "text": f"*{r.subject}*\n{r.body}"}))
        for i, mail in enumerate(receiver.email_configs):
            domain = mail.from_.rpartition("@")[2].strip(" >") or "vigil"
            out.append(QueuedNotification(receiver.name, f"email/{i}", {
                "from": mail.from_, "to": [a.strip() for a in mail.to.split(",") if a.strip()],
                "subject": r.subject, "headers": {}, "date": email.utils.format_datetime(now),
                "message_id": email.utils.make_msgid(domain=domain), "text": r.body, "html": ""}))
        return out
