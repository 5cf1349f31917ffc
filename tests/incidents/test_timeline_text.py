"""The timeline says in words what each response and review action did: the checklist's tasks,
communications and their public update, action items. The exports, the page and the
post-mortem all use these lines, so "Communication" alone would tell a reader nothing."""

from __future__ import annotations

import re

from vigil.incidents.timeline_export import describe, export
from vigil.state import Store
from vigil.state.action_item_store import ActionItemStore
from vigil.state.incident_response_store import IncidentResponseStore
from vigil.state.incident_store import IncidentStore


def test_response_and_review_events_are_told_in_words(tmp_path) -> None:
    store = Store.open_in(str(tmp_path))
    incidents = IncidentStore(store.engine)
    inc, _ = incidents.declare(title="Milk API down", severity=1, actor="ann", via="api",
                               update_interval_s=1800)
    response = IncidentResponseStore(store.engine)
    response.set_task(inc.id, "dns", done=True, actor="carl", via="ui", note="resolvers answer",
                      detail={"title": "Check DNS resolution", "phase": "T+0:05"})
    response.send(inc.id, kind="external", subject="Smart Dairy status: Milk API down",
                  body="We are currently investigating issues affecting Milk API.", receivers=["status-mail"],
                  notifications=[], actor="ann", via="ui", next_update_at=None)
    ActionItemStore(store.engine).add(inc.ref, title="Canary deploys", actor="carl", via="cli", owner="carl")
    lines = {e.kind: describe(e) for e in incidents.events(inc.id)}
    assert lines["task_done"] == "Task done: Check DNS resolution — resolvers answer"
    assert lines["communication"] == ("External communication sent to status-mail: "
                                      "Smart Dairy status: Milk API down")
    assert lines["public_update"] == ("Public update (investigating): We are currently investigating "
                                      "issues affecting Milk API.")
    assert re.fullmatch(r"Action item #\d+ added: Canary deploys", lines["action_item"])
    markdown, _ = export("markdown", inc, incidents.events(inc.id))
    assert "| carl | Task done: Check DNS resolution — resolvers answer |" in markdown
    store.close()
