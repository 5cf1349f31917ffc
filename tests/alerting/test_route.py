"""The routing tree, as a table of label sets and the receivers they reach (as AM's route tests)."""

import pytest

from vigil.alerting.dispatch import build_routes
from vigil.config import load_config_text
from vigil.model import Labels

TREE = """
alerting:
  receivers: [{name: default}, {name: pager}, {name: slack}, {name: db}, {name: audit}]
  route:
    receiver: default
    group_by: [alertname]
    group_wait: 10s
    routes:
      - matchers: ['severity="critical"']
        receiver: pager
        group_wait: 1s
        routes:
          - match: {team: db}
            receiver: db
      - match_re: {severity: "warning|info"}
        receiver: slack
        group_by: ['...']
      - matchers: ['audit=~".+"']
        receiver: audit
        continue: true
      - matchers: ['audit="yes"', 'env!="dev"']
        receiver: slack
"""

CASES = [
    ({"alertname": "A"}, ["default"]),
    ({"alertname": "A", "severity": "critical"}, ["pager"]),
    ({"alertname": "A", "severity": "critical", "team": "db"}, ["db"]),
    ({"alertname": "A", "severity": "warning"}, ["slack"]),
    ({"alertname": "A", "severity": "warn"}, ["default"]),  # regexes are anchored
    ({"alertname": "A", "audit": "yes"}, ["audit", "slack"]),  # continue goes on
    ({"alertname": "A", "audit": "yes", "env": "dev"}, ["audit"]),
]


@pytest.fixture(scope="module")
def root():
    return build_routes(load_config_text(TREE).alerting.route)


@pytest.mark.parametrize("labels,receivers", CASES)
def test_route_table(root, labels, receivers):
    assert [r.options.receiver for r in root.match(Labels(labels))] == receivers


def test_children_inherit_and_override_options(root):
    db = root.match(Labels({"severity": "critical", "team": "db"}))[0]
    assert db.options.group_wait_s == 1.0  # from its parent
    assert db.options.group_by == frozenset({"alertname"})
    assert db.options.repeat_interval_s == 4 * 3600
    slack = root.match(Labels({"severity": "info"}))[0]
    assert slack.options.group_by_all
    assert slack.group_labels(Labels({"severity": "info", "x": "1"})) == Labels({"severity": "info", "x": "1"})


def test_route_keys_are_distinct(root):
    keys = []
    stack = [root]
    while stack:
        r = stack.pop()
        keys.append(r.key)
        stack.extend(r.routes)
    assert len(keys) == len(set(keys))
    assert root.key == "{}"
