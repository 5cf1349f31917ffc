"""The Prometheus HTTP API (``/api/v1/...``), with Prometheus's JSON shapes, status codes and
error messages so that Grafana and other Prometheus clients work unchanged.

Every response is ``{"status": "success", "data": ...}`` or
``{"status": "error", "errorType": ..., "error": ...}``; ``bad_data`` is 400, ``execution``
422, ``timeout`` 503, ``internal`` 500. Queries run on the threads of a
:class:`vigil.web.query_gate.QueryGate` (``query.max_concurrency`` at once).

A query's errors map as Prometheus's ``returnAPIError`` does: one that does not parse, or
that Prometheus rejects when it creates the query (a range query of a range vector, a
duration expression that resolves to nothing), is ``bad_data`` on the ``query`` parameter;
everything the engine raises while evaluating is ``execution``, a timeout ``timeout``. Only a
failing store or a bug outside the engine is ``internal``, still in this JSON shape.
"""

from __future__ import annotations

import asyncio
import logging
import platform
from collections.abc import Awaitable, Callable, Sequence

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response

from vigil.errors import ParseError, QueryError, VigilError
from vigil.gocompat.durations import parse_seconds_or_duration_ns
from vigil.model.labels import Labels
from vigil.model.matchers import Matcher
from vigil.promql.value import QueryResult
from vigil.web.api_status import flags, runtime_info, tsdb_status
from vigil.web.deps import WebDeps
from vigil.web.formatting import dumps
from vigil.web.params import (
    MAX_TIME_MS,
    MIN_TIME_MS,
    Form,
    parse_limit,
    parse_time_ms,
    read_form,
)
from vigil.web.query_gate import QueryGate
from vigil.web.results import (
    alert_json,
    group_json,
    labels_json,
    query_data,
    target_json,
    truncate,
)

__all__ = ["ApiError", "MAX_POINTS", "api_router", "parse_error_message"]

MAX_POINTS = 11_000
_STATUS = {"bad_data": 400, "execution": 422, "canceled": 499, "timeout": 503,
           "internal": 500, "not_found": 404, "unavailable": 503}
_log = logging.getLogger(__name__)


class ApiError(Exception):
    """An API failure; ``error_type`` is one of Prometheus's (``bad_data``, ``execution``...)."""

    def __init__(self, error_type: str, message: str) -> None:
        self.error_type = error_type
        self.message = message
        super().__init__(f"{error_type}: {message}")


def _invalid(param: str, message: str) -> ApiError:
    return ApiError("bad_data", f'invalid parameter "{param}": {message}')


def parse_error_message(err: ParseError) -> str:
    """Prometheus's spelling of a parse error: ``1:5: parse error: unexpected ...``."""
    message = str(err)
    if err.line is None or message.startswith(f"{err.line}:"):
        return message
    if not message.startswith("parse error"):
        message = f"parse error: {message}"
    return f"{err.line}:{err.column or 1}: {message}"


def _json_response(body: dict[str, object], status: int = 200) -> Response:
    return Response(dumps(body), status_code=status, media_type="application/json")


def _success(data: object, warnings: Sequence[str] = (), infos: Sequence[str] = ()) -> Response:
    body: dict[str, object] = {"status": "success", "data": data}
    if warnings:
        body["warnings"] = list(warnings)
    if infos:
        body["infos"] = list(infos)
    return _json_response(body)


def _failure(err: ApiError) -> Response:
    body = {"status": "error", "errorType": err.error_type, "error": err.message}
    return _json_response(body, _STATUS.get(err.error_type, 500))


_CORS_HEADERS = {
    "Access-Control-Allow-Headers": "Accept, Authorization, Content-Type, Origin",
    "Access-Control-Allow-Methods": "GET, POST, OPTIONS",
    "Access-Control-Expose-Headers": "Date",
}


def _with_cors(request: Request, response: Response) -> Response:
    """Allow browsers on any origin to call the API, as Prometheus does by default
    (``--web.cors.origin=.*``), so a browser-side Grafana data source works."""
    response.headers.append("Vary", "Origin")
    if request.headers.get("origin"):
        response.headers.update(_CORS_HEADERS)
        response.headers["Access-Control-Allow-Origin"] = "*"
    return response


def _time_param(form: Form, name: str, default_ms: int) -> int:
    text = form.get(name)
    if text == "":
        return default_ms
    try:
        return parse_time_ms(text)
    except ValueError as e:
        raise _invalid(name, f"invalid time value for '{name}': {e}") from None


def _required_time(form: Form, name: str) -> int:
    try:
        return parse_time_ms(form.get(name))
    except ValueError as e:
        raise _invalid(name, str(e)) from None


def _duration_param(form: Form, name: str) -> int:
    try:
        return parse_seconds_or_duration_ns(form.get(name))
    except ValueError as e:
        raise _invalid(name, str(e)) from None


def _timeout_s(form: Form) -> float | None:
    if form.get("timeout") == "":
        return None
    return _duration_param(form, "timeout") / 1e9


def _limit(form: Form) -> int:
    try:
        return parse_limit(form.get("limit"))
    except ValueError as e:
        raise _invalid("limit", str(e)) from None


async def _run_query(gate: QueryGate, call: Callable[[], Response],
                     timeout_s: float | None) -> Response:
    """Evaluate and encode on the gate's threads, never on the event loop: one hand-off per
    query (a second one for encoding cost a small query a fair share of its time). A
    timed-out evaluation keeps its thread until it ends; the engine has its own deadline."""
    try:
        return await gate.query(call, timeout_s)
    except ParseError as e:
        raise _invalid("query", parse_error_message(e)) from None
    except TimeoutError:
        raise ApiError("timeout", "query timed out in expression evaluation") from None
    except QueryError as e:
        kind = "timeout" if str(e).startswith("query timed out") else "execution"
        raise ApiError(kind, str(e)) from None


def _query_response(result: QueryResult, limit: int) -> Response:
    warnings = list(result.warnings)
    value, cut = truncate(result.value, limit)
    if cut:
        warnings.append("results truncated due to limit")
        result = QueryResult(value, tuple(warnings), result.infos)
    return _success(query_data(result), warnings, result.infos)


def _matcher_sets(deps: WebDeps, selectors: list[str]) -> list[list[Matcher]]:
    """Parse ``match[]`` values; raises ValueError with Prometheus's message."""
    sets = []
    for text in selectors:
        try:
            matchers = deps.parse_matchers(text)
        except ParseError as e:
            raise ValueError(parse_error_message(e)) from None
        except VigilError as e:  # e.g. an expression that is not a plain selector
            raise ValueError(str(e)) from None
        if all(m.matches_empty() for m in matchers):
            raise ValueError("match[] must contain at least one non-empty matcher")
        sets.append(matchers)
    return sets


def api_router(deps: WebDeps) -> APIRouter:
    """The ``/api/v1`` routes, reading everything through ``deps``."""
    router = APIRouter(prefix="/api/v1")
    started_s = deps.now()  # runtimeinfo's startTime: when the API was built, at app start
    gate = deps.query_gate or QueryGate()

    def now_ms() -> int:
        return round(deps.now() * 1000)

    def route(path: str, methods: tuple[str, ...] = ("GET",)):
        def register(fn: Callable[[Request, Form], Awaitable[Response]]):
            async def handler(request: Request) -> Response:
                if not deps.ready():
                    return PlainTextResponse("Service Unavailable", status_code=503)
                try:
                    response = await fn(request, await read_form(request))
                except ApiError as e:
                    response = _failure(e)
                except Exception as e:  # a failing stage must still answer in API form
                    _log.exception("internal error serving %s", request.url.path)
                    response = _failure(ApiError("internal", str(e) or type(e).__name__))
                return _with_cors(request, response)

            handler.__name__ = fn.__name__
            router.add_api_route(path, handler, methods=list(methods), include_in_schema=False)
            return fn
        return register

    async def preflight(request: Request) -> Response:
        return _with_cors(request, Response(status_code=204))

    router.add_api_route("/{path:path}", preflight, methods=["OPTIONS"],
                         include_in_schema=False)

    @route("/query", ("GET", "POST"))
    async def query(request: Request, form: Form) -> Response:
        limit = _limit(form)
        ts_ms = _time_param(form, "time", now_ms())
        timeout_s = _timeout_s(form)
        text = form.get("query")
        def evaluate() -> Response:
            with deps.metrics.query_duration.labels("instant").time():
                result = deps.engine.instant_query(text, ts_ms)
            return _query_response(result, limit)

        return await _run_query(gate, evaluate, timeout_s)

    @route("/query_range", ("GET", "POST"))
    async def query_range(request: Request, form: Form) -> Response:
        limit = _limit(form)
        start_ms = _required_time(form, "start")
        end_ms = _required_time(form, "end")
        if end_ms < start_ms:
            raise _invalid("end", "end timestamp must not be before start time")
        step_ns = _duration_param(form, "step")
        if step_ns <= 0:
            raise _invalid("step", "zero or negative query resolution step widths are not "
                                   "accepted. Try a positive integer")
        if (end_ms - start_ms) * 1_000_000 // step_ns > MAX_POINTS:
            raise ApiError("bad_data", "exceeded maximum resolution of 11,000 points per "
                                       "timeseries. Try decreasing the query resolution "
                                       "(?step=XX)")
        timeout_s = _timeout_s(form)
        step_ms = max(step_ns // 1_000_000, 1)
        text = form.get("query")
        def evaluate() -> Response:
            with deps.metrics.query_duration.labels("range").time():
                result = deps.engine.range_query(text, start_ms, end_ms, step_ms)
            return _query_response(result, limit)

        return await _run_query(gate, evaluate, timeout_s)

    @route("/series", ("GET", "POST"))
    async def series(request: Request, form: Form) -> Response:
        selectors = form.get_all("match[]")
        if not selectors:
            raise ApiError("bad_data", "no match[] parameter provided")
        limit = _limit(form)
        start_ms = _time_param(form, "start", MIN_TIME_MS)
        end_ms = _time_param(form, "end", MAX_TIME_MS)
        try:
            sets = _matcher_sets(deps, selectors)
        except ValueError as e:
            raise _invalid("match[]", str(e)) from None

        def select() -> list[Labels]:
            q = deps.storage.querier(start_ms, end_ms)
            try:
                found = {s.labels for matchers in sets for s in q.select(matchers)}
            finally:
                q.close()
            return sorted(found)

        found = await asyncio.to_thread(select)
        warnings = []
        if limit and len(found) > limit:
            found = found[:limit]
            warnings.append("results truncated due to limit")
        return _success([labels_json(ls) for ls in found], warnings)

    async def _label_lookup(form: Form, lookup: Callable[[object, list[Matcher]], list[str]]
                            ) -> Response:
        limit = _limit(form)
        start_ms = _time_param(form, "start", MIN_TIME_MS)
        end_ms = _time_param(form, "end", MAX_TIME_MS)
        try:
            sets = _matcher_sets(deps, form.get_all("match[]"))
        except ValueError as e:
            raise ApiError("bad_data", str(e)) from None

        def run() -> list[str]:
            q = deps.storage.querier(start_ms, end_ms)
            try:
                found: set[str] = set()
                for matchers in sets or [[]]:
                    found.update(lookup(q, matchers))
            finally:
                q.close()
            return sorted(found)

        names = await asyncio.to_thread(run)
        warnings = []
        if limit and len(names) > limit:
            names = names[:limit]
            warnings.append("results truncated due to limit")
        return _success(names, warnings)

    @route("/labels", ("GET", "POST"))
    async def labels(request: Request, form: Form) -> Response:
        return await _label_lookup(form, lambda q, ms: q.label_names(ms))

    @route("/label/{name}/values")
    async def label_values(request: Request, form: Form) -> Response:
        name = request.path_params["name"]
        if not name:
            raise ApiError("bad_data", f'invalid label name: "{name}"')
        return await _label_lookup(form, lambda q, ms: q.label_values(name, ms))

    @route("/targets")
    async def targets(request: Request, form: Form) -> Response:
        pool = request.query_params.get("scrapePool", "")
        state = request.query_params.get("state", "").lower()
        show_active = state in ("", "any", "active")
        show_dropped = state in ("", "any", "dropped")
        all_targets = deps.targets.targets()
        pools = sorted({t.job for t in all_targets})
        active = []
        if show_active:
            for name in pools:
                if pool and name != pool:
                    continue
                active.extend(target_json(t) for t in all_targets if t.job == name)
        data: dict[str, object] = {"activeTargets": active, "droppedTargets": []}
        if show_dropped:
            dropped = deps.targets.dropped_targets()
            counts = {name: 0 for name in pools}
            for d in dropped:
                counts[d.job] = counts.get(d.job, 0) + 1
            data["droppedTargets"] = [{"discoveredLabels": d.discovered_labels.to_dict()}
                                      for d in dropped if not pool or d.job == pool]
            data["droppedTargetCounts"] = counts
        else:
            data["droppedTargetCounts"] = None
        return _success(data)

    @route("/rules")
    async def rules(request: Request, form: Form) -> Response:
        typ = request.query_params.get("type", "").lower()
        if typ not in ("", "alert", "record"):
            raise _invalid("type", f'not supported value "{typ}"')
        exclude = request.query_params.get("exclude_alerts", "").lower()
        if exclude not in ("", "true", "false", "1", "0", "t", "f"):
            raise _invalid("exclude_alerts", f'error converting exclude_alerts: '
                                             f'strconv.ParseBool: parsing "{exclude}": '
                                             f'invalid syntax')
        with_alerts = exclude not in ("true", "1", "t")
        wanted_types = {"": ("alerting", "recording"), "alert": ("alerting",),
                        "record": ("recording",)}[typ]
        names = set(form.get_all("rule_name[]"))
        groups = set(form.get_all("rule_group[]"))
        files = set(form.get_all("file[]"))
        out = []
        for g in deps.rules.groups():
            if (groups and g.name not in groups) or (files and g.file not in files):
                continue
            chosen = [r for r in g.rules
                      if r.type in wanted_types and (not names or r.name in names)]
            if chosen:
                out.append(group_json(g, chosen, with_alerts))
        return _success({"groups": out})

    @route("/alerts")
    async def alerts(request: Request, form: Form) -> Response:
        return _success({"alerts": [alert_json(a) for a in deps.rules.alerts()]})

    @route("/status/buildinfo")
    async def buildinfo(request: Request, form: Form) -> Response:
        return _success({"version": deps.version, "revision": "", "branch": "",
                         "buildUser": "", "buildDate": "",
                         "goVersion": f"python{platform.python_version()}"})

    @route("/status/config")
    async def config(request: Request, form: Form) -> Response:
        return _success({"yaml": deps.config_yaml()})

    @route("/status/runtimeinfo")
    async def runtimeinfo(request: Request, form: Form) -> Response:
        return _success(runtime_info(deps.tsdb, started_s, started_s))

    @route("/status/flags")
    async def status_flags(request: Request, form: Form) -> Response:
        return _success(flags(deps.tsdb))

    @route("/status/tsdb")
    async def status_tsdb(request: Request, form: Form) -> Response:
        tsdb = deps.tsdb
        if tsdb is None:
            raise ApiError("unavailable", "TSDB statistics are not available")
        limit = 10
        if form.get("limit"):
            try:
                limit = int(form.get("limit"))
            except ValueError:
                limit = 0
            if limit <= 0:
                raise ApiError("bad_data", "limit must be a positive number")
        return _success(await asyncio.to_thread(tsdb_status, tsdb, limit))

    @route("/format_query", ("GET", "POST"))
    async def format_query(request: Request, form: Form) -> Response:
        if deps.format_query is None:
            raise ApiError("not_found", "format_query is not available")
        try:
            return _success(deps.format_query(form.get("query")))
        except ParseError as e:
            raise _invalid("query", parse_error_message(e)) from None

    @route("/metadata")
    async def metadata(request: Request, form: Form) -> Response:
        # Scrape loops do not keep HELP/TYPE metadata yet; Prometheus answers an empty
        # object when it knows none, and Grafana then offers metric names without help.
        return _success({})

    @route("/query_exemplars", ("GET", "POST"))
    async def query_exemplars(request: Request, form: Form) -> Response:
        return _success([])

    return router
