"""The incidents: section: the runbook's severity table by default, overrides per severity
keeping the other defaults, and errors at their place in the file."""

from __future__ import annotations

import pytest

from vigil.config.loader import load_config, load_config_text
from vigil.config.model import Config
from vigil.errors import ConfigError


def test_the_runbook_table_by_default():
    sevs = Config().incidents.all_severities()
    assert [(s.name, s.criteria, s.team, s.communication, s.update_interval) for s in sevs] == [
        ("SEV-1", "Complete system outage", "All hands", "Immediate exec notification", 1800.0),
        ("SEV-2", "Major functionality impaired", "L2 + L3", "Manager notification", 3600.0),
        ("SEV-3", "Minor functionality impaired", "L2", "Ticket only", None),
        ("SEV-4", "Cosmetic/no immediate impact", "L1", "Scheduled fix", None)]
    assert all(s.response.empty() for s in sevs)
    assert Config().incidents.channel_pattern == "#incident-{date}-{seq}"


def test_an_override_keeps_the_other_defaults():
    config = load_config_text("""
users: [{name: vp}]
teams: [{name: sre, members: [vp]}]
schedules:
  - name: primary
    layers: [{name: l, users: [vp], turn: 1w, start: 2026-01-05}]
incidents:
  channel_pattern: "#inc-{ref}"
  severities:
    - {severity: 2, update_interval: 2h, response: {schedules: [primary], users: [vp], teams: [sre]}}
""")
    sev2 = config.incidents.severity(2)
    assert (sev2.name, sev2.criteria, sev2.update_interval) == ("SEV-2", "Major functionality impaired", 7200.0)
    assert (sev2.response.schedules, sev2.response.users, sev2.response.teams) == (["primary"], ["vp"], ["sre"])
    assert config.incidents.severity(1).update_interval == 1800.0


@pytest.mark.parametrize(("section", "where"), [
    ("  severities:\n    - {severity: 1, response: {schedules: [night]}}\n",
     ":5:44: incidents.severities[0].response.schedules[0]: SEV-1: unknown schedule 'night'"),
    ("  severities:\n    - {severity: 3, response: {users: [zed]}}\n",
     ":5:40: incidents.severities[0].response.users[0]: SEV-3: user 'zed' is not in the users section"),
    ("  severities:\n    - {severity: 2}\n    - {severity: 2}\n",
     ":6:8: incidents.severities[1].severity: severity 2 is given twice"),
    ("  severities:\n    - {severity: 0}\n", ":5:8: incidents.severities[0].severity: Input should be greater"),
    ('  channel_pattern: "#incident-{day}"\n', ":4:3: incidents.channel_pattern: channel_pattern may use {date}"),
])
def test_errors_name_the_place(tmp_path, section, where):
    path = tmp_path / "vigil.yml"
    path.write_text("users: [{name: ann}]\nteams: [{name: sre, members: [ann]}]\nincidents:\n" + section)
    with pytest.raises(ConfigError) as err:
        load_config(str(path))
    assert str(err.value).startswith(f"{path}{where}"), str(err.value)
