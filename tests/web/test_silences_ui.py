"""Silences and notifications pages, over the real silencer and outbox."""

from __future__ import annotations

import dataclasses
import time
from datetime import datetime, timezone

import pytest
from starlette.testclient import TestClient

from tests.web.fakes import make_deps
from tests.web.real_alerting import real_alerting
from vigil.web import create_app


@pytest.fixture
def setup(tmp_path):
    alerting = real_alerting(tmp_path)
    deps = dataclasses.replace(make_deps(), alerting=alerting, now=time.time)
    return alerting, TestClient(create_app(deps))


def test_create_list_and_expire_a_silence(setup):
    alerting, client = setup
    resp = client.post("/silences", data={"matchers": 'alertname="HighCPU", instance=~"web-.*"',
                                          "duration": "2h", "author": "alice",
                                          "comment": "kernel upgrade"}, follow_redirects=False)
    assert resp.status_code == 303
    [silence] = alerting.silences.list()
    assert silence.created_by == "alice" and len(silence.matchers) == 2
    html = client.get("/silences").text
    active = html[html.index("silences-active"):html.index("silences-pending")]
    assert f'id="silence-{silence.id}"' in active and "kernel upgrade" in active
    assert client.post(f"/silences/{silence.id}/expire", follow_redirects=False).status_code == 303
    html = client.get("/silences").text
    assert f'id="silence-{silence.id}"' in html[html.index("silences-expired"):]
    events = alerting.dispatcher.store.silence_events(silence.id)
    assert [e["action"] for e in events] == ["create", "expire"]


@pytest.mark.parametrize("form,message", [
    ({"matchers": "alertname=~(", "duration": "1h", "author": "a", "comment": "c"}, "regular expression"),
    ({"matchers": "alertname=X", "duration": "soon", "author": "a", "comment": "c"}, "not a valid duration"),
    ({"matchers": "alertname=X", "duration": "1h", "author": "a", "comment": ""}, "comment"),
])
def test_bad_silence_form_is_refused_and_kept(setup, form, message):
    alerting, client = setup
    resp = client.post("/silences", data=form)
    assert resp.status_code == 400 and message in resp.text
    assert f'value="{form["author"]}"' in resp.text  # what was typed is still there
    assert alerting.silences.list() == []


def test_notifications_page_shows_dead_letters_with_their_error(setup):
    alerting, client = setup
    store = alerting.dispatcher.store
    now = datetime.now(timezone.utc)
    store.outbox_add(group_key='{}:{alertname="A"}', receiver="ops", integration="webhook/0",
                     payload={}, firing=["f1"], resolved=[], now=now)
    [entry] = store.outbox_list()
    store.outbox_failed(entry, "POST http://hook: HTTP 400: bad payload", retry_at=None)
    html = client.get("/notifications").text
    assert "1 dead-lettered" in html and "HTTP 400: bad payload" in html
    assert "notification-dead" in client.get("/notifications?status=dead").text
    assert "No notifications sent" in client.get("/notifications?status=sent").text


def test_alerts_page_offers_a_prefilled_silence(client):
    html = client.get("/alerts").text
    assert 'href="/silences?matchers=alertname%3D%22InstanceDown%22' in html
