"""``vigil oncall simulate`` and ``vigil oncall lint``: the shipped runbook example (check,
lint clean, simulate P1/P2/P3 with the people and times), conditions, repeats and round-robin
turns, each kind of lint finding with its file:line, and the exit statuses."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from vigil.cli import cli

runner = CliRunner()
EXAMPLE = str(Path(__file__).parents[2] / "vigil" / "oncall" / "examples" / "runbook-oncall.yml")
WEDNESDAY_NOON = "2026-05-06T12:00:00Z"  # the 18th week of the rotas: carl (L1), erik (L2), nils (L3)


def run(*args: str):
    return runner.invoke(cli, list(args))


def simulate_json(*args: str, config: str = EXAMPLE, code: int = 0) -> dict:
    result = run("oncall", "simulate", *args, "--config", config, "--json")
    assert result.exit_code == code, result.output
    return json.loads(result.stdout)


def steps(route: dict) -> list[tuple]:
    return [(s["cycle"], s["step"], s["level"], s["offset"], s["outcome"],
             [(p["user"], p["kind"], p["after"]) for p in s["pages"] if p["sendable"]])
            for s in route["steps"]]


def test_the_example_passes_check_and_lint() -> None:
    checked = run("check", "config", EXAMPLE)
    assert checked.exit_code == 0, checked.output
    linted = run("oncall", "lint", "--config", EXAMPLE, "--at", WEDNESDAY_NOON)
    assert (linted.exit_code, linted.stdout.strip()) == (0, "no findings")


def test_simulate_p1_climbs_l1_l2_l3_twice() -> None:
    out = simulate_json("alertname=ServiceDown", "priority=P1", "--at", WEDNESDAY_NOON)
    assert (out["priority"], out["urgency"], out["overrides_included"]) == ("P1", "high", False)
    [route] = out["routes"]
    assert (route["route"], route["receiver"], route["escalation_policy"]) == \
        ("alerting.route.routes[0]", "ops-slack", "runbook-p1")
    l1 = [("carl", "slack_webhook", 0.0), ("carl", "email", 120.0)]
    l2 = [("erik", "email", 0.0), ("erik", "slack_webhook", 120.0)]
    l3 = [("nils", "email", 0.0)]
    assert steps(route) == [
        (1, 1, 1, 0.0, "notify", l1), (1, 3, 2, 300.0, "notify", l2), (1, 5, 3, 900.0, "notify", l3),
        (2, 1, 1, 1800.0, "notify", l1), (2, 3, 2, 2100.0, "notify", l2), (2, 5, 3, 2700.0, "notify", l3)]
    assert route["steps"][1]["at"] == "2026-05-06T12:05:00Z"


def test_simulate_p2_and_unlabelled_alerts_take_their_policies() -> None:
    out = simulate_json("alertname=Slow", "priority=P2", "--at", WEDNESDAY_NOON)
    assert (out["priority"], out["urgency"]) == ("P2", "high")
    p2 = out["routes"][0]
    assert p2["escalation_policy"] == "runbook-p2"
    # High urgency: carl's Slack first, his e-mail 2 minutes later.
    assert [(p["kind"], p["after"]) for p in p2["steps"][0]["pages"]] == [("slack_webhook", 0.0), ("email", 120.0)]
    assert [(s["level"], s["offset"]) for s in p2["steps"]] == [(1, 0.0), (2, 900.0), (3, 1800.0)]
    # No priority label: the default P3, low urgency: ann gets e-mail only; dora has no low
    # rules, so every contact method at once.
    p3 = simulate_json("alertname=DiskFull", "--at", "2026-05-13T12:00:00Z")
    assert (p3["priority"], p3["urgency"]) == ("P3", "low")
    assert steps(p3["routes"][0]) == [
        (1, 1, 1, 0.0, "notify", [("ann", "email", 0.0)]),
        (1, 3, 2, 3600.0, "notify", [("dora", "email", 0.0), ("dora", "slack_webhook", 0.0)])]


def test_simulate_text_output_and_phone_reported() -> None:
    # The 19th week: maria is L3; her phone is shown as not sent.
    result = run("oncall", "simulate", "alertname=ServiceDown", "priority=P1",
                 "--at", "2026-05-13T12:00:00Z", "--config", EXAMPLE)
    assert result.exit_code == 0, result.output
    assert "overrides made at run time are not included" in result.stdout
    assert "+0:15:00  2026-05-13T12:15:00Z  cycle 1 step 5 (level 3): notify_schedule l3-management" \
        in result.stdout
    assert "NOT SENT maria via phone +358401234567 after 0s" in result.stdout
    # Slack and webhook URLs carry their credentials in the path: only the host is shown.
    assert "via slack_webhook https://hooks.slack.com/… after" in result.stdout
    assert "/services/" not in result.stdout


CONDITIONS = """
users:
  - {name: ann, contacts: [{kind: email, address: ann@example.org}]}
  - {name: bob, contacts: [{kind: email, address: bob@example.org}]}
  - {name: carl, contacts: [{kind: phone, address: "+4915112345678"}]}
escalation_policies:
  - name: p
    repeat: 1
    steps:
      - notify_round_robin: [ann, bob]
      - wait: 10m
      - if_time: {from: "08:00", to: "12:05", time_zone: UTC}
      - notify_users: [bob]
      - if_alerts: {more_than: 2, within: 10m}
      - notify_users: [carl]
alerting:
  route: {receiver: default, escalation_policy: p}
  receivers:
    - {name: default}
    - {name: mail, email_configs: [{to: a@example.org, from: v@example.org, smarthost: "smtp.example.org:25"}]}
"""


@pytest.fixture()
def conditions(tmp_path) -> str:
    path = tmp_path / "vigil.yml"
    path.write_text(CONDITIONS)
    return str(path)


def test_conditions_at_their_time_repeats_and_round_robin(conditions) -> None:
    out = simulate_json("alertname=A", "--at", "2026-05-06T11:50:00Z", config=conditions)
    route = out["routes"][0]
    assert [(s["cycle"], s["kind"], s["outcome"]) for s in route["steps"]] == [
        (1, "notify_round_robin", "notify"), (1, "if_time", "condition holds"),
        (1, "notify_users", "notify"), (1, "if_alerts", "condition does not hold"),
        (1, "notify_users", "skipped"),
        # The second cycle starts 10 minutes later: past 12:05, the time condition fails.
        (2, "notify_round_robin", "notify"), (2, "if_time", "condition does not hold"),
        (2, "notify_users", "skipped"), (2, "if_alerts", "skipped"), (2, "notify_users", "skipped")]
    assert [s["pages"][0]["user"] for s in route["steps"] if s["kind"] == "notify_round_robin"] == \
        ["ann", "bob"]


def test_a_step_reaching_nobody_exits_1(conditions) -> None:
    out = simulate_json("alertname=A", "--alerts", "3", "--at", "2026-05-06T11:50:00Z",
                        config=conditions, code=1)
    carl = out["routes"][0]["steps"][4]
    assert (carl["outcome"], carl["reaches_nobody"]) == ("notify", True)
    assert [p["problem"] for p in carl["pages"]][-1] == "the user has no sendable contact method"
    text = run("oncall", "simulate", "alertname=A", "--alerts", "3", "--at", "2026-05-06T11:50:00Z",
               "--config", conditions)
    assert text.exit_code == 1 and "FINDING: this step reaches nobody" in text.stdout


def test_simulate_bad_usage_exits_2(conditions, tmp_path) -> None:
    assert run("oncall", "simulate", "not-a-label", "--config", conditions).exit_code == 2
    assert run("oncall", "simulate", "a=b", "--at", "yesterday", "--config", conditions).exit_code == 2
    bad = tmp_path / "bad.yml"
    bad.write_text(CONDITIONS.replace("escalation_policy: p}", "escalation_policy: q}"))
    result = run("oncall", "simulate", "a=b", "--config", str(bad))
    assert result.exit_code == 2
    assert f"{bad}:17:30: alerting.route.escalation_policy:" in result.stderr and "undefined escalation policy 'q'" in result.stderr


LINT = """\
users:
  - {name: ann, contacts: [{kind: email, address: ann@example.org}]}
  - name: bob
  - {name: carl, contacts: [{kind: phone, address: "+4915112345678"}]}
teams:
  - {name: empty}
schedules:
  - name: days
    layers:
      - {name: d, users: [ann, carl], turn: 1d, start: 2026-05-04, handoff: "09:00",
         restrictions: [{kind: daily, start: "09:00", end: "17:00"}]}
escalation_policies:
  - name: used
    steps:
      - notify_schedule: days
      - notify_team: empty
      - notify_users: [bob, carl]
      - notify_users: [ann, bob]
  - name: spare
    steps:
      - notify_users: [ann]
alerting:
  route: {receiver: default, escalation_policy: used}
  receivers:
    - {name: default}
    - {name: mail, email_configs: [{to: a@example.org, from: v@example.org, smarthost: "smtp.example.org:25"}]}
"""


def test_lint_findings_with_their_place(tmp_path) -> None:
    path = tmp_path / "vigil.yml"
    path.write_text(LINT)
    result = run("oncall", "lint", "--config", str(path), "--at", "2026-05-06T12:00:00Z", "--json")
    assert result.exit_code == 1, result.output
    found = [(f["kind"], f["where"].split(": ")[0].removeprefix(str(path))) for f in
             json.loads(result.stdout)["findings"]]
    assert found == [("contact", ":3:5"), ("contact", ":4:18"), ("gap", ":8:5"),
                     ("nobody", ":15:9"), ("nobody", ":16:9"), ("nobody", ":17:9"),
                     ("unused", ":19:5")]
    text = run("oncall", "lint", "--config", str(path), "--at", "2026-05-06T12:00:00Z").stdout
    assert f"{path}:3:5: users[1].name: contact: user 'bob' has no contact method" in text
    assert "schedule 'days' has nobody on call 2026-05-06T17:00:00Z to 2026-05-07T09:00:00Z" in text
    assert "while carl is on call for 'days' in the next 28 days" in text
    assert "team 'empty' has no members" in text
    assert "none of bob, carl has a sendable contact method" in text
    assert "no route names escalation policy 'spare'" in text


def test_lint_email_without_smtp_settings(tmp_path) -> None:
    path = tmp_path / "vigil.yml"
    path.write_text(LINT[:LINT.index("    - {name: mail")])
    result = run("oncall", "lint", "--config", str(path), "--at", "2026-05-06T12:00:00Z")
    assert result.exit_code == 1
    assert f"{path}:2:17: users[0].contacts: contact: user 'ann' has only contact methods Vigil " \
        "cannot page (email): e-mail contacts are not sendable" in result.stdout


def test_lint_bad_usage_exits_2(tmp_path) -> None:
    assert run("oncall", "lint", "--config", str(tmp_path / "missing.yml")).exit_code == 2
    assert run("oncall", "lint", "--config", EXAMPLE, "--at", "soon").exit_code == 2
