"""Silences: Alertmanager's create/update/expire rules, audit trail, persistence, muting."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.alerting.harness import T0, alert, webhook_harness
from tests.support.webhook import WebhookReceiver
from vigil.alerting.silence import SilenceError, SilenceInput, SilenceNotFound, Silences
from vigil.model import Labels, Matcher
from vigil.model.matchers import MatchType
from vigil.state import Store


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self):
        return self.now


def request(start_offset_s: float = 0, hours: float = 2, **kw) -> SilenceInput:
    fields = dict(matchers=(Matcher(MatchType.EQUAL, "alertname", "HighCPU"),),
                  starts_at=T0 + timedelta(seconds=start_offset_s),
                  ends_at=T0 + timedelta(seconds=start_offset_s, hours=hours),
                  created_by="alice", comment="maintenance of db-1")
    fields.update(kw)
    return SilenceInput(**fields)


@pytest.fixture
def silences(tmp_path):
    return Silences(Store.open_in(str(tmp_path)), clock=Clock())


def test_active_silence_mutes_matching_labels_only(silences):
    sid = silences.set(request())
    assert silences.get(sid).state(T0) == "active"
    assert silences.silenced_by(Labels({"alertname": "HighCPU", "instance": "a"})) == [sid]
    assert silences.silenced_by(Labels({"alertname": "DiskFull"})) == []


def test_regex_and_negative_matchers(silences):
    sid = silences.set(request(matchers=(Matcher(MatchType.REGEX, "instance", "db-.*"),
                                         Matcher(MatchType.NOT_EQUAL, "env", "prod"))))
    assert silences.silenced_by(Labels({"instance": "db-1", "env": "staging"})) == [sid]
    assert silences.silenced_by(Labels({"instance": "db-1", "env": "prod"})) == []
    assert silences.silenced_by(Labels({"instance": "web-1"})) == []


@pytest.mark.parametrize("kw,message", [
    ({"matchers": ()}, "at least one matcher"),
    ({"matchers": (Matcher(MatchType.REGEX, "a", ".*"),)}, "must not match the empty string"),
    ({"ends_at": T0 - timedelta(hours=1)}, "end time must not be before start time"),
    ({"created_by": " "}, "createdBy"),
    ({"comment": ""}, "comment"),
])
def test_invalid_silences_are_refused(silences, kw, message):
    with pytest.raises(SilenceError, match=message):
        silences.set(request(**kw))


def test_extending_an_active_silence_updates_in_place(silences):
    sid = silences.set(request())
    silences.clock.now += timedelta(minutes=10)
    same = silences.set(request(id=sid, hours=4))
    assert same == sid
    assert silences.get(sid).ends_at == T0 + timedelta(hours=4)


def test_changing_matchers_expires_the_old_and_creates_a_new_silence(silences):
    sid = silences.set(request())
    silences.clock.now += timedelta(minutes=10)
    new = silences.set(request(id=sid, matchers=(Matcher(MatchType.EQUAL, "alertname", "DiskFull"),)))
    assert new != sid
    assert silences.get(sid).state(silences.clock.now) == "expired"
    assert silences.get(new).state(silences.clock.now) == "active"


def test_unknown_id_and_double_expiry(silences):
    with pytest.raises(SilenceNotFound):
        silences.set(request(id="nope"))
    sid = silences.set(request())
    silences.expire(sid, author="bob", comment="done early")
    with pytest.raises(SilenceError, match="already expired"):
        silences.expire(sid)


def test_pending_silence_becomes_active_at_its_start(silences):
    sid = silences.set(request(start_offset_s=3600))
    labels = Labels({"alertname": "HighCPU"})
    assert silences.get(sid).state(T0) == "pending" and silences.silenced_by(labels) == []
    silences.clock.now += timedelta(hours=1, seconds=1)
    assert silences.silenced_by(labels) == [sid]


def test_silences_survive_restart_with_an_audit_trail(tmp_path):
    store = Store.open_in(str(tmp_path))
    first = Silences(store, clock=Clock())
    sid = first.set(request())
    first.clock.now += timedelta(minutes=5)
    first.set(request(id=sid, hours=3, created_by="bob", comment="extend"))
    first.expire(sid, author="carol", comment="fixed")
    again = Silences(Store.open_in(str(tmp_path)), clock=Clock())
    assert again.get(sid).ends_at == T0 + timedelta(minutes=5)
    events = store.silence_events(sid)
    assert [(e["action"], e["author"], e["comment"]) for e in events] == [
        ("create", "alice", "maintenance of db-1"), ("update", "bob", "extend"), ("expire", "carol", "fixed")]


def test_silenced_alert_is_not_notified_and_is_after_expiry(tmp_path):
    with WebhookReceiver() as hook:
        h = webhook_harness(tmp_path, hook.url)
        silences = Silences(h.store, clock=h.clock)
        h.dispatcher.silencer = silences
        sid = silences.set(request())
        h.dispatcher.put([alert("HighCPU", "a", T0), alert("DiskFull", "a", T0)])
        h.clock.advance(31)
        h.tick()
        assert [b["groupLabels"]["alertname"] for b in hook.received] == ["DiskFull"]
        silences.expire(sid, author="alice")
        h.clock.advance(300)
        h.tick()
        assert sorted(b["groupLabels"]["alertname"] for b in hook.received) == ["DiskFull", "HighCPU"]
