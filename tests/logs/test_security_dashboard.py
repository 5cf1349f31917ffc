"""The Security dashboard's log panels read what the shipped log rules record: the recording
rules of vigil/logs/shipped/security.yml are evaluated over the Loghub samples every minute (as
the ruler does), their series written to a real TSDB, and the panels' PromQL gives the awk
counts of tests/logs/test_security_rules.py."""

from __future__ import annotations

import os

import yaml

from tests.logs.test_security_rules import RULES, at, loghub
from vigil.logs.logql import LogQLEngine
from vigil.logs.store import LogStore
from vigil.promql.engine import Engine

DASHBOARD = os.path.join(os.path.dirname(RULES), "..", "..", "dashboards", "shipped",
                         "security.yaml")
MS = 1_000_000


def panel_query(name: str) -> str:
    with open(DASHBOARD, encoding="utf-8") as f:
        panels = yaml.safe_load(f)["spec"]["panels"]
    (query,) = panels[name]["spec"]["queries"]
    return query["spec"]["plugin"]["spec"]["query"]


def record(name: str) -> str:
    with open(RULES, encoding="utf-8") as f:
        groups = yaml.safe_load(f)["groups"]
    (rule,) = [r for g in groups for r in g["rules"] if r.get("record") == name]
    return rule["expr"]


def recorded(tsdb, tmp_path, file: str, year: int, rule: str, start: int, end: int) -> None:
    """Evaluate ``rule`` every minute over ``file`` and append its samples as the ruler would."""
    store = LogStore.open(str(tmp_path / "logs"))
    try:
        store.append(loghub(file, year))
        matrix = LogQLEngine(store).range(record(rule), start, end, 60 * 10**9)
    finally:
        store.close()
    assert matrix.series
    for s in matrix.series:
        tsdb.add({"__name__": rule, **s.labels.to_dict()},
                 zip(s.timestamps.tolist(), s.values.tolist(), strict=True))


def vector(tsdb, query: str, t_ns: int) -> dict[str, float]:
    result = Engine(tsdb).instant_query(query, t_ns // MS)
    return {str(s.labels): s.value for s in result.value.samples}


def test_failed_logins_per_source_last_hour(tsdb_store, tmp_path):
    recorded(tsdb_store, tmp_path, "OpenSSH_2k.log", 2015, "source:ssh_failed_logins:count1m",
             at(2015, 12, 10, 6, 50), at(2015, 12, 10, 11, 10))
    # awk window 10:05-11:05 (test_security_rules.py): 286 183.62.140.253, 16 103.99.0.122,
    # 6 119.4.203.64, 3 60.2.12.12, 1 88.147.143.242, 1 52.80.34.196, 1 202.100.179.208,
    # 1 183.136.162.51
    assert vector(tsdb_store, panel_query("log_failed_logins_by_source"),
                  at(2015, 12, 10, 11, 5)) == {
        '{source="183.62.140.253"}': 286, '{source="103.99.0.122"}': 16,
        '{source="119.4.203.64"}': 6, '{source="60.2.12.12"}': 3, '{source="88.147.143.242"}': 1,
        '{source="52.80.34.196"}': 1, '{source="202.100.179.208"}': 1,
        '{source="183.136.162.51"}': 1}
    # Nothing recorded in the hour before the first line: the panel shows 0, not "no data".
    assert vector(tsdb_store, panel_query("log_failed_logins_by_source"),
                  at(2015, 12, 10, 6, 55)) == {"{}": 0}


def test_access_denied_per_minute(tsdb_store, tmp_path):
    recorded(tsdb_store, tmp_path, "Linux_2k.log", 2005, "job:logs_access_denied:count1m",
             at(2005, 6, 30, 20, 0), at(2005, 6, 30, 21, 0))
    # 8 klogind "Permission denied" lines at Jun 30 20:53:04 (grep in test_security_rules.py)
    assert vector(tsdb_store, panel_query("log_access_denied"), at(2005, 6, 30, 20, 54)) == {
        '{job="syslog"}': 8}


def test_secrets_panel_reads_the_ingest_counter(tsdb_store):
    # The counter as Vigil's self-scrape stores it, every minute: 3 AWS keys masked at 00:30,
    # a JWT at 00:40. Its first sample in the hour is 0, so increase() does not extrapolate.
    for kind, n, since_s in (("aws_access_key", 3, 1800), ("jwt", 1, 2400)):
        tsdb_store.add({"__name__": "vigil_logs_secrets_detected_total", "kind": kind,
                        "job": "api"}, [(t * 1000, float(n if t >= since_s else 0))
                                        for t in range(0, 3601, 60)])
    assert vector(tsdb_store, panel_query("log_secrets_by_kind"), 3600 * 10**9) == {
        '{kind="aws_access_key"}': 3, '{kind="jwt"}': 1}
