"""The incident pages in headless Chromium, end to end: an alert fires through a real
dispatcher; a responder declares an incident from its group on the alerts page with one
click, walks it Investigating → Identified → Monitoring → Resolved by clicking (a move from
a page left open meanwhile is refused with the reason), sets the commander and the impacted
component, adds a note, ticks a checklist task, previews both communication templates and
sends the external update, which the public /status page then shows; the timeline shows all
of it in order; the post-mortem downloads. Accessibility: axe-core finds no WCAG A/AA
violation on /incidents and the incident page, headings go down one level at a time, every
control is reached with Tab (with a visible focus) and a note, a status move and a
declaration are made with the keyboard alone. Viewers see no action buttons. No page reports
a Content-Security-Policy violation. Screenshots go to ``test-artifacts/``."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import update

from tests.support.browser import (
    ARTIFACTS,
    axe_violations,
    new_page,
    record_csp_violations,
)
from tests.support.incident_pages import (
    assert_headings_in_order,
    login,
    serve_services,
    submit,
    timeline_rows,
)
from vigil.access import AccessService, Role
from vigil.alerting.dispatch import Dispatcher
from vigil.alerting.service import Alerting
from vigil.alerting.silence import Silences
from vigil.config import load_config_text
from vigil.incidents.response import incident_response
from vigil.incidents.review import IncidentReview
from vigil.incidents.service import IncidentService
from vigil.incidents.status_page_service import StatusPageService
from vigil.incidents.timeline import Timeline, dispatcher_groups
from vigil.model import Alert, Labels
from vigil.oncall.lifecycle import Lifecycle, firing_groups
from vigil.oncall.reach import ConfigDirectory
from vigil.state import Store
from vigil.state.action_item_store import ActionItemStore
from vigil.state.coordination import db_now
from vigil.state.incident_schema import incidents
from vigil.state.incident_store import IncidentStore
from vigil.state.lifecycle_store import LifecycleStore
from vigil.state.status_page_store import StatusPageStore

pytestmark = pytest.mark.browser

CONFIG = load_config_text("""
alerting:
  receivers: [{name: ops, webhook_configs: [{url: "http://127.0.0.1:9/hook"}]}]
  route: {receiver: ops, group_by: [alertname]}
incidents:
  overdue_grace: 0s             # a task is overdue once its due time passed
  communications:
    organization: Smart Dairy
    internal: {receivers: {SEV-1: [ops]}}
    external: {receivers: {SEV-1: [ops]}}
status_page:
  title: Smart Dairy status
  components:
    - {name: milk-api, description: Milk collection API, query: 'up{job="milk-api"}'}
    - {name: shop, description: Online shop, query: 'up{job="shop"}'}
""")
GRAPH_URL = "http://vigil.example/graph?g0.expr=up%7Bjob%3D%22milk-api%22%7D+%3D%3D+0"


@pytest.fixture(scope="module")
def env(tmp_path_factory) -> Iterator[dict]:
    store = Store.open_in(str(tmp_path_factory.mktemp("incidents")))
    people = AccessService(store.access)
    people.add_user("ann", Role.RESPONDER, actor="test", password="ann-password")
    people.add_user("vic", Role.VIEWER, actor="test", password="vic-password")
    holder: dict = {"store": store}

    def build(base_url: str) -> dict:
        life_store = LifecycleStore(store.engine)
        dispatcher = Dispatcher(CONFIG.alerting, store, external_url=base_url)
        alerting = Alerting(dispatcher, Silences(store), resolve_timeout_s=300)
        life = Lifecycle(life_store, CONFIG.oncall, lambda: firing_groups(alerting))
        incident_store = IncidentStore(store.engine)
        service = IncidentService(incident_store, lambda: CONFIG, groups=lambda: firing_groups(alerting),
                                  episodes=life_store, external_url=base_url)
        holder.update(dispatcher=dispatcher, life=life, service=service,
                      timeline=Timeline(service, lambda: dispatcher_groups(alerting)))
        return dict(
            alerting=alerting, oncall=life, incidents=service,
            incident_response=incident_response(store.engine, lambda: CONFIG, ConfigDirectory(CONFIG),
                                                external_url=base_url),
            incident_review=IncidentReview(incident_store, ActionItemStore(store.engine), external_url=base_url),
            status_page=StatusPageService(StatusPageStore(store.engine), incident_store, lambda: CONFIG))

    with serve_services(people, build) as base:
        holder["base"] = base
        started = datetime.now(timezone.utc) - timedelta(minutes=4)
        holder["dispatcher"].put([
            Alert(Labels({"alertname": "MilkApiDown", "service": "milk-api", "priority": "P1"}),
                  Labels({"summary": "milk API answers 503"}), started, None, GRAPH_URL, started),
            Alert(Labels({"alertname": "ShopSlow", "service": "shop", "priority": "P3"}),
                  Labels({"summary": "shop pages take 4 s"}), started, None, "", started)])
        holder["life"].reconcile()  # the groups' episodes: P1 makes a SEV-1
        yield holder
    store.close()


def _status_page(browser, base: str) -> tuple[str, str]:
    """(milk-api's status, the current incidents' text) on the public page, nobody logged in."""
    context, page = new_page(browser)
    page.goto(base + "/status")
    status = page.locator("#component-milk-api .badge").inner_text().strip()
    current = page.locator("section[aria-labelledby=current-incidents]")
    text = current.inner_text() if current.count() else ""
    context.close()
    return status, text


def test_declare_from_an_alert_walk_the_statuses_communicate_and_export(browser, env):
    base, store = env["base"], env["store"]
    context, page = new_page(browser)
    violations = record_csp_violations(page)
    login(page, base, "/alerts", "ann")
    milk = page.locator("tr.incident-group", has_text='alertname="MilkApiDown"')
    assert milk.locator("button.declare-incident").count() == 1
    page.screenshot(path=str(ARTIFACTS / "incidents-alerts-before.png"), full_page=True)
    submit(page, milk.locator("button.declare-incident"))
    page.wait_for_url(re.compile(r".*/incidents/INC-\d{8}-\d{3}$"))
    ref = page.url.rsplit("/", 1)[1]
    assert page.locator("h1").inner_text() == f"{ref} MilkApiDown"
    assert page.locator(".incident-badges .incident-sev").inner_text() == "SEV-1"
    assert page.locator("#incident-status").inner_text() == "Investigating"
    assert [b.inner_text() for b in page.locator("form.status-form button.move").all()] == [
        "Identified", "Monitoring", "Resolved"]
    # The alerts page now shows the group's incident instead of the button.
    page.goto(base + "/alerts")
    assert page.locator("tr.incident-group", has_text="MilkApiDown").locator("a.incident-ref").inner_text() == ref
    assert page.locator("tr.incident-group", has_text="ShopSlow").locator("button.declare-incident").count() == 1

    assert env["timeline"].tick() == 1  # the primary's loop copies the alert, firing since before
    page.goto(f"{base}/incidents/{ref}")
    group = page.locator("#alerts .attached-group")
    assert "alertname=MilkApiDown" in group.locator("h3").inner_text()
    assert "milk API answers 503" in group.inner_text()
    assert group.locator("a.graph-link").get_attribute("href") == (
        "/graph?g0.expr=up%7Bjob%3D%22milk-api%22%7D+%3D%3D+0&g0.range_input=1h")
    figures = page.locator("#figures").inner_text()
    assert re.search(r"Alerts\s+1\b", figures) and re.search(r"Time from first alert to declaration\s+4m", figures)

    # A second tab left open on the page while the incident moves on (another responder).
    stale = context.new_page()
    stale.goto(f"{base}/incidents/{ref}")

    page.select_option("#role-select", "commander")
    page.fill("#role-user", "ann")
    submit(page, page.locator("#role-set"))
    assert page.locator("#role-commander").inner_text() == "ann"
    assert page.locator("#time-acknowledged").inner_text() != "–"  # the first commander acknowledges
    assert _status_page(browser, base) == ("Operational", "")
    page.fill("#components-input", "milk-api")
    submit(page, page.locator("#components-submit"))
    assert page.locator("#incident-components").inner_text() == "milk-api"
    assert _status_page(browser, base) == ("Major outage", "")  # SEV-1 on milk-api, nothing published yet

    page.fill("#status-note", "bad deploy of milk-api 2.3")
    submit(page, page.locator("button.move-identified"))
    assert page.locator("#incident-status").inner_text() == "Identified"
    assert [b.inner_text() for b in page.locator("form.status-form button.move").all()] == ["Monitoring", "Resolved"]
    # The stale tab still offers Identified: refused, with the reason, nothing changed.
    submit(stale, stale.locator("button.move-identified"))
    error = stale.locator("#incident-error")
    assert error.inner_text() == (f"incident {ref} cannot move from identified to identified (it is already there); "
                                  "allowed from identified: monitoring, resolved")
    assert error.get_attribute("role") == "alert"
    assert stale.locator("#incident-status").inner_text() == "Identified"
    stale.screenshot(path=str(ARTIFACTS / "incident-move-refused.png"), full_page=True)
    stale.close()

    page.fill("#note-text", "rolled back to milk-api 2.2")
    submit(page, page.locator("#note-submit"))
    # T+0:00's tasks are due at the declaration: overdue, said in words; T+0:05's are not yet.
    late = page.locator("#task-create-channel")
    assert "task-overdue" in late.get_attribute("class")
    assert late.locator(".task-state").inner_text().startswith("Overdue by ")
    assert page.locator("#task-dns .task-state").inner_text() == "To do"
    task = page.locator("#task-page-oncall")
    task.locator("input[name=note]").fill("Vigil paged the primary")
    submit(page, task.locator("button.task-done-button"))
    task = page.locator("#task-page-oncall")
    assert task.locator(".task-state").inner_text() == "Done"
    assert "by ann" in task.inner_text() and "Vigil paged the primary" in task.inner_text()

    # Both templates previewed, filled from the incident and the two fields.
    page.fill("#fill-current-status", "Rolled back; error rate falling")
    page.fill("#fill-symptoms", "failed milk collection uploads")
    submit(page, page.locator("#fill-preview"))
    assert page.locator("#internal-subject").input_value() == "[INCIDENT] Smart Dairy - MilkApiDown"
    internal = page.locator("#internal-body").input_value()
    for line in ("Severity: SEV-1", "Status: Identified", "Rolled back; error rate falling",
                 f"Incident Channel: #incident-{ref[4:12]}-{ref[-3:]}", "Next Update: 20"):
        assert line in internal, (line, internal)
    assert page.locator("#external-subject").input_value() == "Smart Dairy status: MilkApiDown"
    external = page.locator("#external-body").input_value()
    assert external.startswith("We are currently investigating issues affecting milk-api.\n"
                               "Users may experience failed milk collection uploads.\n"), external
    assert "To: ops" in page.locator("#preview-external").inner_text()
    page.screenshot(path=str(ARTIFACTS / "incident-communications-preview.png"), full_page=True)
    submit(page, page.locator("#send-external"))
    assert page.locator("table.sent tbody tr.sent-external").count() == 1
    assert re.fullmatch(r"Next update due: 20\d\d-\d\d-\d\d \d\d:\d\d:\d\d UTC", page.locator("#next-update").inner_text())
    status, current = _status_page(browser, base)
    assert status == "Major outage"
    assert "MilkApiDown" in current and "Users may experience failed milk collection uploads." in current
    [queued] = [e for e in store.outbox_list() if e.payload.get("kind") == "vigil.incident.communication"]
    assert queued.payload["subject"] == "Smart Dairy status: MilkApiDown" and queued.receiver == "ops"

    submit(page, page.locator("button.move-monitoring"))
    assert page.locator("#incident-status").inner_text() == "Monitoring"
    assert page.locator("#time-mitigated").inner_text() != "–"
    page.fill("#status-note", "error rate normal for 15 min")
    submit(page, page.locator("button.move-resolved"))
    assert page.locator("#incident-status").inner_text() == "Resolved"
    assert page.locator("form.status-form button.move").all_inner_texts() == ["Reopen"]
    assert page.locator("#time-resolved").inner_text() != "–"
    assert page.locator("#next-update").inner_text() == "Next update due: none scheduled"
    page.screenshot(path=str(ARTIFACTS / "incident-resolved.png"), full_page=True)

    rows = timeline_rows(page)
    assert [t for t, _, _ in rows] == sorted(t for t, _, _ in rows)
    assert [(kind, text) for _, kind, text in rows] == [
        ("alert_firing", "Alert firing: alertname=MilkApiDown, priority=P1, service=milk-api — milk API answers 503"),
        ("declared", "Declared SEV-1: MilkApiDown (alert)"),
        ("alert_attached", "Alert group attached: alertname=MilkApiDown"),
        ("role", "Commander: ann"),
        ("component", "Components: milk-api"),
        ("status", "Status: investigating → identified — bad deploy of milk-api 2.3"),
        ("note", "rolled back to milk-api 2.2"),
        ("task_done", rows[7][2]),
        ("communication", "External communication sent to ops: Smart Dairy status: MilkApiDown"),
        ("public_update", rows[9][2]),
        ("status", "Status: identified → monitoring"),
        ("status", "Status: monitoring → resolved — error rate normal for 15 min")]
    assert "Page on-call engineer" in rows[7][2]
    assert rows[9][2].startswith("Public ") and "failed milk collection uploads" in rows[9][2]
    who = page.locator("table.timeline tbody tr .event-who").all_inner_texts()
    assert who[0] == "Vigil (vigil)" and who[1] == "ann (ui)" and who[-1] == "ann (ui)"
    assert page.locator("table.timeline tr.event-public").count() == 1

    with page.expect_download() as info:
        page.click("#postmortem-link")
    download = info.value
    assert download.suggested_filename == f"{ref}-postmortem.md"
    markdown = Path(download.path()).read_text()
    assert markdown.startswith(f"# {ref}: MilkApiDown")
    for text in ("rolled back to milk-api 2.2", "bad deploy of milk-api 2.3", 'up{job="milk-api"} == 0',
                 "Time to resolve"):
        assert text in markdown, text
    with page.expect_download() as info:
        page.click("#export-csv", modifiers=["Alt"])  # Alt-click: save the export
    assert info.value.suggested_filename == f"{ref}-timeline.csv"
    assert violations == []
    context.close()


def _walk_tab(page) -> list[tuple[str, bool]]:
    """Press Tab once per focusable control (a radio group is one stop: its checked radio);
    each reached element's outerHTML and whether it showed a focus outline. Asserts that
    Tab reaches every control, in document order."""
    controls = page.eval_on_selector_all(
        "a[href], button, input:not([type=hidden]):not([type=radio]), input[type=radio]:checked, select, textarea",
        "els => els.map(e => e.outerHTML)")
    page.locator("body").focus()
    reached: list[tuple[str, bool]] = []
    for _ in range(3 * len(controls)):
        if len(reached) == len(controls):
            break
        page.keyboard.press("Tab")
        html, visible = page.evaluate("""() => { const e = document.activeElement; const s = getComputedStyle(e);
            return [e.outerHTML, s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) > 0]; }""")
        if not reached or reached[-1][0] != html:  # a date input takes one Tab per part
            reached.append((html, visible))
    assert [html for html, _ in reached] == controls
    return reached


def _tab_to(page, selector: str, limit: int = 400) -> None:
    for _ in range(limit):
        page.keyboard.press("Tab")
        if page.evaluate("s => document.activeElement.matches(s)", selector):
            return
    raise AssertionError(f"Tab never reached {selector}")


def test_accessible_and_operable_by_keyboard(browser, env):
    base = env["base"]
    context, page = new_page(browser)
    violations = record_csp_violations(page)
    login(page, base, "/incidents", "ann")
    choices = page.locator("fieldset.severity-choice label").all_inner_texts()
    assert choices[0].split() == ("SEV-1 Complete system outage team: All hands · Immediate exec notification · "
                                  "updates every 30m").split()
    assert choices[3].endswith("no scheduled updates")
    # Declared with the keyboard alone: type the title, pick SEV-2 with the arrow keys, Enter.
    _tab_to(page, "#declare-title")
    page.keyboard.type("Shop checkout slow")
    _tab_to(page, "input[name=severity]")  # the checked radio (SEV-3) takes the focus
    page.keyboard.press("ArrowUp")
    _tab_to(page, "#declare-components")
    page.keyboard.type("shop")
    _tab_to(page, "#declare-submit")
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r".*/incidents/INC-\d{8}-\d{3}$"))
    ref = page.url.rsplit("/", 1)[1]
    assert page.locator(".incident-badges .incident-sev").inner_text() == "SEV-2"
    assert page.locator("#incident-components").inner_text() == "shop"

    assert_headings_in_order(page)
    found = axe_violations(page)
    assert found == [], "\n".join(f"{v['id']}: {v['nodes']}" for v in found)
    reached = _walk_tab(page)
    assert all(visible for _, visible in reached), [h for h, v in reached if not v]
    assert any('id="note-submit"' in h for h, _ in reached) and any("move-identified" in h for h, _ in reached)
    # A note and a status move, each by Tab and Enter.
    page.goto(f"{base}/incidents/{ref}")
    _tab_to(page, "#note-text")
    page.keyboard.type("checkout waits on the payment provider")
    _tab_to(page, "#note-submit")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert page.locator("table.timeline .event-note .event-text").inner_text() == "checkout waits on the payment provider"
    _tab_to(page, "button.move-identified")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert page.locator("#incident-status").inner_text() == "Identified"
    page.screenshot(path=str(ARTIFACTS / "incident-keyboard.png"), full_page=True)
    # Half an hour without an update: "Next update due" says it is overdue.
    with env["store"].engine.begin() as conn:
        conn.execute(update(incidents).where(incidents.c.ref == ref).values(
            next_update_at=db_now(conn) - timedelta(minutes=5)))
    page.reload()
    due = page.locator("#next-update")
    assert "update-overdue" in due.get_attribute("class") and "(overdue by 5m" in due.inner_text()
    found = axe_violations(page)
    assert found == [], "\n".join(f"{v['id']}: {v['nodes']}" for v in found)

    page.goto(base + "/incidents")
    assert_headings_in_order(page)
    found = axe_violations(page)
    assert found == [], "\n".join(f"{v['id']}: {v['nodes']}" for v in found)
    reached = _walk_tab(page)
    assert all(visible for _, visible in reached), [h for h, v in reached if not v]
    open_refs = page.locator(".incidents-open tr.incident td:first-child").all_inner_texts()
    assert ref in open_refs
    page.screenshot(path=str(ARTIFACTS / "incidents-list.png"), full_page=True)
    assert violations == []
    context.close()


def test_viewers_see_no_action_buttons(browser, env):
    base = env["base"]
    [inc] = [i for i in env["service"].store.incidents() if i.title == "MilkApiDown"] or [None]
    assert inc is not None, "run with the end-to-end test first (module order)"
    context, page = new_page(browser)
    violations = record_csp_violations(page)
    login(page, base, "/incidents", "vic")
    assert page.locator("#declare").count() == 0
    assert page.locator("main form[method=post]").count() == 0
    page.goto(f"{base}/incidents/{inc.ref}")
    assert page.locator("main form[method=post]").count() == 0 and page.locator("main button").count() == 1
    assert page.locator("main button").inner_text() == "Preview"  # a GET form: previews change nothing
    assert "Severity: SEV-1" in page.locator("#preview-internal pre").inner_text()
    page.goto(base + "/alerts")
    assert page.locator("button.declare-incident").count() == 0
    assert violations == []
    context.close()
