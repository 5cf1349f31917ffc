"""Signed, expiring action links: tokens (tampered, expired, another Vigil's key refused),
the key shared by replicas, the links placed in webhook / Slack / e-mail payloads by a real
dispatcher, and the link pages through the real app (GET confirms and changes nothing,
POST acts and records the notification as who acted)."""

from __future__ import annotations

import dataclasses
import re
from datetime import datetime, timedelta, timezone
from urllib.parse import urlsplit

import pytest
from starlette.testclient import TestClient

from tests.collect.exporters.conftest import _pg_base, postgres_server  # noqa: F401
from tests.state.conftest import two_stores  # noqa: F401
from tests.web.fakes import make_deps
from vigil.access import AccessService, Role
from vigil.alerting.dispatch import Dispatcher
from vigil.alerting.notify.action_links import with_action_links
from vigil.alerting.service import Alerting
from vigil.alerting.silence import Silences
from vigil.config import load_config_text
from vigil.config.access import AccessConfig
from vigil.config.oncall import OncallConfig
from vigil.model import Alert, Labels
from vigil.oncall.lifecycle import Lifecycle, firing_groups
from vigil.oncall.links import ActionLinkMaker, LinkClaim, LinkError, LinkSigner
from vigil.state import Store
from vigil.state.lifecycle_store import LifecycleStore
from vigil.web import create_app
from vigil.web.access_gate import AccessPolicy

NOW = datetime(2026, 12, 7, 3, 0, tzinfo=timezone.utc)
LINKS = {"episode": "e1", "ack_url": "http://v/oncall/link/A", "resolve_url": "http://v/oncall/link/R"}


def _claim(**kw) -> LinkClaim:
    base = dict(action="ack", expires=NOW + timedelta(hours=1), recipient="ops/webhook/0",
                episode_id="e1", group_key=None, issued=NOW)
    return LinkClaim(**{**base, **kw})


def test_tokens_verify_and_refuse_tampering_expiry_and_other_keys():
    signer = LinkSigner(b"k" * 32)
    token = signer.sign(_claim())
    assert signer.verify(token, NOW) == _claim()
    payload, mac = token.split(".")
    forged = payload[:-2] + ("AA" if payload[-2:] != "AA" else "BB") + "." + mac
    for bad in (forged, payload + "." + mac[:-1] + ("A" if mac[-1] != "A" else "B"), payload, "x.y"):
        with pytest.raises(LinkError, match="this link is not valid: it was changed"):
            signer.verify(bad, NOW)
    with pytest.raises(LinkError, match="this link is not valid"):
        LinkSigner(b"o" * 32).verify(token, NOW)
    with pytest.raises(LinkError, match="this link expired at 2026-12-07 04:00:00 UTC"):
        signer.verify(token, NOW + timedelta(hours=1))


def test_replicas_share_one_signing_key(two_stores):  # noqa: F811
    a, b = (LifecycleStore(s.engine) for s in two_stores)
    maker_a = ActionLinkMaker(a, "http://a", 60)
    maker_b = ActionLinkMaker(b, "http://b", 60)
    token = maker_a.signer.sign(_claim())
    assert maker_b.signer.verify(token, NOW).episode_id == "e1"
    assert len(maker_a.signer.key) == 32


def test_links_in_each_kind_of_payload():
    am = {"version": "4", "groupKey": "g", "status": "firing", "alerts": [{"status": "firing"}]}
    hooked = with_action_links("webhook/0", am, LINKS)
    assert {k: v for k, v in hooked.items() if k != "vigil"} == am
    assert hooked["vigil"] == LINKS
    slack = with_action_links("slack/0", {"text": "t", "blocks": [{"type": "header"}]}, LINKS)
    assert slack["blocks"][-1]["text"]["text"] == (
        "<http://v/oncall/link/A|Acknowledge> · <http://v/oncall/link/R|Resolve>")
    mail = with_action_links("email/0", {"text": "body", "html": "<html><body><p>x</p></body></html>"}, LINKS)
    assert mail["text"].endswith("Acknowledge: http://v/oncall/link/A\nResolve: http://v/oncall/link/R\n")
    assert mail["html"].endswith('<a href="http://v/oncall/link/R">Resolve</a></p></body></html>')
    pd = {"routing_key": "x"}
    assert with_action_links("pagerduty/0", pd, LINKS) is pd


@pytest.fixture
def served(tmp_path):
    """A real dispatcher with a webhook and a Slack receiver, the lifecycle and its links,
    served by the real app with access control (the links need no login)."""
    store = Store.open_in(str(tmp_path))
    life_store = LifecycleStore(store.engine)
    maker = ActionLinkMaker(life_store, "http://vigil.example", 3600)
    cfg = load_config_text("""
alerting:
  receivers:
    - name: ops
      webhook_configs: [{url: "http://127.0.0.1:9/hook"}]
      slack_configs: [{api_url: "http://127.0.0.1:9/slack"}]
  route: {receiver: ops, group_by: [alertname]}
""")
    dispatcher = Dispatcher(cfg.alerting, store, external_url="http://vigil.example",
                            action_links=maker.links)
    alerting = Alerting(dispatcher, Silences(store), resolve_timeout_s=300)
    life = Lifecycle(life_store, OncallConfig(), lambda: firing_groups(alerting), links=maker)
    service = AccessService(store.access, AccessConfig())
    service.add_user("ann", Role.RESPONDER, actor="test", password="ann-pw")
    deps = dataclasses.replace(make_deps(), alerting=alerting, access=AccessPolicy(service, False),
                               oncall=life)
    with TestClient(create_app(deps), base_url="http://vigil.example") as client:
        yield client, dispatcher, life, store, service
    store.close()


def _fire(dispatcher: Dispatcher, life: Lifecycle, store: Store, name: str) -> dict:
    now = datetime.now(timezone.utc)
    dispatcher.put([Alert(Labels({"alertname": name, "priority": "P2"}), Labels({"runbook_url": f"/runbooks/{name}"}),
                          now, None, "", now)])
    life.reconcile()
    for group in dispatcher.groups():
        dispatcher.flush(group, now)
    entries = {e.integration: e.payload for e in store.outbox_list() if e.group_key.endswith(f'"{name}"}}')}
    return entries


def test_notifications_carry_links_that_confirm_then_act(served):
    client, dispatcher, life, store, service = served
    payloads = _fire(dispatcher, life, store, "DiskFull")
    [episode] = life.store.episodes()
    hook = payloads["webhook/0"]["vigil"]
    assert hook["episode"] == episode.id and payloads["webhook/0"]["groupKey"]
    assert hook["ack_url"].startswith("http://vigil.example/oncall/link/")
    slack_text = payloads["slack/0"]["blocks"][-1]["text"]["text"]
    slack_token = re.match(r"<http://vigil\.example/oncall/link/([^|]+)\|Acknowledge>", slack_text).group(1)
    assert life.links.signer.verify(slack_token, datetime.now(timezone.utc)).recipient == "ops/slack/0"

    page = client.get(urlsplit(hook["ack_url"]).path)
    assert page.status_code == 200 and 'id="confirm"' in page.text and "P2" in page.text
    assert life.store.get(episode.id).state == "open"  # opening the link changed nothing
    done = client.post(urlsplit(hook["ack_url"]).path, data={"note": "from the pager"})
    assert done.status_code == 200 and "Acknowledged." in done.text
    acked = life.store.get(episode.id)
    assert (acked.state, acked.acknowledged_by) == ("acknowledged", "link:ops/webhook/0")
    last = life.store.events(episode.id)[-1]
    assert (last.via, last.detail["note"]) == ("link", "from the pager")
    assert ("link:ops/webhook/0", "episode.ack", episode.id) in [
        (e.actor, e.action, e.target) for e in service.audit_entries(limit=20)]
    again = client.get(urlsplit(hook["ack_url"]).path)
    assert "Nothing to do: this alert is acknowledged already." in again.text

    resolve = urlsplit(hook["resolve_url"]).path
    form = client.get(resolve)
    assert 'name="classification"' in form.text and 'value="/runbooks/DiskFull"' in form.text
    refused = client.post(resolve, data={})
    assert refused.status_code == 400 and "classification must be one of" in refused.text
    ok = client.post(resolve, data={"classification": "actionable", "procedure": "/runbooks/DiskFull"})
    assert ok.status_code == 200 and life.store.get(episode.id).classification == "actionable"


def test_tampered_and_expired_links_are_refused_with_a_message(served):
    client, dispatcher, life, store, _ = served
    url = _fire(dispatcher, life, store, "CPUHigh")["webhook/0"]["vigil"]["ack_url"]
    path = urlsplit(url).path
    payload, mac = path.rsplit("/", 1)[1].split(".")
    tampered = f"/oncall/link/{payload}x.{mac}"
    for method in (client.get, client.post):
        r = method(tampered)
        assert r.status_code == 403
        assert "This link is not valid: it was changed, cut short, or made by another Vigil." in r.text
    [episode] = life.store.episodes()
    expired = life.links.signer.sign(LinkClaim("ack", datetime.now(timezone.utc) - timedelta(seconds=1),
                                               "ops/webhook/0", episode.id, None, NOW))
    r = client.post(f"/oncall/link/{expired}")
    assert r.status_code == 410 and re.search(r"This link expired at \d{4}-\d\d-\d\d", r.text)
    assert life.store.get(episode.id).state == "open"


def test_link_sent_before_the_episode_opened_finds_it(served):
    _client, _dispatcher, life, _store, _ = served
    maker = life.links
    life.store.open("g1", receiver="ops", group_labels={"alertname": "X"}, priority="P3", deadline_s=60)
    claim = LinkClaim("ack", NOW + timedelta(days=3650), "ops/email/0", None, "g1",
                      datetime.now(timezone.utc) - timedelta(seconds=5))
    assert maker.episode_for(maker.signer.verify(maker.signer.sign(claim), NOW)).group_key == "g1"
    with pytest.raises(LinkError, match="has no episode"):
        maker.episode_for(dataclasses.replace(claim, group_key="other"))
