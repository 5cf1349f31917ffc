"""The configuration of docs/incidents.md's worked example is valid as written (the only
change: the Slack URL file it names is made in a temporary folder)."""

from __future__ import annotations

import re
from pathlib import Path

from vigil.app import check

DOC = Path(__file__).resolve().parents[2] / "docs" / "incidents.md"


def test_the_worked_example_configuration_loads(tmp_path) -> None:
    example = re.search(r"```yaml\n(.*?)```", DOC.read_text(), re.S)
    assert example is not None, "docs/incidents.md has no yaml example"
    (tmp_path / "slack-url").write_text("https://hooks.slack.example/T0/B0/x\n")
    text = example.group(1).replace("/etc/vigil/slack-url", str(tmp_path / "slack-url"))
    (tmp_path / "vigil.yml").write_text(text)
    config = check(str(tmp_path / "vigil.yml")).config
    assert config.incidents.severity(1).response.schedules == ["primary"]
    assert [c.name for c in config.status_page.components] == ["milk-api"]
    steps = config.escalation_policies[0].steps
    assert steps[-1].declare_incident is not None and steps[-1].declare_incident.severity == 2
