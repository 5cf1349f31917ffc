"""The escalation engine with an injected clock over hours, on SQLite and PostgreSQL: levels
reached in order while unacknowledged, stopped by an acknowledgement, repeated, gated by the
time of day and by alert counts, round-robin turns kept in the database, steps missed while
down taken once after a restart, and two replicas paging once."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta, timezone

import pytest

from tests.collect.exporters.conftest import _pg_base, postgres_server  # noqa: F401
from tests.state.conftest import store, two_stores  # noqa: F401
from vigil.config.model import Config
from vigil.model.alert import Alert
from vigil.model.labels import Labels
from vigil.oncall.escalation import Escalation
from vigil.oncall.lifecycle import FiringGroup
from vigil.oncall.reach import ConfigDirectory
from vigil.selfmetrics import SelfMetrics
from vigil.state import Store
from vigil.state.escalation_store import EscalationStore
from vigil.state.lifecycle_store import LifecycleStore

PEOPLE = ("ann", "bob", "carl", "dora")


def _config(*policies: dict, users: list[dict] | None = None) -> Config:
    given = {u["name"]: u for u in users or ()}
    return Config.model_validate({
        "users": [given.get(n) or {"name": n, "contacts": [{"kind": "webhook", "address": f"http://hooks.test/{n}"}]}
                  for n in PEOPLE],
        "teams": [{"name": "sre", "members": ["bob", "carl"]}],
        "schedules": [{"name": "primary", "layers": [
            {"name": "weekly", "users": ["dora"], "turn": "1w", "start": "2026-01-05", "handoff": "09:00"}]}],
        "alerting": {"route": {"receiver": "ops", "escalation_policy": policies[0]["name"]},
                     "receivers": [{"name": "ops", "webhook_configs": [{"url": "http://ops.test/"}]}]},
        "escalation_policies": list(policies),
    })


RUNBOOK = {"name": "runbook", "steps": [
    {"notify_schedule": "primary"}, {"wait": "5m"},
    {"notify_users": ["ann"]}, {"wait": "15m"},
    {"notify_team": "sre"}]}


class Clock:
    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def at(self, **delta: float) -> Clock:
        self.now = self.start + timedelta(**delta)
        return self


def _engine(s: Store, config: Config, clock, *, member: str = "m1", groups=(), metrics=None) -> Escalation:
    return Escalation(LifecycleStore(s.engine), EscalationStore(s.engine), lambda: config,
                      ConfigDirectory(config), lambda: list(groups), lambda: {}, member_id=member,
                      metrics=metrics, clock=clock)


def _open(s: Store, name: str = "DiskFull", priority: str = "P1"):
    ep = LifecycleStore(s.engine).open(f'{{}}:{{alertname="{name}"}}', receiver="ops",
                                        group_labels={"alertname": name}, priority=priority, deadline_s=300)
    assert ep is not None
    return ep


def _paged(s: Store, episode_id: str) -> list[str]:
    """Who was paged for the episode, oldest first (the webhook URL's last part)."""
    entries = [e for e in s.outbox_list(1000) if e.group_key == f"esc:{episode_id}"]
    return [e.payload["url"].rsplit("/", 1)[1] for e in sorted(entries, key=lambda e: e.id)]


def _clock(ep) -> Clock:
    c = Clock(ep.opened_at)
    c.start = ep.opened_at
    return c


def test_unacknowledged_p1_reaches_l2_then_l3_and_an_acknowledged_one_stops(store):  # noqa: F811
    metrics = SelfMetrics()
    config = _config(RUNBOOK)
    ep = _open(store)
    clock = _clock(ep)
    esc = _engine(store, config, clock, metrics=metrics)
    esc.tick()
    assert _paged(store, ep.id) == ["dora"]  # L1: the schedule's on-call, at once
    status = esc.status(LifecycleStore(store.engine).get(ep.id))
    assert (status.policy, status.level, status.next_step.level) == ("runbook", 1, 2)
    assert status.next_step.due_at == ep.opened_at + timedelta(minutes=5)
    esc.tick()
    clock.at(minutes=4, seconds=59)
    esc.tick()
    assert _paged(store, ep.id) == ["dora"]
    clock.at(minutes=5)
    esc.tick()
    assert _paged(store, ep.id) == ["dora", "ann"]  # L2
    clock.at(hours=3)
    esc.tick()
    esc.tick()
    assert _paged(store, ep.id) == ["dora", "ann", "bob", "carl"]  # L3: the team, once
    status = esc.status(LifecycleStore(store.engine).get(ep.id))
    assert (status.level, status.next_step, status.stopped) == (3, None, "finished")
    events = [e for e in LifecycleStore(store.engine).events(ep.id) if e.kind == "escalation"]
    assert [(e.detail["level"], [p["user"] for p in e.detail["paged"]]) for e in events] == [
        (1, ["dora"]), (2, ["ann"]), (3, ["bob", "carl"])]
    for level in ("1", "2", "3"):
        assert metrics.registry.get_sample_value(
            "vigil_oncall_escalations_total", {"policy": "runbook", "level": level}) == 1.0

    # Another episode, acknowledged after L1: nothing more is sent, even hours later.
    other = _open(store, "Down")
    clock2 = _clock(other)
    esc2 = _engine(store, config, clock2)
    esc2.tick()
    LifecycleStore(store.engine).acknowledge(other.id, actor="dora", via="api")
    clock2.at(hours=5)
    esc2.tick()
    assert _paged(store, other.id) == ["dora"]
    assert esc2.status(LifecycleStore(store.engine).get(other.id)).stopped == "acknowledged"


def test_ack_drops_delayed_contacts_and_unack_starts_the_policy_again(store):  # noqa: F811
    users = [{"name": "ann", "contacts": [
        {"kind": "webhook", "address": "http://hooks.test/ann-now", "label": "now"},
        {"kind": "slack_webhook", "address": "http://hooks.test/ann-later", "label": "later"}],
        "notification_rules": {"high": [{"contact": "now"}, {"contact": "later", "after": "2m"}]}}]
    config = _config({"name": "p", "steps": [{"notify_users": ["ann"]}, {"wait": "10m"},
                                             {"notify_users": ["ann"]}]}, users=users)
    ep = _open(store)
    clock = _clock(ep)
    esc = _engine(store, config, clock)
    esc.tick()
    pending = [e for e in store.outbox_list(100, status="pending") if e.group_key == f"esc:{ep.id}"]
    assert sorted(e.payload["url"] for e in pending) == ["http://hooks.test/ann-later", "http://hooks.test/ann-now"]
    later = next(e for e in pending if e.payload["url"].endswith("later"))
    assert later.next_attempt_at - later.created_at == timedelta(minutes=2)
    assert "text" in later.payload["body"]  # a Slack message
    life = LifecycleStore(store.engine)
    life.acknowledge(ep.id, actor="ann", via="api")
    esc.tick()
    # The contact due later is dropped at the acknowledgement (nothing had claimed it).
    assert not [e for e in store.outbox_list(100, status="pending") if e.group_key == f"esc:{ep.id}"]
    life.unacknowledge(ep.id, actor="ann", via="api")
    unacked_at = next(e.at for e in life.events(ep.id) if e.kind == "unacknowledged")
    clock.now = unacked_at  # the policy starts again from its first step
    esc.tick()
    assert len(_paged(store, ep.id)) == 4
    status = esc.status(life.get(ep.id))
    assert status.run == 1 and status.next_step.due_at == unacked_at + timedelta(minutes=10)


def test_repeat_runs_the_steps_again_while_unacknowledged(store):  # noqa: F811
    config = _config({"name": "p", "repeat": 2, "steps": [{"notify_users": ["ann"]}, {"wait": "10m"}]})
    ep = _open(store)
    clock = _clock(ep)
    esc = _engine(store, config, clock)
    for minutes, expected in ((0, 1), (9, 1), (10, 2), (20, 3), (30, 3), (600, 3)):
        clock.at(minutes=minutes)
        esc.tick()
        assert len(_paged(store, ep.id)) == expected, minutes


def test_time_of_day_condition_gates_the_following_steps(store):  # noqa: F811
    ep = _open(store)
    hour = ep.opened_at.astimezone(timezone.utc).hour
    window = {"from": f"{(hour + 1) % 24:02d}:00", "to": f"{(hour + 2) % 24:02d}:00", "time_zone": "UTC"}
    config = _config({"name": "p", "repeat": 1, "steps": [
        {"if_time": window}, {"notify_users": ["ann"]}, {"wait": "1h"}]})
    clock = _clock(ep)
    esc = _engine(store, config, clock)
    esc.tick()
    assert _paged(store, ep.id) == []  # outside the window: the rest of the cycle is skipped
    clock.at(minutes=59)
    esc.tick()
    assert _paged(store, ep.id) == []
    clock.at(hours=1)
    esc.tick()
    assert _paged(store, ep.id) == ["ann"]  # the second cycle is inside it
    decided = [e.detail["holds"] for e in LifecycleStore(store.engine).events(ep.id)
               if e.kind == "escalation" and e.detail["kind"] == "if_time"]
    assert decided == [False, True]


def _alerts(n: int, start: datetime, name: str) -> FiringGroup:
    alerts = tuple(Alert(Labels({"alertname": name, "i": str(i)}), Labels(), start + timedelta(minutes=i),
                         None, "", updated_at=start) for i in range(n))
    return FiringGroup(f'{{}}:{{alertname="{name}"}}', "ops", Labels({"alertname": name}), alerts, True)


def test_more_than_n_alerts_in_m_minutes(store):  # noqa: F811
    config = _config({"name": "p", "steps": [
        {"if_alerts": {"more_than": 2, "within": "10m"}}, {"notify_users": ["bob"]}]})
    quiet, busy = _open(store, "Quiet"), _open(store, "Busy")
    start = quiet.opened_at - timedelta(minutes=5)
    groups = [_alerts(2, start, "Quiet"), _alerts(3, start, "Busy"),
              _alerts(5, start - timedelta(hours=1), "Old")]  # another group's alerts do not count
    clock = Clock(busy.opened_at)
    esc = _engine(store, config, clock, groups=groups)
    esc.tick()
    assert (_paged(store, quiet.id), _paged(store, busy.id)) == ([], ["bob"])
    # Counted over the receiver: 2 + 3 (the old group's alerts are outside the 10 minutes).
    receiver = _config({"name": "p", "steps": [
        {"if_alerts": {"more_than": 4, "within": "10m", "of": "receiver"}}, {"notify_users": ["carl"]}]})
    third = _open(store, "Third")
    _engine(store, receiver, Clock(third.opened_at), groups=groups).tick()
    assert _paged(store, third.id) == ["carl"]


def test_round_robin_turns_persist_across_restarts(store):  # noqa: F811
    config = _config({"name": "rr", "steps": [{"notify_round_robin": ["ann", "bob", "carl"]}]})
    first = _open(store, "A")
    _engine(store, config, _clock(first)).tick()
    second = _open(store, "B")
    _engine(store, config, _clock(second)).tick()  # a new engine: a restart
    third, fourth = _open(store, "C"), _open(store, "D")
    _engine(store, config, _clock(fourth)).tick()
    assert [_paged(store, e.id) for e in (first, second, third, fourth)] == [["ann"], ["bob"], ["carl"], ["ann"]]
    assert EscalationStore(store.engine).turn("rr", 0) == 4


def test_steps_due_while_down_fire_once_after_a_restart(store):  # noqa: F811
    config = _config(RUNBOOK)
    ep = _open(store)
    clock = _clock(ep)
    _engine(store, config, clock).tick()
    clock.at(minutes=30)  # Vigil was down from just after L1 until now
    restarted = _engine(store, config, clock, member="m2")
    restarted.tick()
    restarted.tick()
    _engine(store, config, clock, member="m3").tick()
    assert _paged(store, ep.id) == ["dora", "ann", "bob", "carl"]


def test_two_replicas_page_each_step_once(two_stores):  # noqa: F811
    a, b = two_stores
    config = _config({"name": "p", "repeat": 3, "steps": [
        {"notify_users": ["ann"]}, {"wait": "1m"}, {"notify_round_robin": ["bob", "carl"]}, {"wait": "1m"}]})
    episodes = [_open(a, f"G{i}") for i in range(4)]
    clock = Clock(episodes[0].opened_at)
    engines = [_engine(s, config, clock, member=f"r{i}") for i, s in enumerate((a, b))]
    for minutes in range(0, 10):
        clock.now = episodes[0].opened_at + timedelta(minutes=minutes, seconds=1)
        threads = [threading.Thread(target=e.tick) for e in engines]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    for ep in episodes:
        paged = _paged(a, ep.id)
        assert len(paged) == 8 and paged.count("ann") == 4, paged  # 4 cycles of 2 steps, each once
    assert EscalationStore(a.engine).turn("p", 2) == 16  # every round-robin page turned once


@pytest.mark.parametrize(("step", "message"), [
    ({"notify_users": ["zed"]}, "escalation_policies[0].steps[0].notify_users[0]: policy 'p': user 'zed' is not"),
    ({"notify_team": "ops"}, "steps[0].notify_team: policy 'p': team 'ops' is not in the teams section"),
    ({"notify_schedule": "night"}, "steps[0].notify_schedule: policy 'p': unknown schedule 'night'"),
    ({"notify_channel": "pager"}, "steps[0].notify_channel: policy 'p': unknown receiver 'pager'"),
    ({"wait": "0s"}, "steps[0].wait: a wait must be between 1s and 24h"),
    ({"wait": "2d"}, "steps[0].wait: a wait must be between 1s and 24h"),
    ({"declare_incident": {}}, "steps[0].declare_incident.severity: required field is missing"),
    ({"declare_incident": {"severity": 1, "title": "{{ .GroupLabels"}}, "declare_incident.title: template: "),
    ({"notify_users": ["ann"], "wait": "1m"}, "a step has exactly one of"),
])
def test_config_errors_name_the_place(tmp_path, step, message):
    from vigil.config import load_config
    from vigil.errors import ConfigError
    path = tmp_path / "vigil.yml"
    path.write_text(
        "users: [{name: ann}]\nteams: [{name: sre, members: [ann]}]\n"
        "alerting:\n  route: {receiver: ops}\n  receivers: [{name: ops}]\n"
        "escalation_policies:\n  - name: p\n    steps:\n      - " + repr(step).replace("'", '"') + "\n")
    with pytest.raises(ConfigError) as err:
        load_config(str(path))
    assert f"{path}:9:" in str(err.value) and message in str(err.value)


def test_a_route_naming_an_unknown_policy_is_refused(tmp_path):
    from vigil.config import load_config
    from vigil.errors import ConfigError
    path = tmp_path / "vigil.yml"
    path.write_text("alerting:\n  route:\n    receiver: ops\n    routes:\n      - receiver: ops\n"
                    "        escalation_policy: nightly\n  receivers: [{name: ops}]\n")
    with pytest.raises(ConfigError, match=r"vigil.yml:6:9: alerting.route.routes\[0\].escalation_policy: "
                                          "route refers to undefined escalation policy 'nightly'"):
        load_config(str(path))


def test_an_acknowledgement_while_a_step_is_prepared_wins(store):  # noqa: F811
    """The episode's state is checked again inside the transaction that takes the step."""
    config = _config(RUNBOOK)
    ep = _open(store)
    life = LifecycleStore(store.engine)

    class AckingDirectory(ConfigDirectory):
        def person(self, name: str):
            if life.get(ep.id).state == "open":
                life.acknowledge(ep.id, actor=name, via="api")  # lands between the read and the take
            return super().person(name)

    clock = _clock(ep)
    esc = Escalation(life, EscalationStore(store.engine), lambda: config, AckingDirectory(config),
                     lambda: [], lambda: {}, clock=clock)
    assert esc.tick() == []
    assert _paged(store, ep.id) == [] and EscalationStore(store.engine).taken_steps(ep.id) == {}


def test_the_shipped_runbook_example_runs(tmp_path):
    """vigil/oncall/examples/runbook-oncall.yml: a P1 reaches L1, L2 at 5 min, L3 at 15, and
    the whole policy once more at 30 min; its pages go out as Slack webhooks and e-mail."""
    from importlib import resources

    from vigil.alerting.dispatch.aggrgroup import group_key
    from vigil.alerting.dispatch.route import build_routes
    from vigil.config import load_config

    config = load_config(str(resources.files("vigil.oncall") / "examples" / "runbook-oncall.yml"))
    s = Store.open_in(str(tmp_path))
    labels = Labels({"alertname": "ServiceDown", "service": "api", "priority": "P1"})
    route = build_routes(config.alerting.route).match(labels)[0]
    ep = LifecycleStore(s.engine).open(group_key(route, route.group_labels(labels)), receiver="ops-slack",
                                       group_labels=route.group_labels(labels).to_dict(), priority="P1",
                                       deadline_s=300)
    clock = _clock(ep)
    esc = _engine(s, config, clock)
    assert esc.policy_for(ep.group_key).name == "runbook-p1"
    for minutes in (0, 4, 5, 14, 15, 29, 30, 35, 45, 600):
        clock.at(minutes=minutes)
        esc.tick()
    levels = [(e.detail["cycle"], e.detail["level"]) for e in LifecycleStore(s.engine).events(ep.id)
              if e.kind == "escalation"]
    assert levels == [(0, 1), (0, 2), (0, 3), (1, 1), (1, 2), (1, 3)]
    kinds = {(e.receiver, e.integration) for e in s.outbox_list(100) if e.group_key == f"esc:{ep.id}"}
    assert kinds == {("@oncall", "http"), ("@oncall", "email")}
    s.close()


def test_webhook_and_channel_steps_queue_their_deliveries(store):  # noqa: F811
    from vigil.alerting.notify.integration import Webhook
    from vigil.config.model import WebhookConfig

    config = _config({"name": "p", "steps": [{"webhook": {"url": "http://pager.test/in"}},
                                             {"notify_channel": "ops"}]})
    ep = _open(store)
    group = _alerts(2, ep.opened_at, "DiskFull")
    ops = {("ops", "webhook/0"): Webhook("webhook/0", WebhookConfig(url="http://ops.test/"))}
    esc = Escalation(LifecycleStore(store.engine), EscalationStore(store.engine), lambda: config,
                     ConfigDirectory(config), lambda: [group], lambda: ops, clock=_clock(ep))
    esc.tick()
    entries = sorted((e for e in store.outbox_list(100) if e.group_key == f"esc:{ep.id}"), key=lambda e: e.id)
    assert [(e.receiver, e.integration) for e in entries] == [("@oncall", "http"), ("ops", "webhook/0")]
    hook = entries[0].payload
    assert hook["url"] == "http://pager.test/in"
    assert (hook["body"]["kind"], hook["body"]["step_kind"], hook["body"]["policy"], hook["body"]["level"]) == (
        "vigil.escalation", "webhook", "p", 1)
    assert hook["body"]["episode"]["id"] == ep.id and hook["body"]["episode"]["priority"] == "P1"
    channel = entries[1].payload  # the receiver's own format (Alertmanager's webhook body)
    assert channel["receiver"] == "ops" and len(channel["alerts"]) == 2
