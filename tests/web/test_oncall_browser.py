"""The alert lifecycle in headless Chromium: a responder logs in and acknowledges a group
from the alerts page (priority, state, time left, red when overdue), then someone without a
login acknowledges another group from the link its webhook notification carried: opening the
link only asks, the button acts. Screenshots go to ``test-artifacts/``."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from datetime import datetime, timezone
from urllib.parse import urlsplit

import pytest

from tests.support.browser import ARTIFACTS, new_page, record_csp_violations, serve_app
from tests.web.fakes import make_deps
from vigil.access import AccessService, Role
from vigil.alerting.dispatch import Dispatcher
from vigil.alerting.service import Alerting
from vigil.alerting.silence import Silences
from vigil.config import load_config_text
from vigil.config.oncall import OncallConfig
from vigil.model import Alert, Labels
from vigil.oncall.lifecycle import Lifecycle, firing_groups
from vigil.oncall.links import ActionLinkMaker
from vigil.state import Store
from vigil.state.lifecycle_store import LifecycleStore
from vigil.web import create_app
from vigil.web.access_gate import AccessPolicy

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def env(tmp_path_factory) -> Iterator[dict]:
    store = Store.open_in(str(tmp_path_factory.mktemp("oncall")))
    service = AccessService(store.access)
    service.add_user("ann", Role.RESPONDER, actor="test", password="ann-password")
    cfg = load_config_text("""
alerting:
  receivers: [{name: ops, webhook_configs: [{url: "http://127.0.0.1:9/hook"}]}]
  route: {receiver: ops, group_by: [alertname]}
""")
    holder: dict = {"store": store, "service": service}

    def build(base_url: str):
        life_store = LifecycleStore(store.engine)
        maker = ActionLinkMaker(life_store, base_url, 3600)
        dispatcher = Dispatcher(cfg.alerting, store, external_url=base_url, action_links=maker.links)
        alerting = Alerting(dispatcher, Silences(store), resolve_timeout_s=300)
        # P1 with a deadline already passed: shown overdue, in red.
        life = Lifecycle(life_store, OncallConfig(acknowledge_deadlines={"P1": 0.001}),
                         lambda: firing_groups(alerting), links=maker)
        holder.update(dispatcher=dispatcher, life=life)
        deps = dataclasses.replace(make_deps(), alerting=alerting, access=AccessPolicy(service),
                                   oncall=life)
        return create_app(deps)

    with serve_app(build) as base:
        holder["base"] = base
        now = datetime.now(timezone.utc)
        holder["dispatcher"].put([
            Alert(Labels({"alertname": name, "priority": prio}), Labels({"runbook_url": f"/runbooks/{name}"}),
                  now, None, "", now) for name, prio in (("DiskFull", "P1"), ("CPUHigh", "P3"))])
        holder["life"].reconcile()
        for group in holder["dispatcher"].groups():
            holder["dispatcher"].flush(group, now)
        yield holder
    store.close()


def test_acknowledge_from_the_alerts_page(browser, env):
    base, life = env["base"], env["life"]
    context, page = new_page(browser)
    violations = record_csp_violations(page)
    page.goto(base + "/alerts")
    page.fill("#username", "ann")
    page.fill("#password", "ann-password")
    page.click("button[type=submit]")
    page.wait_for_url(base + "/alerts")
    disk = page.locator("tr.episode", has_text='alertname="DiskFull"')
    assert disk.locator(".badge.priority").inner_text() == "P1"
    assert "overdue by" in disk.locator("td.time-left").inner_text()
    assert "episode-breached" in disk.get_attribute("class")
    color = disk.locator(".overdue").evaluate("e => getComputedStyle(e).color")
    assert color not in ("rgb(0, 0, 0)", "")  # red, not the text colour
    cpu = page.locator("tr.episode", has_text='alertname="CPUHigh"')
    assert cpu.locator("td.time-left").inner_text().startswith(("59m", "1h"))
    page.screenshot(path=str(ARTIFACTS / "oncall-alerts-before.png"), full_page=True)

    disk.locator("button.ack").click()
    page.wait_for_load_state()
    disk = page.locator("tr.episode", has_text='alertname="DiskFull"')
    assert disk.locator("td.episode-state").inner_text() == "acknowledged by ann"
    assert disk.locator("button.unack").count() == 1 and disk.locator("button.ack").count() == 0
    [ep] = [e for e in life.store.episodes() if e.group_labels["alertname"] == "DiskFull"]
    assert (ep.state, ep.acknowledged_by) == ("acknowledged", "ann")
    assert life.store.events(ep.id)[-1].via == "ui"
    page.screenshot(path=str(ARTIFACTS / "oncall-alerts-acknowledged.png"), full_page=True)

    # Resolve with a classification chosen in the select.
    disk.locator("select[name=classification]").select_option("false_positive")
    disk.locator("button.resolve").click()
    page.wait_for_load_state()
    assert page.locator("tr.episode", has_text='alertname="DiskFull"').count() == 0
    done = life.store.get(ep.id)
    assert (done.state, done.classification, done.procedure) == ("resolved", "false_positive", "/runbooks/DiskFull")
    assert violations == []
    context.close()


def test_acknowledge_from_a_notification_link(browser, env):
    base, life, store = env["base"], env["life"], env["store"]
    [entry] = [e for e in store.outbox_list() if "CPUHigh" in e.group_key]
    ack_url = entry.payload["vigil"]["ack_url"]
    assert ack_url.startswith(base + "/oncall/link/")
    context, page = new_page(browser)  # nobody logged in
    violations = record_csp_violations(page)
    page.goto(ack_url)
    assert page.locator("h1").inner_text() == "Acknowledge alert"
    assert "P3" in page.locator("dl.episode").inner_text()
    [ep] = [e for e in life.store.episodes() if e.group_labels["alertname"] == "CPUHigh"]
    assert life.store.get(ep.id).state == "open"  # looking changed nothing
    page.screenshot(path=str(ARTIFACTS / "oncall-link-confirm.png"), full_page=True)
    page.fill("#note", "seen on my phone")
    page.click("#confirm")
    page.wait_for_selector("#link-done")
    assert page.locator("#link-done").inner_text() == "Acknowledged."
    assert "acknowledged by link:ops/webhook/0" in page.locator(".episode-state").inner_text()
    page.screenshot(path=str(ARTIFACTS / "oncall-link-done.png"), full_page=True)
    acked = life.store.get(ep.id)
    assert (acked.state, acked.acknowledged_by) == ("acknowledged", "link:ops/webhook/0")
    # A tampered link is refused with a message.
    page.goto(ack_url[:-3] + ("xyz" if not ack_url.endswith("xyz") else "abc"))
    assert "This link is not valid" in page.locator("#link-error").inner_text()
    assert urlsplit(page.url).path.startswith("/oncall/link/")
    assert violations == []
    context.close()
