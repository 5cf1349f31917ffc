"""Paging at declaration, delivered for real: the severity's response reached through the
users' contact methods — a webhook and a Slack webhook (an HTTP server in the test) and
e-mail (the suite's SMTP server) — by the outbox workers with the ``@oncall`` integrations,
each once."""

from __future__ import annotations

import asyncio

import httpx

from tests.alerting.test_email import smtp  # noqa: F401 (the fixture)
from tests.support.webhook import WebhookReceiver
from vigil.alerting.notify.outbox import OutboxWorker
from vigil.config.loader import load_config_text
from vigil.incidents.service import IncidentService
from vigil.oncall.escalation_send import page_integrations
from vigil.oncall.reach import ConfigDirectory
from vigil.selfmetrics import SelfMetrics
from vigil.state import Store
from vigil.state.incident_store import IncidentStore

CONFIG = """
users:
  - {{name: ann, contacts: [{{kind: webhook, address: "{hook}/ann"}}]}}
  - {{name: bob, contacts: [{{kind: slack_webhook, address: "{hook}/services/T0/B0/SECRET"}}]}}
  - {{name: vp, contacts: [{{kind: email, address: vp@example.com}}]}}
teams: [{{name: sre, members: [ann, bob]}}]
alerting:
  route: {{receiver: mail}}
  receivers:
    - name: mail
      email_configs: [{{to: ops@example.com, from: vigil@example.com, smarthost: "127.0.0.1:{port}",
                        require_tls: false}}]
incidents:
  severities:
    - severity: 1
      response: {{teams: [sre], users: [vp]}}
"""


def _deliver(store: Store, config) -> int:
    worker = OutboxWorker(store, page_integrations(config), SelfMetrics())

    async def run() -> int:
        async with httpx.AsyncClient() as client:
            return await worker.deliver_due(client)

    return asyncio.run(run())


def test_a_sev1_declaration_pages_the_response_team_once(tmp_path, smtp):  # noqa: F811
    with WebhookReceiver() as hook:
        config = load_config_text(CONFIG.format(hook=hook.url.rstrip("/"), port=smtp.port))
        store = Store.open_in(str(tmp_path))
        service = IncidentService(IncidentStore(store.engine), lambda: config, directory=ConfigDirectory(config),
                                  external_url="http://vigil.test")
        inc = service.declare(title="Milk API down", severity=1, actor="carl", via="api")
        assert _deliver(store, config) == 3
        assert _deliver(store, config) == 0  # delivered once
        by_kind = {("text" in body): body for body in hook.received}
        page = by_kind[False]
        assert (page["kind"], page["user"], page["via"], page["url"]) == (
            "vigil.incident", "ann", "team:sre", f"http://vigil.test/incidents/{inc.ref}")
        assert page["incident"]["ref"] == inc.ref and page["incident"]["severity_name"] == "SEV-1"
        assert page["incident"]["communication"] == "Immediate exec notification"
        assert by_kind[True]["text"] == (f":rotating_light: SEV-1 incident {inc.ref} declared: Milk API down "
                                         f"(channel {inc.channel})\nhttp://vigil.test/incidents/{inc.ref}")
        [(mail_from, rcpt, msg)] = smtp.messages
        assert (mail_from, rcpt, msg["Subject"]) == ("vigil@example.com", ["vp@example.com"],
                                                     "[SEV-1] [INCIDENT] Milk API down")
        assert f"SEV-1 incident {inc.ref} declared: Milk API down" in msg.get_body(("plain",)).get_content()
        pages = [e.detail for e in service.store.events(inc.id) if e.kind == "page"]
        # users first, then teams (the order of the response's keys in the docs)
        assert [(p["user"], p["kind"]) for p in pages] == [("vp", "email"), ("ann", "webhook"),
                                                           ("bob", "slack_webhook")]
        store.close()
