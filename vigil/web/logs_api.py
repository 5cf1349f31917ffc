"""Loki's HTTP query API over Vigil's log store, so Grafana's Loki data source and logcli
work against Vigil: ``/loki/api/v1/query``, ``query_range``, ``labels``,
``label/<name>/values``, ``series``, and the index endpoints Grafana asks for a query's size
and the logs volume, ``index/stats``, ``index/volume`` and ``index/volume_range``, counted
exactly (:mod:`vigil.logs.volume`) (GET, or POST with a form, as Loki).

Shapes follow Loki's API reference: ``{"status": "success", "data": {"resultType":
"streams" | "vector" | "matrix" | "scalar", "result": [...], "stats": {...}}}``; a stream is
``{"stream": {labels}, "values": [["<unix ns>", "<line>"], ...]}``, a metric sample as
Prometheus's. Times are Unix nanoseconds, Unix seconds with a fraction, or RFC 3339; a bare
integer of up to 10 digits is seconds (Loki's rule). Errors answer ``{"status": "error",
"code": N, "message": "<Loki's text>"}``: 400 for a query Loki would refuse (parse errors,
pipeline errors, bad parameters), 500 otherwise.
"""

from __future__ import annotations

import asyncio
import math
import re
import time
from collections.abc import Callable
from typing import Any

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response

from vigil.errors import VigilError
from vigil.gocompat.floats import format_sample_value
from vigil.gocompat.times import parse_rfc3339
from vigil.logs.logql import LogStream
from vigil.logs.logql import ParseError as LogQLParseError
from vigil.logs.logql import QueryError as LogQLQueryError
from vigil.logs.logql.ast import BinOp, LabelReplace, LogSelector, VectorAggregation
from vigil.logs.logql.parser import parse_expr, parse_log_selector
from vigil.logs.logql.units import parse_go_duration
from vigil.logs.runtime import LogsRuntime
from vigil.logs.volume import VolumeSeries, index_stats, volume
from vigil.model.matchers import Matcher
from vigil.promql.value import QueryResult
from vigil.web.formatting import Raw, dumps, format_timestamp, json_string
from vigil.web.params import Form, read_form
from vigil.web.results import labels_json, query_data

__all__ = ["LokiParamError", "logs_api_router", "parse_loki_time_ns"]

_S = 1_000_000_000
DEFAULT_SINCE_NS = 3600 * _S  # query_range without start: the last hour
DEFAULT_LABELS_SINCE_NS = 6 * 3600 * _S  # labels and series: the last six hours, as Loki
MAX_POINTS = 11_000  # per series, Loki's resolution limit
MAX_ENTRIES = 5000  # per log query, Loki's default max_entries_limit_per_query


class LokiParamError(ValueError):
    """A request parameter Loki would refuse with 400."""


def parse_loki_time_ns(text: str, default_ns: int) -> int:
    """Loki's time parameter: ``""`` → ``default_ns``; a number with a fraction is seconds;
    an integer of up to 10 digits is seconds, a longer one nanoseconds; else RFC 3339."""
    text = text.strip()
    if not text:
        return default_ns
    if "." in text:
        try:
            seconds = float(text)
        except ValueError:
            pass
        else:
            if math.isfinite(seconds):
                whole = math.floor(seconds)
                return whole * _S + round((seconds - whole) * 1000) * 1_000_000
    if re.fullmatch(r"-?\d+", text):
        value = int(text)
        return value * _S if len(text.lstrip("-")) <= 10 else value
    try:
        when = parse_rfc3339(text)
    except ValueError:
        raise LokiParamError(f'cannot parse "{text}" to a valid timestamp') from None
    return int(when.timestamp()) * _S + when.microsecond * 1000


def _parse_step_ns(text: str, start_ns: int, end_ns: int) -> int:
    if not text:  # Loki's default: about 250 points, at least a second apart
        return max(math.ceil((end_ns - start_ns) / _S / 250), 1) * _S
    try:
        return round(float(text) * _S)
    except ValueError:
        pass
    try:
        return parse_go_duration(text)
    except ValueError:
        raise LokiParamError(f'cannot parse "{text}" to a valid duration') from None


def _parse_limit(text: str, default: int = 100) -> int:
    if not text:
        return default
    try:
        limit = int(text)
    except ValueError:
        raise LokiParamError(f'cannot parse "{text}" to a valid limit') from None
    if limit <= 0:
        raise LokiParamError("limit must be a positive value")
    if limit > MAX_ENTRIES:
        raise LokiParamError("max entries limit per query exceeded, limit > "
                             f"max_entries_limit_per_query ({limit} > {MAX_ENTRIES})")
    return limit


def _parse_direction(text: str) -> str:
    direction = text.lower() or "backward"
    if direction not in ("forward", "backward"):
        raise LokiParamError(f"invalid direction '{text}'")
    return direction


def _window(form: Form, now_ns: int, since_ns: int) -> tuple[int, int]:
    """``[start, end)``; without ``start``, ``since`` (or the default) before ``end``, or
    before now when ``end`` is in the future (Loki's rule)."""
    end = parse_loki_time_ns(form.get("end"), now_ns)
    since = form.get("since")
    if since:
        try:
            since_ns = parse_go_duration(since)
        except ValueError:
            raise LokiParamError(f'cannot parse "{since}" to a valid duration') from None
    start = parse_loki_time_ns(form.get("start"), min(end, now_ns) - since_ns)
    if end < start:
        raise LokiParamError("end timestamp must not be before or equal to start time")
    return start, end


def _error(status: int, message: str) -> Response:
    return Response(dumps({"status": "error", "code": status, "message": message}),
                    status_code=status, media_type="application/json")


def _success(data: Any) -> Response:
    return Response(dumps({"status": "success", "data": data}), media_type="application/json")


def streams_json(streams: list[LogStream]) -> Raw:
    parts = []
    for s in streams:
        values = ",".join(f'["{ts}",{dumps(line)}]' for ts, line in s.entries)
        parts.append(f'{{"stream":{labels_json(s.labels)},"values":[{values}]}}')
    return Raw("[" + ",".join(parts) + "]")


def _stats(started: float, entries: int) -> dict[str, Any]:
    # Only what Vigil measures; Loki's querier/ingester/cache sections do not apply.
    return {"summary": {"execTime": time.perf_counter() - started, "queueTime": 0,
                        "totalEntriesReturned": entries}}


def _data(result_type: str, result: Raw, stats: dict[str, Any]) -> Raw:
    return Raw(f'{{"resultType":"{result_type}","result":{result},"stats":{dumps(stats)}}}')


def _metric_data(value: Any, started: float) -> Raw:
    # query_data writes {"resultType":..,"result":..} as Prometheus; Loki adds stats.
    data = query_data(QueryResult(value))
    entries = len(getattr(value, "samples", ()) or getattr(value, "series", ()))
    return Raw(data[:-1] + f',"stats":{dumps(_stats(started, entries))}}}')


def _now_ns() -> int:
    return time.time_ns()


def _has_approx_topk(expr: object) -> bool:
    if isinstance(expr, VectorAggregation):
        return expr.op == "approx_topk" or _has_approx_topk(expr.expr)
    if isinstance(expr, BinOp):
        return _has_approx_topk(expr.lhs) or _has_approx_topk(expr.rhs)
    return isinstance(expr, LabelReplace) and _has_approx_topk(expr.expr)


def _index_matchers(text: str, match_any: bool) -> tuple[Matcher, ...]:
    """The matchers of the index endpoints' ``query``: a stream selector only (Loki's
    ``only label matchers are supported`` otherwise); ``{}`` for every stream where
    ``match_any`` (the volume endpoints)."""
    if match_any and text.strip() == "{}":
        return ()
    expr = parse_expr(text)
    if not isinstance(expr, LogSelector) or expr.stages:
        raise LokiParamError("only label matchers are supported")
    return expr.matchers


def _volume_limit(text: str) -> int:
    if not text:
        return 100
    try:
        limit = int(text)
    except ValueError:
        raise LokiParamError(f'cannot parse "{text}" to a valid limit') from None
    if limit < 0:
        raise LokiParamError("limit must be a positive value")
    return limit or 100


def _volume_data(found: list[VolumeSeries]) -> Raw:
    """Prometheus's vector or matrix shape; a vector unless a series has several points
    (Loki's rule, so a one-bucket ``volume_range`` answers a vector too)."""
    matrix = any(len(s.points) > 1 for s in found)
    parts = []
    for s in found:
        metric = "{" + ",".join(f"{json_string(k)}:{json_string(v)}"
                                for k, v in s.metric.items()) + "}"
        points = [f'[{format_timestamp(t)},"{format_sample_value(float(v))}"]'
                  for t, v in s.points]
        body = f'"values":[{",".join(points)}]' if matrix else f'"value":{points[0]}'
        parts.append(f'{{"metric":{metric},{body}}}')
    kind = "matrix" if matrix else "vector"
    return Raw(f'{{"resultType":"{kind}","result":[{",".join(parts)}]}}')


def logs_api_router(logs: LogsRuntime | None) -> APIRouter:
    router = APIRouter()

    async def answer(request: Request, work: Callable[[Form], Any],
                     enveloped: bool = True) -> Response:
        if logs is None:
            return _error(404, "logs are not enabled (logs.enabled: false)")
        form = await read_form(request)
        try:
            data = await asyncio.to_thread(work, form)
            if not enveloped:  # index/stats answers the bare object, as Loki
                return Response(dumps(data), media_type="application/json")
            return _success(data)
        except (LokiParamError, LogQLParseError, LogQLQueryError) as e:
            return _error(400, str(e))
        except VigilError as e:
            return _error(500, str(e))

    def query_range(form: Form) -> Raw:
        assert logs is not None
        started = time.perf_counter()
        query = form.get("query")
        start, end = _window(form, _now_ns(), DEFAULT_SINCE_NS)
        limit = _parse_limit(form.get("limit"))
        direction = _parse_direction(form.get("direction"))
        expr = parse_expr(query)
        if isinstance(expr, LogSelector):
            streams = logs.engine.select_logs(expr, start, end, limit, direction)
            return _data("streams", streams_json(streams),
                         _stats(started, sum(len(s.entries) for s in streams)))
        if _has_approx_topk(expr):  # even a one-step range query (Loki: by its type)
            raise LogQLQueryError("count min sketches are only supported on instant queries")
        step = _parse_step_ns(form.get("step"), start, end)
        if step <= 0:
            raise LokiParamError("zero or negative query resolution step widths are not "
                                 "accepted. Try a positive integer")
        if (end - start) // step > MAX_POINTS:
            raise LokiParamError(f"exceeded maximum resolution of {MAX_POINTS:,} points per "
                                 "timeseries. Try increasing the value of the step parameter")
        return _metric_data(logs.engine.range(expr, start, end, step), started)

    def query(form: Form) -> Raw:
        assert logs is not None
        started = time.perf_counter()
        at = parse_loki_time_ns(form.get("time"), _now_ns())
        _parse_limit(form.get("limit"))
        _parse_direction(form.get("direction"))
        return _metric_data(logs.engine.instant(form.get("query"), at), started)

    def labels(form: Form) -> list[str]:
        assert logs is not None
        start, end = _window(form, _now_ns(), DEFAULT_LABELS_SINCE_NS)
        selector = form.get("query")
        if not selector:
            return logs.store.label_names(start, end)
        streams = logs.store.streams(parse_log_selector(selector).matchers, start, end)
        return sorted({name for s in streams for name, _ in s})

    def label_values(name: str) -> Callable[[Form], list[str]]:
        def work(form: Form) -> list[str]:
            assert logs is not None
            start, end = _window(form, _now_ns(), DEFAULT_LABELS_SINCE_NS)
            selector = form.get("query")
            matchers = parse_log_selector(selector).matchers if selector else ()
            return logs.store.label_values(name, start, end, matchers)
        return work

    def series(form: Form) -> list[Raw]:
        assert logs is not None
        start, end = _window(form, _now_ns(), DEFAULT_LABELS_SINCE_NS)
        selectors = form.get_all("match[]") or form.get_all("match")
        if not selectors:
            raise LokiParamError("at least one match[] argument must be provided")
        found: set[Any] = set()
        for selector in selectors:
            found.update(logs.store.streams(parse_log_selector(selector).matchers, start, end))
        return [labels_json(s) for s in sorted(found)]

    def stats(form: Form) -> dict[str, int]:
        assert logs is not None
        start, end = _window(form, _now_ns(), DEFAULT_SINCE_NS)
        found = index_stats(logs.store, _index_matchers(form.get("query"), False), start, end)
        return {"streams": found.streams, "chunks": found.chunks, "entries": found.entries,
                "bytes": found.bytes}

    def volume_of(ranged: bool) -> Callable[[Form], Raw]:
        def work(form: Form) -> Raw:
            assert logs is not None
            start, end = _window(form, _now_ns(), DEFAULT_SINCE_NS)
            limit = _volume_limit(form.get("limit"))
            aggregate_by = form.get("aggregateBy") or "series"
            if aggregate_by not in ("series", "labels"):
                raise LokiParamError("invalid aggregation option")
            matchers = _index_matchers(form.get("query"), True)
            step = 0
            if ranged:
                step = _parse_step_ns(form.get("step"), start, end)
                if step <= 0:
                    raise LokiParamError("zero or negative query resolution step widths are "
                                         "not accepted. Try a positive integer")
                if (end - start) // step > MAX_POINTS:
                    raise LokiParamError(f"exceeded maximum resolution of {MAX_POINTS:,} points "
                                         "per timeseries. Try increasing the value of the step "
                                         "parameter")
            targets = [t.strip() for t in form.get("targetLabels").split(",") if t.strip()]
            return _volume_data(volume(logs.store, matchers, start, end, step_ns=step,
                                       limit=limit, target_labels=targets,
                                       aggregate_by=aggregate_by))
        return work

    @router.api_route("/loki/api/v1/index/stats", methods=["GET", "POST"],
                      include_in_schema=False)
    async def loki_index_stats(request: Request) -> Response:
        return await answer(request, stats, enveloped=False)

    @router.api_route("/loki/api/v1/index/volume", methods=["GET", "POST"],
                      include_in_schema=False)
    async def loki_volume(request: Request) -> Response:
        return await answer(request, volume_of(False))

    @router.api_route("/loki/api/v1/index/volume_range", methods=["GET", "POST"],
                      include_in_schema=False)
    async def loki_volume_range(request: Request) -> Response:
        return await answer(request, volume_of(True))

    @router.api_route("/loki/api/v1/query_range", methods=["GET", "POST"],
                      include_in_schema=False)
    async def loki_query_range(request: Request) -> Response:
        return await answer(request, query_range)

    @router.api_route("/loki/api/v1/query", methods=["GET", "POST"], include_in_schema=False)
    async def loki_query(request: Request) -> Response:
        return await answer(request, query)

    @router.api_route("/loki/api/v1/labels", methods=["GET", "POST"], include_in_schema=False)
    async def loki_labels(request: Request) -> Response:
        return await answer(request, labels)

    @router.get("/loki/api/v1/label/{name}/values", include_in_schema=False)
    async def loki_label_values(name: str, request: Request) -> Response:
        return await answer(request, label_values(name))

    @router.api_route("/loki/api/v1/series", methods=["GET", "POST"], include_in_schema=False)
    async def loki_series(request: Request) -> Response:
        return await answer(request, series)

    return router
