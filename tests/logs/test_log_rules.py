"""Log rules (Loki ruler files) over the real log store: loading and locating errors, the
LogQL query-function adapter, and the rule manager evaluating PromQL and LogQL groups side
by side (recorded series in the TSDB, alerts through the notify function)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.tsdb_store import TempTSDB
from vigil.errors import ConfigError
from vigil.logs.logql import LogQLEngine, ParseError, QueryError
from vigil.logs.model import LogEntry
from vigil.logs.rules import LOGQL, logql_query_func, parse_rule_expr
from vigil.logs.store import LogStore
from vigil.model.alert import Alert
from vigil.model.labels import Labels
from vigil.promql.engine import Engine
from vigil.promql.value import Vector
from vigil.rules import Manager, engine_query_func, load_rule_text
from vigil.selfmetrics import SelfMetrics

MS = 1_000_000
T0 = 1_700_000_040_000  # ms; the evaluations below run at T0 and T0 + 1 min
MIN = 60_000

# sshd on two hosts, in the minute before T0: host a is attacked from 10.0.0.1 (five
# failures), 10.0.0.2 fails once; host b sees two failures from 10.0.0.3; two logins work.
LINES = [
    ("a", "Failed password for root from 10.0.0.1 port 50001 ssh2"),
    ("a", "Failed password for admin from 10.0.0.1 port 50002 ssh2"),
    ("a", "Accepted publickey for deploy from 10.0.0.9 port 50003 ssh2"),
    ("a", "Failed password for root from 10.0.0.1 port 50004 ssh2"),
    ("b", "Failed password for invalid user test from 10.0.0.3 port 50005 ssh2"),
    ("a", "Failed password for oracle from 10.0.0.1 port 50006 ssh2"),
    ("a", "Failed password for root from 10.0.0.2 port 50007 ssh2"),
    ("b", "Accepted password for ops from 10.0.0.8 port 50008 ssh2"),
    ("a", "Failed password for root from 10.0.0.1 port 50009 ssh2"),
    ("b", "Failed password for root from 10.0.0.3 port 50010 ssh2"),
]

LOG_RULES = r"""
groups:
  - name: ssh
    interval: 1m
    rules:
      - record: host:ssh_failed_logins:count5m
        expr: sum by (host) (count_over_time({job="sshd"} |= "Failed password" [5m]))
        labels:
          source: logs
      - alert: SSHBruteForce
        expr: |
          sum by (host, src) (
            count_over_time({job="sshd"} |= "Failed password"
              | regexp "from (?P<src>\\S+) port" [5m])
          ) > 3
        for: 1m
        labels:
          severity: page
        annotations:
          summary: '{{ $labels.src }} failed {{ $value }} logins on {{ $labels.host }}'
          lines: '{{ with query `sum(count_over_time({job="sshd"}[5m]))` }}{{ . | first | value }}{{ end }}'
"""

PROM_RULES = """
groups:
  - name: prom
    interval: 1m
    rules:
      - record: job:up:sum
        expr: sum by (job) (up)
"""


def _entries() -> list[LogEntry]:
    start_ns = (T0 - MIN) * MS
    return [LogEntry(start_ns + i * 5_000 * MS, Labels.of(job="sshd", host=host), line)
            for i, (host, line) in enumerate(LINES)]


@pytest.fixture
def log_store(tmp_path: Path) -> Iterator[LogStore]:
    store = LogStore.open(str(tmp_path / "logs"))
    store.append(_entries())
    yield store
    store.close()


def _load(text: str, file: str = "logs.yml") -> list:
    return load_rule_text(text, file, language=LOGQL, parse=parse_rule_expr)


# ------------------------------------------------------------------ loading


def test_a_loki_ruler_file_loads_as_logql_groups() -> None:
    (group,) = _load(LOG_RULES)
    assert group.language == LOGQL and group.interval_s == 60.0
    record, alert = group.rules
    assert record.query == 'sum by (host)(count_over_time({job="sshd"} |= "Failed password"[5m]))'
    assert alert.for_s == 60.0 and dict(alert.labels) == {"severity": "page"}
    assert alert.query.startswith("(sum by (host,src)(count_over_time(")


BAD = [
    ("syntax error with its position in the expression",
     "      - alert: A\n        expr: count_over_time({job=\"x\" [5m]) > 0\n",
     '5:9: groups[0].rules[0].expr: could not parse expression: parse error at line 1, col 26: '
     'syntax error: unexpected RANGE, expecting } or ,'),
    ("a log query is not a rule",
     "      - record: x:y\n        expr: '{job=\"x\"} |= \"error\"'\n",
     "5:9: groups[0].rules[0].expr: could not parse expression: parse error : only sample "
     "expression supported: a rule needs a metric query"),
    ("bad regular expression",
     "      - alert: A\n        expr: count_over_time({job=~\"(\"}[5m]) > 0\n",
     "5:9: groups[0].rules[0].expr: could not parse expression: parse error"),
    ("the rule checks of Prometheus still apply",
     "      - record: x:y\n        expr: count_over_time({job=\"x\"}[5m])\n        for: 5m\n",
     "6:9: groups[0].rules[0].for: invalid field 'for' in recording rule"),
    ("non-string expression",
     "      - alert: A\n        expr: [1]\n",
     "5:9: groups[0].rules[0].expr: expected a logql expression, got a list"),
]


@pytest.mark.parametrize("rules,expected", [(r, e) for _, r, e in BAD], ids=[c for c, _, _ in BAD])
def test_bad_log_rules_are_located(rules: str, expected: str) -> None:
    text = "groups:\n  - name: g\n    rules:\n" + rules
    with pytest.raises(ConfigError) as info:
        _load(text, "bad.yml")
    assert str(info.value).startswith(f"bad.yml:{expected}"), str(info.value)


def test_parse_rule_expr_keeps_loki_errors() -> None:
    with pytest.raises(ParseError, match=r"^parse error at line 1, col 1: syntax error"):
        parse_rule_expr("|= \"x\"")
    assert str(parse_rule_expr("1 + 2")) == "3"  # a scalar is a metric query too


# ------------------------------------------------------------------ the adapter


def test_the_adapter_answers_a_vector_at_the_evaluation_time(log_store: LogStore) -> None:
    query = logql_query_func(LogQLEngine(log_store))
    expr = parse_rule_expr('sum by (host) (count_over_time({job="sshd"} |= "Failed" [5m]))')
    result = query(expr, T0)
    assert isinstance(result, Vector)
    assert {s.labels.get("host"): s.value for s in result.samples} == {"a": 6.0, "b": 2.0}
    assert {s.ts_ms for s in result.samples} == {T0}
    # The window is (t - 5m, t]: an hour later nothing is left; before the lines, nothing yet.
    assert query(expr, T0 + 60 * MIN).samples == []
    assert query(expr, T0 - 2 * MIN).samples == []
    # Text (an alert template's query) is parsed by the adapter.
    text = 'count_over_time({job="sshd", host="b"}[5m])'
    (sample,) = query(text, T0).samples
    assert (sample.labels, sample.value) == (Labels.of(job="sshd", host="b"), 3.0)


def test_a_scalar_becomes_one_sample_without_labels(log_store: LogStore) -> None:
    query = logql_query_func(LogQLEngine(log_store))
    (sample,) = query(parse_rule_expr("2 * 21"), T0).samples
    assert (sample.labels, sample.ts_ms, sample.value) == (Labels(), T0, 42.0)


def test_query_errors_reach_the_rule(log_store: LogStore) -> None:
    query = logql_query_func(LogQLEngine(log_store))
    # A user name is not a number: the pipeline error fails the query, as in Loki.
    expr = parse_rule_expr(
        r'sum(sum_over_time({job="sshd"} | regexp "for (?P<user>\\S+)" | unwrap user [5m]))')
    with pytest.raises(QueryError, match="pipeline error: 'SampleExtractionErr'"):
        query(expr, T0)


# ------------------------------------------------------------------ the manager, both languages


def test_manager_evaluates_promql_and_logql_groups(tsdb_store: TempTSDB, log_store: LogStore) -> None:
    tsdb_store.add({"__name__": "up", "job": "node", "instance": "x"}, [(T0 - 1000, 1.0)])
    sent: list[list[Alert]] = []
    manager = Manager(query=engine_query_func(Engine(tsdb_store)), notify=sent.append,
                      storage=tsdb_store, state_store=None, metrics=SelfMetrics(),
                      external_url="http://vigil.example", clock=lambda: T0 / 1000,
                      languages={LOGQL: logql_query_func(LogQLEngine(log_store))})
    (prom,) = load_rule_text(PROM_RULES, "prom.yml")
    (logs,) = _load(LOG_RULES)
    manager.update([prom, logs])
    for ts in (T0, T0 + MIN):
        manager.evaluate_group(prom, ts)
        manager.evaluate_group(logs, ts)

    assert tsdb_store.series("job:up:sum") == {
        Labels({"__name__": "job:up:sum", "job": "node"}): [(T0, 1.0), (T0 + MIN, 1.0)]}
    recorded = tsdb_store.series("host:ssh_failed_logins:count5m")
    assert recorded == {
        Labels({"__name__": "host:ssh_failed_logins:count5m", "host": "a", "source": "logs"}):
            [(T0, 6.0), (T0 + MIN, 6.0)],
        Labels({"__name__": "host:ssh_failed_logins:count5m", "host": "b", "source": "logs"}):
            [(T0, 2.0), (T0 + MIN, 2.0)],
    }
    # Pending at T0, firing a minute later (for: 1m), sent once; only 10.0.0.1 passed 3.
    (batch,) = sent
    (alert,) = batch
    assert alert.labels == Labels({"alertname": "SSHBruteForce", "host": "a", "src": "10.0.0.1",
                                   "severity": "page"})
    assert dict(alert.annotations) == {"summary": "10.0.0.1 failed 5 logins on a", "lines": "10"}
    assert alert.generator_url == "http://vigil.example/rules"
    assert tsdb_store.last("ALERTS", alertname="SSHBruteForce", alertstate="firing") == 1.0

    statuses = {g.name: g for g in manager.groups()}
    assert statuses["ssh"].language == LOGQL
    assert [(r.type, r.health) for r in statuses["ssh"].rules] == [("recording", "ok"),
                                                                   ("alerting", "ok")]
    assert statuses["ssh"].rules[1].state == "firing"
