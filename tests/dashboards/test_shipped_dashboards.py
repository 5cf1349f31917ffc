"""The shipped dashboards (vigil/dashboards/shipped/): one per runbook dashboard plus Vigil's
own health, each linting clean with the runbook's refresh interval; and, against one demo
Vigil fed by every source they read (``shipped_env``), EVERY panel query of EVERY shipped
dashboard — variables resolved to their first option, interpolated by the dashboards'
own code — answers ``/api/v1/query_range`` with data."""

from __future__ import annotations

import datetime as dt
import functools
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import redis as redis_client
import yaml

from tests.collect.exporters.conftest import (  # noqa: F401 (fixtures used by demo)
    PostgresServer,
    RedisServer,
    _pg_base,
    postgres_replica,
    postgres_server,
    redis_server,
)
from tests.dashboards.shipped_env import (
    AUDIT_QUERIES,
    SCRAPE_INTERVAL_S,
    DemoVigil,
    HTTPVariableSource,
    demo_vigil,
)
from vigil.collect.exporters.sql import SQLCollector
from vigil.config.model import SQLCollectorConfig
from vigil.dashboards.interpolate import TimeContext
from vigil.dashboards.lint import iter_messages, lint_text
from vigil.dashboards.model import Dashboard, ListVariable, parse_dashboard
from vigil.dashboards.store import SHIPPED_DIR
from vigil.dashboards.variables import panel_queries, resolve_variables, variable_values
from vigil.state.store import Store

# The runbooks' dashboards and their refresh intervals (Smart Dairy's "Dashboard URLs" table;
# Tapio's Overview and Vigil's own health refresh every 30 s).
EXPECTED_REFRESH = {
    "infrastructure": "30s", "application": "10s", "database": "30s", "business": "1m",
    "iot": "1m", "security": "5m", "cost": "1h", "tapio-overview": "30s", "vigil": "30s",
}
# Every panel query must have data after this long; the sources need about 30 s (rates need
# two scrapes, the demo's alerts fire and are notified, the replica reports its lag).
DATA_TIMEOUT_S = 120.0
WINDOW_S = 120.0


def shipped_files() -> list[Path]:
    return sorted(SHIPPED_DIR.glob("*.yaml"))


@functools.cache
def load(path: Path) -> Dashboard:
    return parse_dashboard(yaml.safe_load(path.read_text()))


def test_every_runbook_dashboard_is_shipped_with_its_refresh_interval() -> None:
    found = {load(p).name: load(p).spec.refreshInterval for p in shipped_files()}
    assert found == EXPECTED_REFRESH
    assert all(p.stem == load(p).name for p in shipped_files())  # NAME.yaml, as the store saves


@pytest.mark.parametrize("path", shipped_files(), ids=lambda p: p.stem)
def test_shipped_dashboard_lints_clean(path: Path) -> None:
    dashboard, errors = lint_text(path.read_text(), str(path))
    assert dashboard is not None
    assert not errors, "\n".join(iter_messages(path.name, errors))
    # Every chart says what its numbers are.
    for name, panel in dashboard.spec.panels.items():
        spec = panel.spec.plugin.spec
        if panel.spec.plugin.kind in ("TimeSeriesChart", "StatChart", "GaugeChart", "BarChart"):
            unit = (spec.get("yAxis") or {}).get("format", spec.get("format")) or {}
            assert unit.get("unit"), f"{path.name}: panel {name} has no unit"


# -- every panel query against the demo ----------------------------------------------------

@pytest.fixture(scope="module")
def demo(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[DemoVigil]:
    primary: PostgresServer = request.getfixturevalue("postgres_server")
    replica: PostgresServer = request.getfixturevalue("postgres_replica")
    cache: RedisServer = request.getfixturevalue("redis_server")
    # Keys, hits and misses for the Redis panels.
    client = redis_client.Redis(port=cache.port, password=cache.password)
    for i in range(20):
        client.set(f"order:{i}", i)
        client.get(f"order:{i}")
        client.get(f"missing:{i}")
    with demo_vigil(tmp_path_factory.mktemp("dashboards"), pg_primary=primary.dsn,
                    pg_replica=replica.dsn, pg_password=primary.password,
                    redis_address=cache.address, redis_password=cache.password) as vigil:
        yield vigil


def first_options(dashboard: Dashboard, source: HTTPVariableSource, ctx: TimeContext
                  ) -> dict[str, list[str]]:
    """Each list variable set to its first option, in order (later ones depend on earlier)."""
    asked: dict[str, list[str]] = {}
    for var in dashboard.spec.variables:
        if not isinstance(var, ListVariable):
            continue
        resolved = {v.name: v for v in resolve_variables(dashboard, asked, source, ctx)}
        options = resolved[var.spec.name].options
        if not options:
            raise AssertionError(f"variable {var.spec.name} has no options")
        asked[var.spec.name] = [options[0].value]
    return asked


def check_dashboard(vigil: DemoVigil, path: Path) -> tuple[int, list[str]]:
    """(queries run, ``dashboard / panel / query: why`` for each that errs or answers nothing)."""
    dashboard = load(path)
    source = HTTPVariableSource(vigil)
    end = time.time()
    ctx = TimeContext(end - WINDOW_S, end, 1200, SCRAPE_INTERVAL_S)
    try:
        asked = first_options(dashboard, source, ctx)
    except AssertionError as exc:
        return 0, [f"{dashboard.name}: {exc}"]
    values = variable_values(resolve_variables(dashboard, asked, source, ctx))
    ran, failures = 0, []
    for panel, queries in panel_queries(dashboard, values, ctx)["panels"].items():
        for query in queries:
            ran += 1
            where = f"{dashboard.name} / {panel} / {query['query']}"
            try:
                data = vigil.get("/api/v1/query_range", {
                    "query": query["query"], "start": str(ctx.start), "end": str(ctx.end),
                    "step": str(query["step"])})
            except AssertionError as exc:
                failures.append(f"{where}: {exc}")
                continue
            if not data["result"]:
                failures.append(f"{where}: empty answer")
    return ran, failures


@pytest.mark.e2e
def test_every_panel_query_of_every_shipped_dashboard_has_data(demo: DemoVigil) -> None:
    paths = shipped_files()
    results: dict[Path, tuple[int, list[str]]] = {}
    pending = paths
    deadline = time.monotonic() + DATA_TIMEOUT_S
    with ThreadPoolExecutor(max_workers=3) as pool:
        while pending:  # a dashboard with a failing query is checked again, whole
            results |= dict(zip(pending, pool.map(lambda p: check_dashboard(demo, p), pending),
                                strict=True))
            pending = [p for p in paths if results[p][1]]
            if pending and time.monotonic() > deadline:
                break
            time.sleep(3 if pending else 0)
    failures = [f for p in paths for f in results[p][1]]
    assert not failures, f"{len(failures)} panel queries failed:\n" + "\n".join(failures)
    # Every query of every panel ran (none skipped by a variable without options).
    assert sum(ran for ran, _ in results.values()) == sum(
        len(p.spec.queries or ()) for path in paths for p in load(path).spec.panels.values())


def test_the_audit_queries_count_failed_and_throttled_logins(tmp_path: Path) -> None:
    """The Security dashboard's login figures: the SQL collector's queries over Vigil's audit
    log count what the access service recorded, within their windows."""
    store = Store.open_in(str(tmp_path))
    now = dt.datetime.now(dt.UTC)
    for ago_h, action in ((0, "login.failure"), (0, "basic.failure"), (2, "sso.failure"),
                          (30, "login.failure"), (0, "login.success"), (0, "login.throttled")):
        store.access.audit(now=now - dt.timedelta(hours=ago_h), actor="eve", action=action)
    queries = yaml.safe_load(AUDIT_QUERIES)["queries"]
    collector = SQLCollector(SQLCollectorConfig(
        name="vigil-audit", dsn=f"sqlite:///{tmp_path / 'state.db'}", queries=queries))
    page = collector.collect()
    assert "vigil_audit_login_failures_1h 2" in page
    assert "vigil_audit_login_failures_24h 3" in page
    assert "vigil_audit_logins_throttled_1h 1" in page
