"""vigil.oncall.reach: per-user notification rules, urgency, working hours and every kind of
target, offline (ConfigDirectory) and at run time (LiveDirectory over the state database, on
SQLite and PostgreSQL: rules provisioned from the config and set through the service)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from tests.collect.exporters.conftest import _pg_base  # noqa: F401
from tests.state.conftest import postgres_server, store  # noqa: F401
from vigil.config.loader import load_config_text
from vigil.errors import ConfigError
from vigil.oncall.reach import ConfigDirectory, LiveDirectory, Target, reach, target_of, urgency_of
from vigil.oncall.schedule_config import schedules_by_name
from vigil.oncall.schedules import ScheduleService
from vigil.state.schedule_store import ScheduleStore

CONFIG = """
users:
  - name: ann
    time_zone: Europe/Berlin
    contacts:
      - {kind: email, address: ann@example.org, label: work}
      - {kind: slack_webhook, address: "https://hooks.slack.example/ann"}
      - {kind: phone, address: "+4915112345678"}
    notification_rules:
      high: [{contact: work}, {contact: slack_webhook, after: 2m}, {contact: phone, after: 5m}]
      low: [{contact: work, after: 10m}]
    working_hours:
      - {kind: weekly, start: "mon 09:00", end: "fri 17:00"}
  - name: bob
    contacts: [{kind: email, address: bob@example.org}, {kind: webhook, address: "https://hooks.example/bob"}]
  - name: carl
  - name: dora
    contacts: [{kind: phone, address: "+4915112345679"}, {kind: slack_member, address: U024BE7LH}]
teams:
  - {name: sre, members: [ann, bob]}
  - {name: empty}
schedules:
  - name: primary
    layers:
      - {name: days, users: [bob, ann], turn: 1d, start: 2026-05-04, handoff: "09:00",
         restrictions: [{kind: daily, start: "09:00", end: "21:00"}]}
alerting:
  receivers:
    - {name: default}
    - {name: ops-slack}
    - name: mail   # e-mail pages use its SMTP settings
      email_configs: [{to: ops@example.org, from: vigil@example.org, smarthost: "smtp.example.org:587"}]
"""

MONDAY_NOON = datetime(2026, 5, 4, 10, 0, tzinfo=UTC)  # 12:00 in Berlin; bob's turn
SATURDAY = datetime(2026, 5, 9, 10, 0, tzinfo=UTC)
NIGHT = datetime(2026, 5, 4, 22, 0, tzinfo=UTC)  # outside the daily window: a gap


@pytest.fixture(scope="module")
def directory() -> ConfigDirectory:
    return ConfigDirectory(load_config_text(CONFIG))


def rows(pages):
    return [(p.user, p.kind, p.delay_s, p.sendable) for p in pages]


def test_urgency_from_priority() -> None:
    assert [urgency_of(p) for p in ("P1", "P2", "P3", "P4", None, "P9")] == \
        ["high", "high", "low", "low", "low", "low"]


def test_high_urgency_follows_the_rules_in_order_with_delays(directory) -> None:
    pages = reach(Target("users", ("ann",)), MONDAY_NOON, "high", directory)
    assert rows(pages) == [("ann", "email", 0.0, True), ("ann", "slack_webhook", 120.0, True),
                           ("ann", "phone", 300.0, False)]
    assert "no telephony" in pages[2].problem
    assert pages[0].address == "ann@example.org" and pages[0].via == "user"


def test_low_urgency_inside_and_outside_working_hours(directory) -> None:
    assert rows(reach(Target("users", ("ann",)), MONDAY_NOON, "low", directory)) == \
        [("ann", "email", 600.0, True)]
    held = reach(Target("users", ("ann",)), SATURDAY, "low", directory)
    assert rows(held) == [("ann", "", 0.0, False)]
    assert "working hours" in held[0].problem
    # High urgency ignores working hours.
    assert reach(Target("users", ("ann",)), SATURDAY, "high", directory)[0].sendable


def test_no_rules_means_every_contact_at_once(directory) -> None:
    assert rows(reach(Target("users", ("bob",)), MONDAY_NOON, "high", directory)) == \
        [("bob", "email", 0.0, True), ("bob", "webhook", 0.0, True)]


def test_users_without_usable_contacts_are_reported(directory) -> None:
    pages = reach(Target("users", ("carl", "dora", "nobody")), MONDAY_NOON, "high", directory)
    assert rows(pages) == [("carl", "", 0.0, False), ("dora", "phone", 0.0, False),
                           ("dora", "slack_member", 0.0, False), ("dora", "", 0.0, False),
                           ("nobody", "", 0.0, False)]
    assert pages[0].problem == "the user has no contact method"
    assert "no Slack app" in pages[2].problem
    assert pages[3].problem == "the user has no sendable contact method"
    assert "no user named 'nobody'" in pages[4].problem


def test_email_needs_a_receiver_with_smtp_settings() -> None:
    without = CONFIG[:CONFIG.index("    - name: mail")]
    pages = reach(Target("users", ("bob",)), MONDAY_NOON, "high", ConfigDirectory(load_config_text(without)))
    assert rows(pages) == [("bob", "email", 0.0, False), ("bob", "webhook", 0.0, True)]
    assert "SMTP settings" in pages[0].problem


def test_schedule_team_round_robin_and_receiver(directory) -> None:
    on_call = reach(Target("schedule", ("primary",)), MONDAY_NOON, "high", directory)
    assert {p.user for p in on_call} == {"bob"} and on_call[0].via == "schedule:primary"
    gap = reach(Target("schedule", ("primary",)), NIGHT, "high", directory)
    assert rows(gap) == [(None, "", 0.0, False)] and "nobody is on call for primary" in gap[0].problem
    team = reach(Target("team", ("sre", "empty")), MONDAY_NOON, "high", directory)
    assert [p.user for p in team if p.sendable] == ["ann", "ann", "bob", "bob"]
    assert any("has no members" in p.problem for p in team)
    assert [p.user for p in reach(Target("round_robin", ("ann", "bob"), turn=3), MONDAY_NOON,
                                  "high", directory)][:1] == ["bob"]
    channel = reach(Target("receiver", ("ops-slack", "gone")), MONDAY_NOON, "high", directory)
    assert rows(channel) == [(None, "receiver", 0.0, True), (None, "receiver", 0.0, False)]


def test_targets_of_policy_steps() -> None:
    from vigil.config.escalation import EscalationStep

    def target(**step):
        return target_of(EscalationStep.model_validate(step), turn=1)

    assert target(notify_users=["ann"]) == Target("users", ("ann",))
    assert target(notify_schedule="primary") == Target("schedule", ("primary",))
    assert target(notify_team="sre") == Target("team", ("sre",))
    assert target(notify_round_robin=["ann", "bob"]) == Target("round_robin", ("ann", "bob"), 1)
    assert target(notify_channel="ops") == Target("receiver", ("ops",))
    assert target(wait="1m") is None


def test_a_user_named_twice_is_paged_once(directory) -> None:
    pages = reach(Target("users", ("bob", "bob")), MONDAY_NOON, "high", directory)
    assert len(pages) == 2


def test_rules_must_name_a_contact() -> None:
    bad = CONFIG.replace("{contact: work, after: 10m}", "{contact: pager, after: 10m}")
    with pytest.raises(ConfigError, match=r"notification_rules.low\[0\].contact: .*'pager'"):
        load_config_text(bad)


def test_live_directory_reads_the_database(store, tmp_path) -> None:  # noqa: F811
    config = load_config_text(CONFIG)
    from vigil.access import AccessService, apply_people
    from vigil.access.roles import parse_role
    from vigil.state.access_store import ContactMethod

    access = AccessService(store.access)
    apply_people(access, config.users, config.teams, base_dir=str(tmp_path))
    schedules = ScheduleService(ScheduleStore(store.engine), lambda: schedules_by_name(config.schedules))
    live = LiveDirectory(store.access, schedules, lambda: config)
    # Contacts changed through the API: the config's rules still apply to those that remain.
    access.set_user("ann", actor="t", contacts=[ContactMethod("slack_webhook", "https://h.example/a", "")])
    assert rows(reach(Target("users", ("ann",)), MONDAY_NOON, "high", live)) == \
        [("ann", "slack_webhook", 120.0, True)]
    # An override made at run time is seen.
    schedules.create_override("primary", "ann", MONDAY_NOON, SATURDAY, actor="t")
    assert reach(Target("schedule", ("primary",)), MONDAY_NOON, "high", live)[0].user == "ann"
    # A user only in the database: every contact at once.
    access.add_user("erin", parse_role("viewer"), actor="t")
    access.set_user("erin", actor="t", contacts=[ContactMethod("email", "e@example.org", "")])
    assert rows(reach(Target("team", ("sre",)), MONDAY_NOON, "low", live))[-1] == \
        ("bob", "webhook", 0.0, True)
    assert rows(reach(Target("users", ("erin",)), MONDAY_NOON, "low", live)) == \
        [("erin", "email", 0.0, True)]
    # Rules and working hours set through the API path, validated as the config's.
    access.set_contacts("erin", [{"kind": "email", "address": "e@example.org"},
                                 {"kind": "webhook", "address": "https://h.example/e", "label": "hook"}],
                        actor="admin", notification_rules={"low": [{"contact": "hook", "after": "3m"}]},
                        working_hours=[{"kind": "daily", "start": "09:00", "end": "17:00"}])
    assert rows(reach(Target("users", ("erin",)), MONDAY_NOON, "low", live)) == \
        [("erin", "webhook", 180.0, True)]
    assert "working hours" in reach(Target("users", ("erin",)), NIGHT, "low", live)[0].problem
    with pytest.raises(ValueError, match=r"notification_rules.high.0.contact: .*'pager'"):
        access.set_contacts("erin", None, actor="admin",
                            notification_rules={"high": [{"contact": "pager"}]})
    audit = [(e.action, e.after) for e in access.audit_entries(action="user.notification_rules")
             if e.target == "user:erin"]
    assert audit == [("user.notification_rules", {
        "notification_rules": {"low": [{"contact": "hook", "after": 180.0}]},
        "working_hours": [{"kind": "daily", "start": "09:00", "end": "17:00"}]})]
    # A reload of the config without ann's rules clears them: every contact at once.
    plain = config.model_copy(update={"users": [u.model_copy(update={"notification_rules": {}})
                                                for u in config.users]})
    apply_people(access, plain.users, plain.teams, base_dir=str(tmp_path))
    assert rows(reach(Target("users", ("ann",)), MONDAY_NOON, "high", live)) == \
        [("ann", "email", 0.0, True), ("ann", "slack_webhook", 0.0, True), ("ann", "phone", 0.0, False)]
