"""The reports' sections read from Vigil's records, through the other parts' public
interfaces on real parts: the objectives (tests/objectives/history.py's recorded alert and
incident history in a migrated state database, availability from the recorded probes), the
SLOs (the shipped API SLO file pointed at the recorded application), the shifts (a shift
opened, ticked and handed over in the state database), and the alert episodes and incidents.
Known answers are worked out by hand in the comments."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from tests.objectives.history import record_history
from tests.reports import recorded
from tests.support.tsdb_store import open_temp_tsdb
from vigil.config.model import Config
from vigil.config.objectives import ObjectivesConfig
from vigil.objectives.service import ObjectivesService
from vigil.promql.engine import Engine
from vigil.reports.context import ReportContext
from vigil.reports.definitions import REPORTS, _records
from vigil.reports.model import Checklist, Figure, Note, Report, Table
from vigil.shifts.calendar import shift_at
from vigil.shifts.service import ShiftService
from vigil.slo.loader import load_slo_file, shipped_slo_files
from vigil.slo.status import BurnRate, SLOStatus, slo_statuses
from vigil.state import Store
from vigil.state.incident_store import IncidentStore
from vigil.state.lifecycle_store import LifecycleStore
from vigil.state.shift_store import ShiftStore


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Report]]:
    base = tmp_path_factory.mktemp("records")
    db = open_temp_tsdb(base / "tsdb")
    store = Store.open_in(str(base / "state"))
    store.migrate()
    try:
        recorded.record(db)
        record_history(store)
        engine = Engine(db)
        config = Config()
        shifts = ShiftService(ShiftStore(store.engine), config=lambda: config.shifts)
        shift, _ = shifts.open(shift_at(config.shifts, recorded.AT - timedelta(hours=3)))
        shifts.tick(shift.id, shift.items[-1].key, by="alice", note="looked, all fine")
        shifts.handover(shift.id, by="alice", note="watch the shop certificate")
        shipped = Path(shipped_slo_files()[0])
        specs = load_slo_file(str(shipped), shipped.read_text().replace('job="odoo"', 'job="api"'))
        objectives = ObjectivesService(
            lambda: ObjectivesConfig.model_validate(
                {"services": [{"name": "shop", "query": 'probe_success{instance="https://shop.example"}'}]}),
            store.engine, IncidentStore(store.engine), engine)
        out = {}
        for name in ("daily", "monthly"):
            ctx = ReportContext(engine, config, "Europe/Helsinki", lifecycle=LifecycleStore(store.engine),
                                incidents=IncidentStore(store.engine), objectives=objectives,
                                slos=lambda at: slo_statuses(engine, specs, at), shifts=shifts)
            out[name] = REPORTS[name].build(ctx, recorded.AT)
        out["shift"] = shifts.history(shift.starts_at, shift.ends_at)  # type: ignore[assignment]
        out["objectives"] = objectives  # type: ignore[assignment]
        yield out
    finally:
        store.close()
        db.close()


def section(report: Report, title: str) -> dict[str, object]:
    [s] = [s for s in report.sections if s.title == title]
    return {getattr(i, "label", None) or getattr(i, "title", None) or getattr(i, "text", ""): i for i in s.items}


def test_monthly_objectives_by_hand(built) -> None:
    monthly = built["monthly"]
    assert monthly.problems == ()
    objectives = section(monthly, "Objectives")
    # November up to the 15th 12:00 UTC: episodes E3 (acknowledged in 240 s, a duplicate),
    # E4 (never acknowledged, resolved by Vigil) and E5 (acknowledged in 600 s).
    mtta = objectives["Mean time to acknowledge"]
    assert isinstance(mtta, Figure)
    assert (mtta.value, mtta.unit, mtta.target, mtta.status) == (420, "seconds", "≤ 5 min", "bad")
    # MTTR on SEV-1 incidents: "Payments down", started 01:00, resolved 03:30: 9000 s.
    mttr = objectives["Mean time to recover"]
    assert (mttr.value, mttr.status) == (9000, "bad")  # type: ignore[union-attr]
    # One classified resolution (a duplicate), no false positive: 0 % against 5 %.
    fp = objectives["False-positive rate"]
    assert (fp.value, fp.unit, fp.target, fp.status) == (0, "percent", "≤ 5 %", "ok")  # type: ignore[union-attr]
    shop = objectives["Availability of shop"]
    assert (shop.value, shop.status) == (pytest.approx(100.0), "ok")  # type: ignore[union-attr]
    assert shop.query  # type: ignore[union-attr]  # the PromQL the availability came from
    # The same as the objectives' own interface says for the same window.
    targets = {t.name: t for t in built["objectives"].figures(monthly.period_start, monthly.period_end).targets}
    assert targets["mtta"].actual == mtta.value and targets["mttr"].actual == mttr.value  # type: ignore[union-attr]
    budget = objectives["Error budget per service"]
    assert isinstance(budget, Table) and budget.rows[0][0] == "shop" and budget.rows[0][4] == pytest.approx(100.0)


def test_monthly_slos_by_hand(built) -> None:
    [table] = section(built["monthly"], "SLOs and error budgets").values()
    assert isinstance(table, Table)
    rows = {row[1]: row for row in table.rows}
    # 1 % of the requests are 5xx against a 0.1 % budget: burn rate 10 in every window,
    # and over 30 days the budget is spent ten times: 1 - 10 = -900 % left.
    availability = rows["requests-availability"]
    assert availability[2] == 99.9 and availability[4] == pytest.approx(-900.0)
    assert all(rate == pytest.approx(10.0) for rate in availability[5:])
    # Every request within 0.5 s: no error, the whole budget left, burning nothing.
    latency = rows["requests-latency-p95"]
    assert latency[4] == pytest.approx(100.0) and all(rate == pytest.approx(0.0) for rate in latency[5:])
    assert table.statuses == ("bad", "ok")


def test_the_slo_table_from_slo_statuses() -> None:
    def status(name: str, left: float | None, rates: tuple[float | None, ...]) -> SLOStatus:
        return SLOStatus("api", name, f"api-{name}", "", 99.9, "30d", 0.001, None, left,
                         tuple(BurnRate(w, None, r) for w, r in zip(("5m", "1h", "6h"), rates, strict=True)))

    statuses = [status("availability", -9.0, (10.0, 10.0, 10.0)), status("latency", 0.2, (0.5, None, 1.0)),
                status("fresh", None, (None, None, None))]
    ctx = ReportContext(Engine(None), Config(), slos=lambda at: statuses)  # type: ignore[arg-type]
    [table] = _records.slos(ctx, recorded.AT)
    assert isinstance(table, Table)
    assert table.columns == ("service", "SLO", "objective", "period", "budget left", "burn 5m", "burn 1h", "burn 6h")
    assert table.rows[0] == ("api", "availability", 99.9, "30d", -900.0, 10.0, 10.0, 10.0)
    assert table.rows[1][4] == pytest.approx(20.0) and table.rows[1][5:] == (0.5, None, 1.0)
    assert table.rows[2][4] is None
    assert table.statuses == ("bad", "warn", "unknown")
    no_slos = ReportContext(Engine(None), Config(), slos=lambda at: [])  # type: ignore[arg-type]
    assert isinstance(_records.slos(no_slos, recorded.AT)[0], Note)


def test_daily_alerts_incidents_and_shifts(built) -> None:
    daily = built["daily"]
    alerts = section(daily, "Alerts and incidents (last 24 hours)")
    # Of the recorded episodes only E5 (P3, 2026-11-15 08:00 UTC, acknowledged after 10 min)
    # opened in the 24 hours before 12:00 UTC; nothing was left unacknowledged then.
    assert alerts["Alert episodes opened"].value == 1  # type: ignore[union-attr]
    assert alerts["Open and not acknowledged at the end of the period"].value == 0  # type: ignore[union-attr]
    episodes = alerts["Alert episodes"]
    assert isinstance(episodes, Table)
    assert episodes.rows == (("2026-11-15 10:00", "P3", "E5", "acknowledged", 10.0, ""),)
    # "Slow reports" (SEV-2, declared on the 12th) is still open.
    incidents = alerts["Incidents"]
    assert isinstance(incidents, Table) and [r[2] for r in incidents.rows] == ["Slow reports"]
    shifts = section(daily, "Shift checklists")
    [record] = built["shift"]
    checklist = next(i for i in shifts.values() if isinstance(i, Checklist))
    assert [line.item for line in checklist.lines] == [i.title for i in record.items]
    ticked = checklist.lines[-1]
    assert (ticked.done, ticked.by, ticked.evidence) == (True, "alice", "looked, all fine")
    assert any(isinstance(i, Note) and "watch the shop certificate" in i.text for i in shifts.values())
