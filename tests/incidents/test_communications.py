"""Incident communications: the runbook's internal notification and external status update
rendered from an incident (every field), a custom template, template and receiver errors in
the config named with file:line, and sending through a real SMTP server, a fake Slack that
answers as Slack does and a webhook receiver, by the receivers' own integrations and the
outbox; the notification at declaration sent once by two replicas."""

from __future__ import annotations

import asyncio
import re
from datetime import datetime, timedelta, timezone

import httpx
import pytest
from sqlalchemy import select

from tests.alerting.harness import FakeService
from tests.alerting.test_email import smtp  # noqa: F401 (the fixture)
from tests.alerting.test_slack import slack_problem
from tests.support.webhook import WebhookReceiver
from vigil.alerting.dispatch.dispatcher import Dispatcher
from vigil.alerting.notify.outbox import OutboxWorker
from vigil.app import check
from vigil.config.loader import load_config, load_config_text
from vigil.errors import ConfigError
from vigil.incidents.checklist import ChecklistService
from vigil.incidents.communications import CommunicationService
from vigil.incidents.response_loop import ResponseLoop
from vigil.incidents.service import IncidentService
from vigil.oncall.reach import ConfigDirectory
from vigil.selfmetrics import SelfMetrics
from vigil.state import Store, schema
from vigil.state.incident_response_store import IncidentResponseStore
from vigil.state.incident_schema import incident_events
from vigil.state.incident_store import IncidentError, IncidentStore

ISO = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")


def iso(dt: datetime) -> str:
    return dt.astimezone(timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")


def _world(store: Store, config):
    incidents = IncidentStore(store.engine)
    response = IncidentResponseStore(store.engine)
    comms = CommunicationService(incidents, response, lambda: config, external_url="http://vigil.test")
    return IncidentService(incidents, lambda: config), comms, response


def _declare(service: IncidentService):
    return service.declare(title="Milk API down", severity=1, actor="ann", via="api", commander="carl",
                           summary="The milk API answers 503 since the 05:00 deployment.",
                           impact="farmers cannot record milkings", components=["Milk API", "Milk meters"])


@pytest.fixture
def world(tmp_path):
    store = Store.open_in(str(tmp_path))
    config = load_config_text("")
    service, comms, response = _world(store, config)
    yield store, service, comms
    store.close()


def test_internal_notification_is_the_runbooks_template_filled_from_the_incident(world):
    _, service, comms = world
    inc = _declare(service)
    before = datetime.now(timezone.utc).replace(microsecond=0)
    r = comms.preview(inc.ref, "internal")
    after = datetime.now(timezone.utc)
    assert r.subject == "[INCIDENT] Smart Dairy - Milk API down"
    next_update = r.body.split("Next Update: ")[1].split("\n")[0]
    assert ISO.match(next_update)
    assert before + timedelta(minutes=30) <= datetime.fromisoformat(next_update) <= after + timedelta(minutes=30)
    assert r.body == (
        "Severity: SEV-1\n"
        "Status: Investigating\n"
        f"Start Time: {iso(inc.started_at)}\n"
        "Impact: farmers cannot record milkings\n"
        "\n"
        "Current Status:\n"
        "The milk API answers 503 since the 05:00 deployment.\n"
        "\n"
        f"Next Update: {next_update}\n"
        f"Incident Channel: #incident-{inc.declared_at:%Y%m%d}-001\n")
    assert r.receivers == () and r.next_update_at == datetime.fromisoformat(next_update)

    service.set_status(inc.id, "identified", actor="carl", via="api")
    service.set_severity(inc.id, 3, actor="carl", via="api")
    r = comms.preview(inc.id, "internal", current_status="Rolled back to 1.4.2; recovering.")
    assert "Severity: SEV-3\nStatus: Identified\n" in r.body
    assert "Current Status:\nRolled back to 1.4.2; recovering.\n" in r.body
    assert "Next Update: none scheduled\n" in r.body  # SEV-3 has no update interval


def test_external_update_is_the_runbooks_status_page_text(world):
    _, service, comms = world
    inc = _declare(service)
    r = comms.preview(inc.ref, "external")
    assert r.subject == "Smart Dairy status: Milk API down"
    assert r.body == ("We are currently investigating issues affecting Milk API, Milk meters.\n"
                      "Users may experience farmers cannot record milkings.\n"
                      "We will provide updates as more information becomes available.\n")
    bare = service.declare(title="Feed planner slow", severity=2, actor="ann", via="api")
    r = comms.preview(bare.id, "external", symptoms="slow pages")
    assert r.body.splitlines()[:2] == ["We are currently investigating issues affecting Feed planner slow.",
                                       "Users may experience slow pages."]
    with pytest.raises(IncidentError, match="kind must be internal or external"):
        comms.preview(bare.id, "public")


def test_custom_templates_use_the_alert_template_functions(tmp_path):
    store = Store.open_in(str(tmp_path))
    config = load_config_text("""
incidents:
  communications:
    organization: Herd Ops
    internal:
      subject: '{{ .Severity }} {{ .Ref }}: {{ .Title | toUpper }}'
      body: |
        {{ .Organization }} / {{ join ", " .Components }} / lead {{ .CommunicationsLead }} / {{ .Commander }}
        {{ .URL }} declared {{ .DeclaredAt }} detected {{ .DetectedAt }} level {{ .SeverityLevel }}
        {{ if match "^Milk" .Title }}milk{{ else }}other{{ end }} {{ .Summary }} {{ .ID }}
""")
    service, comms, _ = _world(store, config)
    inc = _declare(service)
    service.set_role(inc.id, "communications", "dora", actor="carl", via="api")
    r = comms.preview(inc.ref, "internal")
    assert r.subject == f"SEV-1 {inc.ref}: MILK API DOWN"
    assert r.body.splitlines() == [
        "Herd Ops / Milk API, Milk meters / lead dora / carl",
        f"http://vigil.test/incidents/{inc.ref} declared {iso(inc.declared_at)} detected {iso(inc.detected_at)} level 1",
        f"milk The milk API answers 503 since the 05:00 deployment. {inc.id}"]
    store.close()


def test_template_and_receiver_errors_name_the_file_and_line(tmp_path):
    path = tmp_path / "vigil.yml"
    path.write_text("""\
alerting:
  route: {receiver: ops}
  receivers:
    - name: ops
      webhook_configs: [{url: "http://hooks.example/ops"}]
incidents:
  communications:
    internal:
      body: |
        Severity: {{ .Severity }}
        {{ .Title | shout }}
""")
    with pytest.raises(ConfigError) as err:
        load_config(str(path))
    assert str(err.value) == (f'{path}:9:7: incidents.communications.internal.body: '
                              'template: body:2: function "shout" not defined')
    path.write_text(path.read_text().replace("{{ .Title | shout }}", "{{ .Title }}") + """\
      receivers:
        SEV-1: [ops, execs]
""")
    with pytest.raises(ConfigError) as err:
        load_config(str(path))
    assert str(err.value) == (f"{path}:13:22: incidents.communications.internal.receivers.SEV-1[1]: "
                              "unknown receiver 'execs' (not in alerting.receivers)")
    path.write_text(path.read_text().replace("SEV-1: [ops, execs]", "SEV-1: [ops]")
                    + "  page_overdue: {to: 'user:nobody'}\nusers: [{name: ann}]\n")
    with pytest.raises(ConfigError, match=r"vigil.yml:14:\d+: incidents.page_overdue.to: page_overdue: unknown user 'nobody'"):
        load_config(str(path))


SENDING = """
alerting:
  route: {{receiver: execs}}
  receivers:
    - name: execs
      email_configs:
        - {{to: "vp@example.com, it-director@example.com", from: vigil@example.com,
            smarthost: "127.0.0.1:{smtp_port}", require_tls: false}}
    - name: incident-slack
      slack_configs: [{{api_url: "{slack_url}/services/T0/B0/SECRET", channel: "#ops-incidents"}}]
    - name: hooks
      webhook_configs: [{{url: "{hook_url}"}}]
incidents:
  communications:
    internal:
      receivers: {{SEV-1: [execs, incident-slack, hooks]}}
    external:
      receivers: {{SEV-1: [incident-slack]}}
"""


def _deliver(store: Store, config) -> None:
    dispatcher = Dispatcher(config.alerting, store, external_url="http://vigil.test")
    worker = OutboxWorker(store, dispatcher.integrations(), SelfMetrics())

    async def run() -> None:
        async with httpx.AsyncClient() as client:
            await worker.deliver_due(client)

    asyncio.run(run())


def test_sending_through_smtp_slack_and_a_webhook(tmp_path, smtp):  # noqa: F811
    with FakeService(slack_problem, (200, "ok", "text/plain")) as slack, WebhookReceiver() as hook:
        config = load_config_text(SENDING.format(smtp_port=smtp.port, slack_url=slack.base, hook_url=hook.url))
        store = Store.open_in(str(tmp_path))
        service, comms, response = _world(store, config)
        inc = _declare(service)
        preview = comms.preview(inc.ref, "internal", current_status="Rolling back.")
        sent = comms.send(inc.ref, "internal", actor="ann", via="api", current_status="Rolling back.")
        assert sent is not None and sent.receivers == ("execs", "incident-slack", "hooks")
        assert (sent.subject, sent.body, sent.sent_by) == (preview.subject, preview.body, "ann")
        assert len(sent.outbox_ids) == 3
        _deliver(store, config)

        [(mail_from, rcpt, msg)] = smtp.messages
        assert (mail_from, rcpt) == ("vigil@example.com", ["vp@example.com", "it-director@example.com"])
        assert msg["Subject"] == "[INCIDENT] Smart Dairy - Milk API down"
        assert msg.get_content_type() == "text/plain"
        assert msg.get_content().replace("\r\n", "\n") == sent.body
        assert "Current Status:\nRolling back.\n" in sent.body
        assert slack.received == [{"channel": "#ops-incidents", "text": f"*{sent.subject}*\n{sent.body}"}]
        [body] = hook.received
        assert {k: body[k] for k in ("version", "kind", "type", "subject", "body", "sent_by", "url")} == {
            "version": "1", "kind": "vigil.incident.communication", "type": "internal",
            "subject": sent.subject, "body": sent.body, "sent_by": "ann",
            "url": f"http://vigil.test/incidents/{inc.ref}"}
        assert body["incident"]["ref"] == inc.ref and body["incident"]["severity_name"] == "SEV-1"
        assert body["next_update_at"] == iso(IncidentStore(store.engine).get(inc.id).next_update_at)  # type: ignore[arg-type]

        external = comms.send(inc.id, "external", actor="carl", via="cli")
        assert external is not None
        _deliver(store, config)
        assert slack.received[1] == {"channel": "#ops-incidents",
                                     "text": f"*Smart Dairy status: Milk API down*\n{external.body}"}
        assert len(smtp.messages) == 1 and len(hook.received) == 1  # external goes to Slack only
        with store.engine.connect() as conn:
            v = incident_events
            rows = conn.execute(select(v.c.kind, v.c.actor, v.c.detail, v.c.public).where(
                v.c.incident_id == inc.id, v.c.kind.in_(["communication", "public_update"])).order_by(v.c.id)).all()
            audit = conn.execute(select(schema.audit_log.c.action, schema.audit_log.c.actor).where(
                schema.audit_log.c.action.like("incident.communication%"))).all()
        assert [(k, a, p) for k, a, _, p in rows] == [("communication", "ann", False), ("communication", "carl", False),
                                                     ("public_update", "carl", True)]
        assert rows[2][2] == {"status": "investigating", "message": external.body}
        assert rows[0][2]["receivers"] == ["execs", "incident-slack", "hooks"]
        assert audit == [("incident.communication.internal", "ann"), ("incident.communication.external", "carl")]
        assert [c.kind for c in comms.sent(inc.ref)] == ["internal", "external"]
        store.close()


def test_an_edited_text_is_sent_as_given_and_a_failing_template_is_refused(world):
    _, service, comms = world
    inc = _declare(service)
    sent = comms.send(inc.id, "external", actor="ann", via="api", body="All milk meters are affected.\n")
    assert sent is not None and sent.body == "All milk meters are affected.\n"
    with pytest.raises(IncidentError, match="body is empty"):
        comms.send(inc.id, "external", actor="ann", via="api", body="  ")


def test_a_template_failing_on_an_incident_is_refused_when_a_person_sends(tmp_path):
    store = Store.open_in(str(tmp_path))
    config = load_config_text("incidents: {communications: {internal: {body: 'Owner: {{ .Owner }}'}}}")
    service, comms, _ = _world(store, config)
    inc = _declare(service)
    with pytest.raises(IncidentError, match=r"internal body template fails on INC-.*can't evaluate field Owner") as err:
        comms.send(inc.id, "internal", actor="ann", via="api")
    assert err.value.kind == "invalid"
    assert comms.sent(inc.id) == []
    store.close()


def test_internal_notification_at_declaration_is_sent_once_by_two_replicas(tmp_path):
    url = f"sqlite:///{tmp_path / 'state.db'}"
    stores = [Store.open(url), Store.open(url)]
    config = load_config_text("""
alerting:
  route: {receiver: hooks}
  receivers: [{name: hooks, webhook_configs: [{url: "http://hooks.example/incidents"}]}]
incidents:
  checklists: {SEV-1: [], SEV-3: []}
  communications:
    internal:
      receivers: {SEV-1: [hooks], SEV-3: [hooks]}
""")
    loops = []
    for s in stores:
        service, comms, response = _world(s, config)
        incidents = IncidentStore(s.engine)
        loops.append(ResponseLoop(incidents, response, ChecklistService(incidents, response, lambda: config),
                                  comms, lambda: config, ConfigDirectory(config)))
    sev1 = _declare(service)
    sev3 = service.declare(title="Report typo", severity=3, actor="ann", via="api")
    assert [lp.tick().notified for lp in loops] == [[sev1.ref], []]
    assert [lp.tick().notified for lp in loops] == [[], []]
    [sent] = comms.sent(sev1.id)
    assert (sent.sent_by, sent.via, sent.subject) == (None, "vigil", "[INCIDENT] Smart Dairy - Milk API down")
    assert comms.sent(sev3.id) == []  # SEV-3 is "Ticket only"
    hooks = [e for e in stores[0].outbox_list(100) if e.receiver == "hooks"]
    assert [(e.integration, e.payload["type"], e.payload["incident"]["ref"]) for e in hooks] == [
        ("webhook/0", "internal", sev1.ref)]
    for s in stores:
        s.close()


def test_a_misspelt_template_field_is_found_when_the_config_is_checked(tmp_path):
    # The template parses, so the config layer accepts it; vigil check (and vigil up, and a
    # reload) runs it on a sample incident and names the place.
    path = tmp_path / "vigil.yml"
    path.write_text("default_rules: false\nincidents:\n  communications:\n    external:\n"
                    "      body: 'Affects {{ .Servce }}'\n")
    with pytest.raises(ConfigError) as err:
        check(str(path))
    assert str(err.value) == (f'{path}:5:7: incidents.communications.external.body: template: external.body:1:'
                              '8: executing "external.body" at <.Servce>: can\'t evaluate field Servce in type incident')
    path.write_text(path.read_text().replace(".Servce", ".Service"))
    assert check(str(path)).config.incidents.communications.external.body == "Affects {{ .Service }}"
