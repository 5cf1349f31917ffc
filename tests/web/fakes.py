"""Fakes of the stages behind the web layer's seams (engine, targets, rules, storage).

They use the real shared value types; the fake engine serves a few sine-shaped series so the
graph has something realistic to draw.
"""

from __future__ import annotations

import math
import re
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

import numpy as np

from vigil.collect.target import DroppedTarget, TargetStatus
from vigil.errors import ParseError, QueryError
from vigil.model.labels import Labels
from vigil.model.matchers import Matcher, MatchType, match_all
from vigil.promql.value import (
    Matrix,
    QueryResult,
    RangeSeries,
    Sample,
    Scalar,
    String,
    Vector,
)
from vigil.rules.status import ActiveAlert, GroupStatus, RuleStatus
from vigil.selfmetrics import SelfMetrics
from vigil.storage import Series
from vigil.web.deps import WebDeps

NOW_S = 1_700_000_000.0  # 2023-11-14T22:13:20Z
NOW = datetime.fromtimestamp(NOW_S, tz=timezone.utc)

_NAME = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")


def _load(instance: int, ts_ms: int) -> float:
    """A believable CPU load curve: a slow wave, a faster ripple, per-instance offset."""
    t = ts_ms / 1000
    return round(1.5 + instance * 0.8 + math.sin(t / 900 + instance) * 0.9
                 + 0.25 * math.sin(t / 97 + 2 * instance), 4)


@dataclass
class FakeEngine:
    """Understands a bare metric name; ``node_load1`` has three sine-shaped series.

    Special queries: ``fail`` (QueryError), ``timeout`` (QueryError with Prometheus's timeout
    wording), ``slow`` (sleeps 1 s), ``scalar``, ``string``, ``special`` (odd floats).
    Anything that is not a metric name raises ParseError at the first bad character."""

    instances: int = 3
    calls: list[tuple] = field(default_factory=list)

    def _check(self, query: str) -> None:
        m = _NAME.match(query)
        if not query:
            raise ParseError("no expression found in input", line=1, column=1)
        if m is None or m.end() != len(query):
            col = m.end() + 1 if m else 1
            raise ParseError(f'unexpected character: {query[col - 1]!r}', line=1, column=col)
        if query == "fail":
            raise QueryError("found duplicate series for the match group")
        if query == "timeout":
            raise QueryError("query timed out in expression evaluation")
        if query == "slow":
            time.sleep(1.0)

    def _series_labels(self, query: str) -> list[tuple[Labels, int]]:
        if query == "node_load1":
            return [(Labels.of(__name__="node_load1", instance=f"host-{i}:9100", job="node"), i)
                    for i in range(self.instances)]
        return []

    def instant_query(self, query: str, ts_ms: int) -> QueryResult:
        self.calls.append(("instant", query, ts_ms))
        self._check(query)
        if query == "scalar":
            return QueryResult(Scalar(ts_ms, 1.5))
        if query == "string":
            return QueryResult(String(ts_ms, "hello <world>"))
        if query == "special":
            values = [math.inf, -math.inf, math.nan, 1e-7, 1e21, 100.0, 0.1, -0.0, 123456789.125]
            return QueryResult(Vector([Sample(Labels.of(i=str(i)), ts_ms, v)
                                       for i, v in enumerate(values)]), warnings=("careful",))
        return QueryResult(Vector([Sample(ls, ts_ms, _load(i, ts_ms))
                                   for ls, i in self._series_labels(query)]))

    def range_query(self, query: str, start_ms: int, end_ms: int, step_ms: int) -> QueryResult:
        self.calls.append(("range", query, start_ms, end_ms, step_ms))
        self._check(query)
        ts = np.arange(start_ms, end_ms + 1, step_ms, dtype=np.int64)
        if query == "scalar":
            return QueryResult(Matrix([RangeSeries(Labels(), ts, np.full(len(ts), 1.5))]))
        series = [RangeSeries(ls, ts, np.array([_load(i, int(t)) for t in ts]))
                  for ls, i in self._series_labels(query)]
        return QueryResult(Matrix(series))


def parse_selector(text: str) -> list[Matcher]:
    """A small series-selector parser: ``name``, ``{a="b"}``, ``name{a=~"b",c!="d"}``."""
    m = re.fullmatch(r'\s*([a-zA-Z_:][a-zA-Z0-9_:]*)?\s*(?:\{(.*)\})?\s*', text)
    if m is None or (m.group(1) is None and m.group(2) is None):
        raise ParseError('unexpected character inside braces: "!"' if "!" in text else
                         "unexpected end of input", line=1, column=len(text) + 1)
    matchers = [Matcher(MatchType.EQUAL, "__name__", m.group(1))] if m.group(1) else []
    body = (m.group(2) or "").strip()
    pos = 0
    pair = re.compile(r'\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!~|!=|=)\s*"([^"]*)"\s*,?')
    while pos < len(body):
        p = pair.match(body, pos)
        if p is None:
            raise ParseError("unexpected character inside braces", line=1, column=pos + 2)
        matchers.append(Matcher(MatchType(p.group(2)), p.group(1), p.group(3)))
        pos = p.end()
    return matchers


class FakeQuerier:
    def __init__(self, store: FakeStorage, mint_ms: int, maxt_ms: int) -> None:
        self.store, self.mint, self.maxt = store, mint_ms, maxt_ms

    def select(self, matchers: Sequence[Matcher]) -> Iterator[Series]:
        for s in sorted(self.store.series, key=lambda s: s.labels):
            keep = (s.timestamps >= self.mint) & (s.timestamps <= self.maxt)
            if keep.any() and match_all(list(matchers), s.labels):
                yield Series(s.labels, s.timestamps[keep], s.values[keep])

    def label_names(self, matchers: Sequence[Matcher] = ()) -> list[str]:
        return sorted({k for s in self.select(matchers) for k in s.labels.names()})

    def label_values(self, name: str, matchers: Sequence[Matcher] = ()) -> list[str]:
        return sorted({s.labels.get(name) for s in self.select(matchers)} - {""})

    def close(self) -> None:
        self.store.closed += 1


@dataclass
class FakeStorage:
    series: list[Series] = field(default_factory=list)
    opened: list[tuple[int, int]] = field(default_factory=list)
    closed: int = 0

    def querier(self, mint_ms: int, maxt_ms: int) -> FakeQuerier:
        self.opened.append((mint_ms, maxt_ms))
        return FakeQuerier(self, mint_ms, maxt_ms)


def stored_series() -> list[Series]:
    ts = np.array([int(NOW_S * 1000) - 60_000, int(NOW_S * 1000)], dtype=np.int64)
    out = []
    for lbls in (Labels.of(__name__="up", job="node", instance="host-0:9100"),
                 Labels.of(__name__="up", job="node", instance="host-1:9100"),
                 Labels.of(__name__="up", job="api", instance="api-0:8080"),
                 Labels.of(__name__="http_requests_total", job="api", instance="api-0:8080",
                           code="200")):
        out.append(Series(lbls, ts, np.array([1.0, 1.0])))
    return out


@dataclass
class FakeTargets:
    items: list[TargetStatus]

    dropped: list[DroppedTarget] = field(default_factory=list)

    def targets(self) -> list[TargetStatus]:
        return list(self.items)

    def dropped_targets(self) -> list[DroppedTarget]:
        return list(self.dropped)


def sample_targets() -> list[TargetStatus]:
    def target(job: str, instance: str, health: str, error: str = "") -> TargetStatus:
        return TargetStatus(
            job=job, instance=instance, scrape_url=f"http://{instance}/metrics",
            labels=Labels.of(job=job, instance=instance, env="prod"),
            discovered_labels=Labels.of(__address__=instance, __scheme__="http",
                                        __metrics_path__="/metrics", job=job),
            health=health, last_error=error,
            last_scrape=NOW - timedelta(seconds=7, microseconds=250_000),
            last_scrape_duration_s=0.0123, scrape_interval_s=15.0, scrape_timeout_s=10.0)

    return [
        target("node", "host-0:9100", "up"),
        target("node", "host-1:9100", "down",
               'Get "http://host-1:9100/metrics": dial tcp 10.0.0.2:9100: connect: '
               "connection refused"),
        target("api", "api-0:8080", "up"),
    ]


@dataclass
class FakeRules:
    group_list: list[GroupStatus]

    def groups(self) -> list[GroupStatus]:
        return list(self.group_list)

    def alerts(self) -> list[ActiveAlert]:
        return [a for g in self.group_list for r in g.rules for a in r.alerts]


def sample_rules() -> list[GroupStatus]:
    firing = ActiveAlert(
        labels=Labels.of(alertname="InstanceDown", instance="host-1:9100", job="node",
                         severity="critical"),
        annotations=Labels.of(summary="Instance host-1:9100 down",
                              description="host-1:9100 of job node has been down for more "
                                          "than 5 minutes.",
                              runbook_url="https://runbooks.example/instance-down"),
        state="firing", active_at=NOW - timedelta(minutes=12), fired_at=NOW - timedelta(minutes=7),
        resolved_at=None, last_sent_at=NOW - timedelta(seconds=30), value=0.0)
    pending = ActiveAlert(
        labels=Labels.of(alertname="HighLoad", instance="host-2:9100", job="node",
                         severity="warning"),
        annotations=Labels.of(summary="Load is high on host-2:9100"),
        state="pending", active_at=NOW - timedelta(minutes=2), fired_at=None, resolved_at=None,
        last_sent_at=None, value=4.25)
    rules = (
        RuleStatus(name="InstanceDown", query='up == 0', type="alerting", health="ok",
                   last_error="", last_evaluation=NOW - timedelta(seconds=10),
                   evaluation_time_s=0.0004, labels=Labels.of(severity="critical"),
                   annotations=firing.annotations, duration_s=300.0, state="firing",
                   alerts=(firing,)),
        RuleStatus(name="HighLoad", query="node_load1 > 4", type="alerting", health="ok",
                   last_error="", last_evaluation=NOW - timedelta(seconds=10),
                   evaluation_time_s=0.0007, labels=Labels.of(severity="warning"),
                   annotations=Labels.of(summary="Load is high on {{ $labels.instance }}"),
                   duration_s=600.0, state="pending", alerts=(pending,)),
        RuleStatus(name="job:up:sum", query="sum by (job) (up)", type="recording",
                   health="err", last_error="vector contains metrics with the same labelset "
                   "after applying rule labels", last_evaluation=NOW - timedelta(seconds=10),
                   evaluation_time_s=0.0002, labels=Labels()),
    )
    return [GroupStatus(name="node", file="/etc/vigil/rules/node.yml", interval_s=15.0,
                        last_evaluation=NOW - timedelta(seconds=10), evaluation_time_s=0.0013,
                        rules=rules)]


def make_deps(*, ready: bool = True, reload=None, now: float = NOW_S) -> WebDeps:
    return WebDeps(
        engine=FakeEngine(),
        targets=FakeTargets(sample_targets(), [DroppedTarget(
            "node", Labels({"__address__": "host-9:9100", "__meta_filepath": "/etc/sd/n.json",
                            "job": "node"}))]),
        rules=FakeRules(sample_rules()),
        storage=FakeStorage(stored_series()),
        metrics=SelfMetrics(),
        parse_matchers=parse_selector,
        version="0.1.0",
        config_yaml=lambda: "global:\n  scrape_interval: 15s\n",
        reload=reload,
        ready=lambda: ready,
        now=lambda: now,
    )
