"""The vigil_objective_* metrics: the recorded history and a real TSDB, exported through a
prometheus_client registry as Vigil's /metrics does, parsed back and compared with the
hand-computed figures."""

from __future__ import annotations

from datetime import timedelta

import pytest
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from tests.objectives.history import END, record_history
from vigil.config.objectives import ObjectivesConfig
from vigil.model import Labels
from vigil.objectives.exporter import ObjectivesExporter, window_label
from vigil.objectives.service import ObjectivesService
from vigil.promql import Engine
from vigil.state import Store
from vigil.state.incident_store import IncidentStore
from vigil.tsdb import DB


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    base = tmp_path_factory.mktemp("export")
    store = Store.open_in(str(base / "state"))
    store.migrate()
    record_history(store)
    with DB.open(base / "tsdb") as db:
        app = db.appender()
        first = END - timedelta(hours=1)
        for minute in range(61):
            at = int((first + timedelta(minutes=minute)).timestamp() * 1000)
            app.append(Labels({"__name__": "probe_success", "job": "api"}), at, 0.0 if 10 <= minute < 16 else 1.0)
        app.commit()
        config = ObjectivesConfig.model_validate({
            "availability_window": "1h",
            "services": [{"name": "api", "query": 'probe_success{job="api"}', "availability_percent": 80}]})
        service = ObjectivesService(config, store.engine, IncidentStore(store.engine), Engine(db))
        exporter = ObjectivesExporter(service, now=lambda: END)
        registry = CollectorRegistry()
        registry.register(exporter)
        before = generate_latest(registry).decode()
        exporter.refresh()
        text = generate_latest(registry).decode()
    store.close()
    samples = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            samples[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return before, samples


def _get(samples, name, **labels):
    return samples.get((name, tuple(sorted(labels.items()))))


def test_nothing_is_exported_before_the_first_refresh(exported):
    before, _ = exported
    assert "vigil_objective_mtta_seconds{" not in before


def test_record_figures_per_window(exported):
    _, s = exported
    # 30 days to 2026-11-20: the same episodes as the figures test (mean ack 294 s, 1 of 4 false).
    assert _get(s, "vigil_objective_mtta_seconds", priority="all", window="30d") == 294
    assert _get(s, "vigil_objective_mtta_seconds", priority="P1", window="30d") == 285
    assert _get(s, "vigil_objective_mttr_seconds", priority="all", window="30d") == 1860
    assert _get(s, "vigil_objective_false_positive_ratio", window="30d") == 0.25
    assert _get(s, "vigil_objective_episodes", priority="all", window="30d") == 6
    # 7 days: E5 (P3, acknowledged after 600 s, open) and E8 (P4, 60 s, no action needed).
    assert _get(s, "vigil_objective_mtta_seconds", priority="all", window="7d") == 330
    assert _get(s, "vigil_objective_mttr_seconds", priority="P3", window="7d") is None  # no resolution: no sample
    assert _get(s, "vigil_objective_false_positive_ratio", window="7d") == 0.0
    assert _get(s, "vigil_objective_target_met", objective="mtta", window="7d") == 0.0  # 330 s > 300 s
    assert _get(s, "vigil_objective_target_met", objective="mtta", window="30d") == 1.0
    # SEV-1 incidents declared in the 30 days: (3000 + 9000) / 2.
    assert _get(s, "vigil_objective_incident_mttr_seconds", incident_severity="SEV-1", window="30d") == 6000
    assert _get(s, "vigil_objective_target_met", objective="mttr", window="30d") == 0.0
    assert _get(s, "vigil_objective_target_met", objective="mttr", window="7d") is None  # none declared
    assert _get(s, "vigil_objective_refresh_timestamp_seconds") == END.timestamp()


def test_availability_and_budget(exported):
    _, s = exported
    # Down 6 of the 60 subquery points of the hour: 0.9; 360 s of a 720 s budget spent.
    assert _get(s, "vigil_objective_availability_ratio", service="api", window="1h") == pytest.approx(0.9)
    assert _get(s, "vigil_objective_error_budget_remaining_ratio", service="api", window="1h") == pytest.approx(0.5)
    assert _get(s, "vigil_objective_availability_target_ratio", service="api") == pytest.approx(0.8)
    assert _get(s, "vigil_objective_target_met", objective="availability:api", window="1h") == 1.0


def test_window_labels():
    assert [window_label(x) for x in (30 * 86400, 7200, 5400, 45)] == ["30d", "2h", "90m", "45s"]
