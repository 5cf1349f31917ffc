"""The ``shifts:`` section: the runbook's three lists by default, and a located error
(``file:line:col: path: message``) for each kind of mistake."""

from __future__ import annotations

from datetime import time

import pytest

from vigil.config.loader import load_config_text
from vigil.config.shifts import ShiftsConfig
from vigil.errors import ConfigError


def test_defaults_are_the_runbooks_section_5_lists() -> None:
    config = load_config_text("{}\n").shifts
    assert [(s.name, s.start) for s in config.shifts] == [
        ("morning", time(9)), ("midday", time(13)), ("end_of_day", time(18))]
    morning = {i.item_key: i for i in config.shifts[0].items}
    assert morning["critical_services"].check == "critical_services"
    assert morning["iot_connectivity"].check is None  # a person ticks it
    assert "Check IoT device connectivity" in [i.title for i in config.shifts[0].items]
    assert [i.title for i in config.shifts[1].items] == [
        "Check alert queue for any new issues", "Review application performance metrics",
        "Verify scheduled jobs ran successfully", "Check pending Celery tasks"]
    assert config.check_spec(morning["backups"]) == {"query": "vigil_backup_newest_age_seconds",
                                                     "ok_when": "< 93600"}


def test_section_overrides_and_item_overrides() -> None:
    config = load_config_text("""
shifts:
  timezone: Europe/Dublin
  checks:
    critical_services: {query: 'probe_success{critical="true"}'}
    unacknowledged_alerts: {priorities: [P1]}
  shifts:
    - name: day
      start: "08:30"
      items:
        - {title: Services green, check: critical_services}
        - {title: No P1 waiting, check: unacknowledged_alerts}
        - {title: Queue drained, check: promql, query: 'sum(celery_queue_length)', ok_when: '< 50'}
        - {title: Read the incident log}
""").shifts
    items = config.shifts[0].items
    assert config.check_spec(items[0]) == {"query": 'probe_success{critical="true"}', "ok_when": "== 1"}
    assert config.check_spec(items[1]) == {"priorities": ["P1"]}
    assert config.check_spec(items[2]) == {"query": "sum(celery_queue_length)", "ok_when": "< 50"}
    assert config.check_spec(items[3]) is None and items[3].item_key == "read_the_incident_log"
    assert config.zone().key == "Europe/Dublin"


@pytest.mark.parametrize(("text", "where", "message"), [
    ("shifts:\n  timezone: Mars/Olympus\n", "2:3: shifts.timezone", "unknown time zone 'Mars/Olympus'"),
    ("shifts:\n  shifts:\n    - name: a\n      start: '09:00'\n      items:\n        - {title: x, check: coffee}\n",
     "6:22: shifts.shifts[0].items[0].check", "unknown check 'coffee'"),
    ("shifts:\n  shifts:\n    - name: a\n      start: '09:00'\n      items:\n        - {title: x, check: promql}\n",
     "shifts.shifts[0].items[0].query", "check: promql needs query and ok_when"),
    ("shifts:\n  shifts:\n    - name: a\n      start: '09:00'\n      items:\n"
     "        - {title: x, check: promql, query: up, ok_when: 'about 1'}\n",
     "shifts.shifts[0].items[0].ok_when", "must be a comparison and a number"),
    ("shifts:\n  checks:\n    backups_done: {ok_when: 'soon'}\n", "shifts.checks.backups_done.ok_when",
     "must be a comparison and a number"),
    ("shifts:\n  checks:\n    open_alerts: {query: up}\n", "shifts.checks.open_alerts.query",
     "only priorities can be set"),
    ("shifts:\n  shifts:\n    - {name: a, start: '09:00'}\n    - {name: a, start: '10:00'}\n",
     "shifts.shifts[1].name", "shift names must be unique: 'a'"),
    ("shifts:\n  shifts:\n    - {name: a, start: '09:00'}\n    - {name: b, start: '09:00'}\n",
     "shifts.shifts[1].start", "two shifts start at 09:00"),
    ("shifts:\n  shifts:\n    - name: a\n      start: '09:00'\n      items:\n        - {title: Backups}\n"
     "        - {title: backups!}\n", "shifts.shifts[0].items[1].title", "two items have the key 'backups'"),
    ("shifts:\n  shifts: []\n", "shifts.shifts", "at least one shift is needed"),
])
def test_located_errors(text: str, where: str, message: str) -> None:
    with pytest.raises(ConfigError) as err:
        load_config_text(text, "vigil.yml")
    assert where in str(err.value) and message in str(err.value), str(err.value)
    assert str(err.value).startswith("vigil.yml:")


def test_section_model_alone_has_defaults() -> None:
    assert ShiftsConfig().timezone == "UTC" and ShiftsConfig().run_checks
