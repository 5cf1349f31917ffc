"""The objectives: section: the runbook's defaults, and bad input refused at its place in the
file by ``vigil check config`` (the services' queries parsed as PromQL)."""

from __future__ import annotations

import pytest

from vigil.app import check
from vigil.config.model import Config
from vigil.errors import ConfigError


def test_defaults_are_the_runbook_targets():
    t = Config().objectives.targets
    assert (t.availability_percent, t.mtta, t.mttr, t.mttr_severities, t.false_positive_percent) == (
        99.9, 300.0, 3600.0, [1], 5.0)
    assert Config().objectives.availability_window == 30 * 86400


def _check(tmp_path, text: str) -> str:
    path = tmp_path / "vigil.yml"
    path.write_text("default_rules: false\n" + text)
    with pytest.raises(ConfigError) as caught:
        check(str(path))
    return str(caught.value)


@pytest.mark.parametrize(("text", "message"), [
    ("objectives:\n  services:\n    - {name: api, query: up}\n    - {name: db, query: 'up[5m]'}\n",
     "vigil.yml:5:18: objectives.services[1].query: db: the query must give an instant vector (1 up, 0 down), not a range vector"),
    ("objectives:\n  services:\n    - name: api\n      query: 'up{'\n",
     "vigil.yml:5:7: objectives.services[0].query: api: 1:4: parse error: unexpected end of input inside braces"),
    ("objectives:\n  services:\n    - {name: api, query: up}\n    - {name: api, query: up}\n",
     "service 'api' is listed twice"),
    ("objectives:\n  services:\n    - {name: 'a b', query: up}\n",
     "service name 'a b' must be letters, digits, '_', '.' or '-'"),
    ("objectives:\n  targets:\n    mttr_severities: [5]\n",
     "objectives.targets.mttr_severities: unknown incident severity 5; known: 1, 2, 3, 4"),
    ("objectives:\n  targets:\n    availability_percent: 100\n",
     "objectives.targets.availability_percent"),
])
def test_bad_input_is_named_where_it_is(tmp_path, text, message):
    assert message in _check(tmp_path, text)
