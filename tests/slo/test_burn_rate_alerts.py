"""End to end through Vigil's rule manager: the shipped API SLOs' generated rules (Sloth's
recordings and multi-window multi-burn-rate alerts) evaluated over series with a known error
rate, as ``vigil rules test`` runs them (a real TSDB per test group).

With 2 % of requests failing, the availability SLO (99.9 %, budget 0.1 %) burns at 20× —
over the page threshold 14.4× on 5m/1h and the ticket thresholds (3×, 1×): both alerts fire.
With 0.05 % failing (0.5×) neither does. With 1 % of requests slower than 0.5 s, the p95
latency SLO (95 %, budget 5 %) burns at 0.2×: no alert; with 50 % slow (10×) only the
slow-page and ticket windows are over (10 < 14.4 but > 6).
"""

from __future__ import annotations

from pathlib import Path

import yaml

from vigil.cli.rules import temporary_tsdb
from vigil.rules.unittest import run_test_file
from vigil.slo.generate import render_rules
from vigil.slo.loader import SHIPPED_DIR, load_slo_file

ID_LABELS = {"sloth_service": "api", "owner": "sre"}


def _alert(slo: str, name: str, severity: str, sloth_severity: str, category: str,
           summary: str, runbook: str) -> dict:
    labels = {**ID_LABELS, "sloth_id": f"api-{slo}", "sloth_slo": slo, "severity": severity,
              "sloth_severity": sloth_severity, "category": category}
    return {"exp_labels": labels, "exp_annotations": {
        "summary": summary, "runbook": runbook,
        "title": f"({sloth_severity}) api {slo} SLO error budget burn rate is too fast."}}


AVAIL = ("requests-availability", "APIHighErrorRate", "availability",
         "The API's 5xx rate burns its 30-day error budget too fast.",
         "smart-dairy-monitoring-runbook.md §3.2 (Error Rate)")
LATENCY = ("requests-latency-p95", "APIHighLatency", "latency",
           "More than 5 % of API requests take over 500 ms: the p95 objective is at risk.",
           "smart-dairy-monitoring-runbook.md §3.2 (Response Time p95)")


def _alerts(spec: tuple, *severities: str) -> list[dict]:
    slo, _, category, summary, runbook = spec
    sev = {"page": "critical", "ticket": "warning"}
    return [_alert(slo, spec[1], sev[s], s, category, summary, runbook) for s in severities]


def _series(errors_per_min: int, slow_per_min: int) -> list[dict]:
    return [
        {"series": 'http_requests_total{job="odoo",status="200"}', "values": f"0+{1000 - errors_per_min}x150"},
        {"series": 'http_requests_total{job="odoo",status="500"}', "values": f"0+{errors_per_min}x150"},
        {"series": 'http_request_duration_seconds_count{job="odoo"}', "values": "0+1000x150"},
        {"series": 'http_request_duration_seconds_bucket{job="odoo",le="0.5"}',
         "values": f"0+{1000 - slow_per_min}x150"},
    ]


def _run(tmp_path: Path, tests: list[dict]) -> list[str]:
    shipped = str(SHIPPED_DIR / "api.yml")
    (tmp_path / "slo-rules.yml").write_text(render_rules(load_slo_file(shipped), shipped))
    test_file = tmp_path / "test.yml"
    test_file.write_text(yaml.safe_dump({"rule_files": ["slo-rules.yml"],
                                         "evaluation_interval": "1m", "tests": tests}))
    outcome = run_test_file(str(test_file), storage=temporary_tsdb)
    assert outcome.groups_run == len(tests)
    return outcome.errors


def test_known_error_rates_fire_the_expected_alerts(tmp_path: Path) -> None:
    at = "90m"
    errors = _run(tmp_path, [
        {"name": "2% errors, 1% slow", "interval": "1m", "input_series": _series(20, 10),
         "alert_rule_test": [
             {"eval_time": at, "alertname": "APIHighErrorRate",
              "exp_alerts": _alerts(AVAIL, "page", "ticket")},
             {"eval_time": at, "alertname": "APIHighLatency", "exp_alerts": []}]},
        {"name": "0.05% errors, 50% slow", "interval": "1m", "input_series": _series(0, 500)
         + [{"series": 'http_requests_total{job="odoo",status="503"}', "values": "0+0.5x150"}],
         "alert_rule_test": [
             {"eval_time": at, "alertname": "APIHighErrorRate", "exp_alerts": []},
             {"eval_time": at, "alertname": "APIHighLatency",
              "exp_alerts": _alerts(LATENCY, "page", "ticket")}]},
        {"name": "recorded burn rate", "interval": "1m", "input_series": _series(20, 10),
         "promql_expr_test": [
             {"expr": 'round(slo:current_burn_rate:ratio{sloth_slo="requests-availability"}, 0.001)',
              "eval_time": at, "exp_samples": [{"labels": (
                  '{owner="sre", sloth_id="api-requests-availability",'
                  ' sloth_service="api", sloth_slo="requests-availability", sloth_window="5m"}'),
                  "value": 20}]}]},
    ])
    assert errors == []


def test_a_wrong_expectation_fails(tmp_path: Path) -> None:
    """The check can fail: at 2 % errors, expecting no availability alert is an error."""
    errors = _run(tmp_path, [
        {"name": "2% errors", "interval": "1m", "input_series": _series(20, 10),
         "alert_rule_test": [{"eval_time": "90m", "alertname": "APIHighErrorRate",
                              "exp_alerts": []}]}])
    assert len(errors) == 1 and "APIHighErrorRate" in errors[0]
