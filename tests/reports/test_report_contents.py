"""The shipped reports on recorded metrics (tests/reports/recorded.py) in a real TSDB: every
figure a report computes equals the query API's answer for the same query at the same time;
tables of week-over-week and of days-until-full equal what the API's answers give; the
known-slope filesystem is forecast by hand; progress is reported once per section; and on
the embedded default (host metrics only) the other sections say they have no data instead of
showing zeros."""

from __future__ import annotations

import dataclasses
import subprocess
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pypdf import PdfReader

from tests.reports import recorded
from tests.support.tsdb_store import open_temp_tsdb
from tests.web.fakes import make_deps
from vigil.config.model import Config
from vigil.promql.engine import Engine
from vigil.reports import forecast
from vigil.reports.context import ReportContext
from vigil.reports.definitions import REPORTS
from vigil.reports.definitions.weekly_capacity import FS_SIZE, FS_USED
from vigil.reports.model import Checklist, Figure, Note, Report, Table
from vigil.reports.render import render_html, render_pdf
from vigil.web.app import create_app

AT_S = recorded.AT_MS / 1000
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "reports"


@pytest.fixture(scope="module")
def estate(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Engine, TestClient]]:
    db = open_temp_tsdb(tmp_path_factory.mktemp("estate"))
    try:
        recorded.record(db)
        engine = Engine(db)
        with TestClient(create_app(dataclasses.replace(make_deps(), engine=engine))) as client:
            yield engine, client
    finally:
        db.close()


@pytest.fixture(scope="module")
def reports(estate: tuple[Engine, TestClient]) -> dict[str, tuple[Report, list[str]]]:
    out = {}
    for name, definition in REPORTS.items():
        done: list[str] = []
        ctx = ReportContext(estate[0], Config(), "Europe/Helsinki", progress=done.append)
        out[name] = (definition.build(ctx, recorded.AT), done)
    return out


def api(client: TestClient, query: str, at_s: float = AT_S) -> list[dict[str, Any]]:
    resp = client.get("/api/v1/query", params={"query": query, "time": str(at_s)})
    assert resp.status_code == 200, (query, resp.text)
    data = resp.json()["data"]
    if data["resultType"] == "scalar":
        return [{"metric": {}, "value": data["result"]}]
    return data["result"]


def items(report: Report, kind: type) -> list[Any]:
    return [i for s in report.sections for i in s.items if isinstance(i, kind)]


def test_the_registry_has_the_five_reports_and_progress_counts_their_sections(reports) -> None:
    assert sorted(REPORTS) == ["daily", "monthly", "weekly-capacity", "weekly-performance", "weekly-security"]
    for name, (report, done) in reports.items():
        assert report.name == name
        assert len(done) == REPORTS[name].sections == len(report.sections)
        assert done == [s.title for s in report.sections]
        assert report.problems == (), report.problems


def test_every_figure_equals_the_query_api(estate, reports) -> None:
    _, client = estate
    checked = 0
    for report, _ in reports.values():
        for fig in items(report, Figure):
            if not fig.query:
                continue
            answer = api(client, fig.query)
            if fig.value is None:
                assert answer == [], fig
            else:
                assert len(answer) == 1, fig
                assert fig.value == pytest.approx(float(answer[0]["value"][1]), rel=1e-12), fig
            checked += 1
    assert checked >= 6


def test_per_host_and_per_endpoint_tables_equal_the_query_api(estate, reports) -> None:
    _, client = estate
    tables = {t.title: t for name in ("daily", "weekly-security") for t in items(reports[name][0], Table)}
    hosts = tables["Hosts now"]
    for column, query in enumerate(hosts.query.split("\n"), start=1):
        answer = {r["metric"]["instance"]: float(r["value"][1]) for r in api(client, query)}
        assert {row[0]: row[column] for row in hosts.rows} == pytest.approx(answer), query
    assert [row[1] for row in hosts.rows] == [pytest.approx(30.0), pytest.approx(80.0)]
    for title in ("Certificate expiry", "Certificates"):
        certs = tables[title]
        answer = {r["metric"]["instance"]: float(r["value"][1]) for r in api(client, certs.query)}
        assert dict((row[0], row[1]) for row in certs.rows) == pytest.approx(answer)
        assert answer["https://shop.example"] == pytest.approx(20.0)


def test_week_over_week_tables_equal_the_query_api(estate, reports) -> None:
    _, client = estate
    tables = [t for name in ("weekly-performance", "weekly-security") for t in items(reports[name][0], Table)
              if t.columns[1:] == ("this week", "last week", "change")]
    assert len(tables) >= 8
    for t in tables:
        expr, last = t.query.split("\n")
        assert last == forecast.last_week(expr)
        key = t.columns[0]
        now = {r["metric"].get(key, "") or "(all)": float(r["value"][1]) for r in api(client, expr)}
        before = {r["metric"].get(key, "") or "(all)": float(r["value"][1]) for r in api(client, last)}
        assert {row[0] for row in t.rows} == set(now)
        for name, this_week, last_week, change in t.rows:
            assert this_week == pytest.approx(now[name]) and last_week == pytest.approx(before[name])
            assert change == pytest.approx(100 * (this_week - last_week) / last_week)


def test_recorded_week_over_week_figures(reports) -> None:
    perf = {t.title: t for t in items(reports["weekly-performance"][0], Table)}
    name, this_week, last_week, _ = perf["Throughput"].rows[0]
    assert (name, this_week) == ("api", pytest.approx(20.0))  # 10 req/s last week, 20 this week
    assert last_week == pytest.approx(10.0, rel=1e-3)
    assert perf["Error rate (5xx)"].rows[0][1] == pytest.approx(1.0)
    assert perf["Average latency"].rows[0][1] == pytest.approx(0.08)


def test_the_http_status_label_is_the_configured_one(estate) -> None:
    """The recording labels its requests ``code`` (the default) and ``status``; with another
    label configured the 5xx and 401 figures find nothing and say so instead of showing zeros."""
    config = Config.model_validate({"reports": {"http_status_label": "http_status"}})
    perf = REPORTS["weekly-performance"].build(ReportContext(estate[0], config), recorded.AT)
    titles = {t.title for t in items(perf, Table)}
    assert "Throughput" in titles and "Error rate (5xx)" not in titles
    security = REPORTS["weekly-security"].build(ReportContext(estate[0], config), recorded.AT)
    assert "Failed authentication (401)" not in {t.title for t in items(security, Table)}
    assert any('http_requests_total{http_status="429"}' in n.text for n in items(security, Note))


def test_days_until_full_from_the_query_api_and_by_hand(estate, reports) -> None:
    _, client = estate
    [table] = [t for t in items(reports["weekly-capacity"][0], Table) if t.title.startswith("Days until full")]
    rows = {(r[0], r[1]): r for r in table.rows}
    # host-a /data: 70 GiB of 100 used at AT, growing exactly 1 GiB a day -> 30 days.
    host, mount, used, growth, days, rng = rows[("host-a:9100", "/data")]
    assert used == pytest.approx(70.0) and growth == pytest.approx(recorded.GIB)
    assert float(days) == pytest.approx(30.0, abs=0.05) and rng == "30.0 – 30.0"
    assert rows[("host-b:9100", "/data")][4] == "not growing"
    # The same forecast from the API's range answer for the same query.
    settings = forecast.ForecastSettings()
    resp = client.get("/api/v1/query_range", params={
        "query": FS_USED, "start": str(AT_S - settings.window_s), "end": str(AT_S), "step": str(settings.step_s)})
    sizes = {(r["metric"]["instance"], r["metric"]["mountpoint"]): float(r["value"][1]) for r in api(client, FS_SIZE)}
    for series in resp.json()["data"]["result"]:
        key = (series["metric"]["instance"], series["metric"]["mountpoint"])
        f = forecast.days_until_full([(float(t), float(v)) for t, v in series["values"]], sizes[key], AT_S, settings)
        assert rows[key][4] == (f"{f.days:.1f}" if f.status == "growing" else f.status)


def test_recorded_findings(reports) -> None:
    capacity = reports["weekly-capacity"][0]
    leaks = {t.title: t for t in items(capacity, Table)}["Growth of process memory over 7 days"]
    assert [(r[0], r[3]) for r in leaks.rows] == [("api api-1:8000", "suspect"), ("worker w-1:8000", "")]
    security = reports["weekly-security"][0]
    [soon] = [f for f in items(security, Figure) if f.label.startswith("Certificates expiring")]
    assert (soon.value, soon.status) == (1, "bad")  # shop.example: 20 days
    [secrets] = [f for f in items(security, Figure) if f.label.startswith("Secrets found")]
    assert (secrets.value, secrets.status) == (pytest.approx(14.0, abs=0.1), "bad")  # 2 a day
    [checklist] = items(security, Checklist)
    assert [(line.done, line.by) for line in checklist.lines][3:] == [(False, "vigil"), (False, "vigil")]
    monthly = {f.label: f for f in items(reports["monthly"][0], Figure)}
    assert monthly["Cache hit ratio (Redis)"].value == pytest.approx(98.0)
    assert monthly["Cache hit ratio (Redis)"].status == "bad"
    assert monthly["Node utilisation (CPU, average)"].value == pytest.approx(55.0)
    assert monthly["CDN cache hit ratio"].value is None
    assert reports["monthly"][0].period_start.isoformat() == "2026-11-01T00:00:00+02:00"
    business = {t.title: t for t in items(reports["monthly"][0], Table)}["shop_orders_month"]
    assert business.rows == (("state=sale", pytest.approx(1300.0), pytest.approx(1000 + 10 * (30 - 14.5 - 2 / 24))),)


def test_host_metrics_only_says_no_data_instead_of_zeros(tmp_path) -> None:
    db = open_temp_tsdb(tmp_path / "tsdb")
    try:
        recorded.record(db, host_only=True)
        engine = Engine(db)
        for name, definition in REPORTS.items():
            ctx = ReportContext(engine, Config())
            report = definition.build(ctx, recorded.AT)
            assert report.problems == ()
            for section in report.sections:
                assert section.items, (name, section.title)
            notes = [n.text for n in items(report, Note)]
            for fig in items(report, Figure):
                if fig.value == 0 and fig.query:
                    assert "count" == fig.unit, fig  # a zero only where zero things were counted
            if name == "daily":
                assert any(t.startswith("No data for PostgreSQL") for t in notes)
                assert any(t.startswith("No data for critical services") for t in notes)
                assert [t.title for t in items(report, Table)][:1] == ["Hosts now"]
            if name == "weekly-security":
                assert any(t.startswith("No secrets counted in logs") for t in notes)
                [checklist] = items(report, Checklist)
                assert all(line.done is None for line in checklist.lines)
            if name == "weekly-performance":
                assert not items(report, Table) and len(notes) == 4
            if name == "monthly":
                figs = {f.label: f for f in items(report, Figure)}
                assert figs["Cache hit ratio (Redis)"].value is None
                assert figs["Cache hit ratio (Redis)"].status == "unknown"
                assert figs["Node utilisation (CPU, average)"].value == pytest.approx(55.0)
    finally:
        db.close()


def test_a_failing_query_is_a_problem_not_a_zero(estate) -> None:
    class Broken:
        def instant_query(self, query: str, ts_ms: int):
            from vigil.errors import QueryError
            raise QueryError("query timed out")

        def range_query(self, query: str, start_ms: int, end_ms: int, step_ms: int):
            return self.instant_query(query, end_ms)

    report = REPORTS["monthly"].build(ReportContext(Broken(), Config()), recorded.AT)  # type: ignore[arg-type]
    assert report.problems and all("query timed out" in p for p in report.problems)
    assert all(f.value is None for f in items(report, Figure))
    assert recorded.AT - report.period_start < timedelta(days=15)


def test_the_forecast_window_is_configurable(estate) -> None:
    engine, _ = estate

    def forecast_table(settings: forecast.ForecastSettings) -> tuple[Table, str]:
        ctx = ReportContext(engine, Config(), forecast=settings)
        report = REPORTS["weekly-capacity"].build(ctx, recorded.AT)
        [section] = [s for s in report.sections if s.title == "Filesystems: days until full"]
        table, note = section.items
        assert isinstance(table, Table) and isinstance(note, Note)
        return table, note.text

    table, note = forecast_table(forecast.ForecastSettings(window_s=2 * forecast.DAY_S, step_s=1800))
    assert "last 2 days (one point every 30 min)" in note
    assert {(r[0], r[1]): r[4] for r in table.rows}[("host-a:9100", "/data")] == "30.0"
    # 12 hours at one point an hour is 13 points: fewer than asked for is "not enough data".
    table, _ = forecast_table(forecast.ForecastSettings(window_s=12 * 3600, min_points=24))
    assert {r[4] for r in table.rows} == {"not enough data"}
    assert set(table.statuses) == {"unknown"}


def test_a_new_vigil_says_not_enough_data(estate) -> None:
    # Three hours after the recording began: too few hourly points to fit anything.
    engine, _ = estate
    at = recorded.AT - timedelta(days=30) + timedelta(hours=3)
    report = REPORTS["weekly-capacity"].build(ReportContext(engine, Config()), at)
    notes = [n.text for n in items(report, Note)]
    assert "Host memory: not enough data to judge yet (2 series, none with 6 hourly points)." in notes
    [table] = [t for t in items(report, Table) if t.title.startswith("Days until full")]
    assert {r[4] for r in table.rows} == {"not enough data"}


def test_the_capacity_and_monthly_reports_print(reports) -> None:
    """Printed by Chromium and read back: the forecast and the targets are on the pages
    (PNGs in test-artifacts/reports/contents-*.png to look at)."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    for old in ARTIFACTS.glob("contents-*.png"):
        old.unlink()
    texts = {}
    for name in ("weekly-capacity", "monthly"):
        path = ARTIFACTS / f"contents-{name}.pdf"
        path.write_bytes(render_pdf(render_html(reports[name][0])))
        reader = PdfReader(path)
        texts[name] = "\n".join(page.extract_text() for page in reader.pages)
        subprocess.run(["pdftoppm", "-png", "-r", "60", str(path), str(ARTIFACTS / f"contents-{name}")],
                       check=True, timeout=60)
        assert len(list(ARTIFACTS.glob(f"contents-{name}-*.png"))) == len(reader.pages) >= 2
    assert "Days until full" in texts["weekly-capacity"] and "30.0 – 30.0" in texts["weekly-capacity"]
    assert "suspect" in texts["weekly-capacity"]
    assert "Node utilisation" in texts["monthly"] and "55 %" in texts["monthly"]
    assert "98 %" in texts["monthly"] and "missed" in texts["monthly"]


def test_the_monthly_period_is_the_calendar_month_in_the_reports_zone() -> None:
    from datetime import datetime, timezone

    from vigil.reports.definitions.monthly import month_start
    ctx = ReportContext(None, Config(), "Europe/Helsinki")  # type: ignore[arg-type]
    # Midnight of 1 December in Helsinki (22:00 UTC on the 30th): the whole of November.
    assert month_start(datetime(2026, 11, 30, 22, 0, tzinfo=timezone.utc), ctx).isoformat() == \
        "2026-11-01T00:00:00+02:00"
    # One second later: December so far.
    assert month_start(datetime(2026, 11, 30, 22, 0, 1, tzinfo=timezone.utc), ctx).isoformat() == \
        "2026-12-01T00:00:00+02:00"
    # 1 January: the December before.
    assert month_start(datetime(2026, 12, 31, 22, 0, tzinfo=timezone.utc), ctx).isoformat() == \
        "2026-12-01T00:00:00+02:00"
