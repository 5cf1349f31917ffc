"""Builds a rule :class:`Manager` over a real TSDB in a temp dir (the ``tsdb_store``
fixture) for tests, with time injected; and runs promtool-format unit-test files as
``vigil rules test`` does.

``Scripted`` is a hand-written query function: the vector each expression returns is set by
the test (keyed by the expression's canonical text), so the alert state machine can be
driven sample by sample. ``Harness(tsdb_store, rules, engine=True)`` uses the real PromQL engine instead.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from tests.support.tsdb_store import TempTSDB
from vigil.cli.rules import temporary_tsdb
from vigil.errors import QueryError
from vigil.model.alert import Alert
from vigil.model.labels import Labels
from vigil.promql.value import Sample, Vector
from vigil.rules import (
    Manager,
    RuleStateStore,
    StoredAlert,
    engine_query_func,
    load_rule_text,
)
from vigil.rules.rulefmt import parse_promql
from vigil.rules.unittest import FileOutcome, UnitTestOptions, run_test_file
from vigil.selfmetrics import SelfMetrics

T0 = 1_700_000_000_000  # an arbitrary epoch ms, a multiple of every interval used


class Scripted:
    """QueryFunc whose results the test sets: ``q.set("up == 0", {"instance": "a"}: 0.0)``."""

    def __init__(self) -> None:
        self.results: dict[str, list[tuple[dict[str, str], float]]] = {}
        self.failing: dict[str, str] = {}
        self.calls: list[tuple[str, int]] = []

    @staticmethod
    def _key(expr: str) -> str:
        return str(parse_promql(expr))

    def set(self, expr: str, *series: tuple[dict[str, str], float]) -> None:
        self.results[self._key(expr)] = list(series)

    def fail(self, expr: str, message: str) -> None:
        self.failing[self._key(expr)] = message

    def __call__(self, expr: object, ts_ms: int) -> Vector:
        key = str(expr)
        self.calls.append((key, ts_ms))
        if key in self.failing:
            raise QueryError(self.failing[key])
        return Vector([Sample(Labels(ls), ts_ms, v) for ls, v in self.results.get(key, [])])


class MemStateStore:
    """An in-memory RuleStateStore (survives a 'restart' when handed to a new Manager)."""

    def __init__(self) -> None:
        self.groups: dict[str, list[StoredAlert]] = {}
        self.saves = 0

    def load_rule_alerts(self) -> list[StoredAlert]:
        return [a for alerts in self.groups.values() for a in alerts]

    def save_rule_alerts(self, group_key: str, alerts: list[StoredAlert]) -> None:
        self.saves += 1
        self.groups[group_key] = list(alerts)


@dataclass
class Harness:
    store: TempTSDB  # the test's ``tsdb_store``
    rules: str
    query: Scripted | None = None
    engine: bool = False
    state_store: RuleStateStore | None = None
    resend_delay_s: float = 60.0
    external_url: str = "http://vigil.example:9090"
    external_labels: dict[str, str] = field(default_factory=dict)
    sent: list[list[Alert]] = field(default_factory=list)
    metrics: SelfMetrics = field(default_factory=SelfMetrics)
    now_s: float = T0 / 1000
    clock: Callable[[], float] | None = None  # default: the injected ``now_s``
    notify: Callable[[list[Alert]], None] | None = None  # default: record in ``sent``
    is_primary: Callable[[], bool] | None = None  # a replica's role (default: always primary)
    replica_records: bool = True

    def __post_init__(self) -> None:
        if self.engine:
            from vigil.promql.engine import Engine

            qf = engine_query_func(Engine(self.store))
        else:
            self.query = self.query or Scripted()
            qf = self.query
        self.groups = load_rule_text(self.rules, "rules.yml")
        self.manager = Manager(
            query=qf, notify=self.notify or self.sent.append, storage=self.store, state_store=self.state_store,
            metrics=self.metrics, external_labels=self.external_labels,
            external_url=self.external_url, resend_delay_s=self.resend_delay_s,
            clock=self.clock or (lambda: self.now_s), is_primary=self.is_primary,
            replica_records=self.replica_records,
        )
        self.manager.update(self.groups)

    def eval(self, ts_ms: int, group: int = 0) -> list[Alert]:
        """Evaluate one group at ``ts_ms``; return the alerts sent by that evaluation."""
        self.now_s = ts_ms / 1000
        before = len(self.sent)
        self.manager.evaluate_group(self.groups[group], ts_ms)
        return [a for batch in self.sent[before:] for a in batch]

    def reload(self, rules: str) -> None:
        self.groups = load_rule_text(rules, "rules.yml")
        self.manager.update(self.groups)

    def states(self) -> dict[str, str]:
        """``str(labels) -> state`` of every pending/firing alert."""
        return {str(a.labels): a.state for a in self.manager.alerts()}


def run_unit_tests(path: str, options: UnitTestOptions | None = None) -> FileOutcome:
    """Run a promtool-format unit-test file as ``vigil rules test`` does: each test group
    on a TSDB in a temporary directory."""
    return run_test_file(path, options, storage=temporary_tsdb)


def at(ms: int) -> datetime:
    from datetime import timezone

    return datetime.fromtimestamp(ms / 1000, tz=timezone.utc)


MIN = 60_000
