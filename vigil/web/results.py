"""Query results and API objects as Prometheus's JSON (``web/api/v1`` shapes)."""

from __future__ import annotations

from collections.abc import Iterable

from vigil.collect.target import TargetStatus
from vigil.gocompat.durations import format_duration_ms
from vigil.gocompat.floats import (
    format_float_e,
    format_float_f,
    format_json_float,
    format_sample_value,
)
from vigil.gocompat.times import format_rfc3339_nano
from vigil.model.labels import Labels
from vigil.promql.value import Matrix, QueryResult, Scalar, String, Value, Vector
from vigil.rules.status import ActiveAlert, GroupStatus, RuleStatus
from vigil.web.formatting import Raw, format_timestamp, json_string
from vigil.web.matrix_json import series_points_text

__all__ = ["alert_json", "group_json", "labels_json", "query_data", "target_json", "truncate"]


def labels_json(labels: Labels) -> Raw:
    return Raw("{" + ",".join(f"{json_string(k)}:{json_string(v)}" for k, v in labels) + "}")


def _point(ts_ms: int, value: float) -> str:
    return f'[{format_timestamp(ts_ms)},"{format_sample_value(value)}"]'


def _vector(v: Vector) -> str:
    return "[" + ",".join(
        f'{{"metric":{labels_json(s.labels)},"value":{_point(s.ts_ms, s.value)}}}'
        for s in v.samples) + "]"


def _matrix(m: Matrix) -> str:
    points = series_points_text([s.timestamps for s in m.series], [s.values for s in m.series])
    parts = []
    for s, text in zip(m.series, points, strict=True):
        body = f'{{"metric":{labels_json(s.labels)}'
        if len(s.timestamps):
            body += f',"values":[{text}]'
        parts.append(body + "}")
    return "[" + ",".join(parts) + "]"


def _result(value: Value) -> str:
    if isinstance(value, Vector):
        return _vector(value)
    if isinstance(value, Matrix):
        return _matrix(value)
    # Scalars and strings go through Go's plain float64 encoding of the timestamp.
    ts = format_json_float(value.ts_ms / 1000)
    if isinstance(value, Scalar):
        return f'[{ts},"{format_float_f(value.value)}"]'
    assert isinstance(value, String)
    return f"[{ts},{json_string(value.value)}]"


def query_data(result: QueryResult) -> Raw:
    """The ``data`` object of ``/query`` and ``/query_range``."""
    value = result.value
    return Raw(f'{{"resultType":"{value.type}","result":{_result(value)}}}')


def truncate(value: Value, limit: int) -> tuple[Value, bool]:
    """At most ``limit`` series of a vector or matrix (0 = all); True if some were cut."""
    if limit <= 0:
        return value, False
    if isinstance(value, Vector) and len(value.samples) > limit:
        return Vector(value.samples[:limit]), True
    if isinstance(value, Matrix) and len(value.series) > limit:
        return Matrix(value.series[:limit]), True
    return value, False


def target_json(t: TargetStatus) -> dict[str, object]:
    return {
        "discoveredLabels": labels_json(t.discovered_labels),
        "labels": labels_json(t.labels),
        "scrapePool": t.job,
        "scrapeUrl": t.scrape_url,
        # Vigil does not rewrite localhost to an external name, so both URLs agree.
        "globalUrl": t.scrape_url,
        "lastError": t.last_error,
        "lastScrape": format_rfc3339_nano(t.last_scrape),
        "lastScrapeDuration": float(t.last_scrape_duration_s),
        "health": t.health,
        "scrapeInterval": format_duration_ms(round(t.scrape_interval_s * 1000)),
        "scrapeTimeout": format_duration_ms(round(t.scrape_timeout_s * 1000)),
    }


def alert_json(a: ActiveAlert) -> dict[str, object]:
    out: dict[str, object] = {
        "labels": labels_json(a.labels),
        "annotations": labels_json(a.annotations),
        "state": a.state,
        "activeAt": format_rfc3339_nano(a.active_at),
    }
    if a.keep_firing_since is not None:
        out["keepFiringSince"] = format_rfc3339_nano(a.keep_firing_since)
    # Prometheus spells alert values in exponent form ('e', -1), unlike sample values.
    out["value"] = format_float_e(a.value)
    return out


def _rule_json(r: RuleStatus, with_alerts: bool) -> dict[str, object]:
    out: dict[str, object]
    if r.type == "alerting":
        out = {
            "state": r.state,
            "name": r.name,
            "query": r.query,
            "duration": float(r.duration_s),
            "keepFiringFor": float(r.keep_firing_for_s),
            "labels": labels_json(r.labels),
            "annotations": labels_json(r.annotations),
            "alerts": [alert_json(a) for a in r.alerts] if with_alerts else None,
            "health": r.health,
        }
    else:
        out = {"name": r.name, "query": r.query, "labels": labels_json(r.labels),
               "health": r.health}
    if r.last_error:
        out["lastError"] = r.last_error
    out["evaluationTime"] = float(r.evaluation_time_s)
    out["lastEvaluation"] = format_rfc3339_nano(r.last_evaluation)
    out["type"] = r.type
    return out


def group_json(g: GroupStatus, rules: Iterable[RuleStatus], with_alerts: bool) -> dict[str, object]:
    return {
        "name": g.name,
        "file": g.file,
        "rules": [_rule_json(r, with_alerts) for r in rules],
        "interval": float(g.interval_s),
        "limit": 0,
        "evaluationTime": float(g.evaluation_time_s),
        "lastEvaluation": format_rfc3339_nano(g.last_evaluation),
    }
