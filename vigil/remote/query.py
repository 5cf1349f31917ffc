"""PromQL against a Prometheus-compatible store (``storage.remote``): the query engine the API,
the UI and the rules use, and the reader behind ``/api/v1/series``, ``labels`` and
``label/<name>/values``.

:class:`RemoteEngine` parses every query locally first, so a syntax error gets Vigil's
(Prometheus's) message and position and never reaches the store; then it sends the query
text to ``<query_url>/api/v1/query`` or ``query_range`` and turns the JSON answer into
:mod:`vigil.promql.value` types. The store's errors are mapped as the web layer expects:
``bad_data`` -> :class:`ParseError` (400), a timeout -> ``QueryError("query timed out
...")`` (503), anything else -> :class:`QueryError` (422) naming the store. Warnings (and
Prometheus 3's infos) are passed through.

:class:`RemoteSeriesReader` answers the metadata endpoints from the store's own metadata
API; its querier's ``select`` returns label sets without samples (those endpoints need only
the labels; PromQL never reads through it).
"""

from __future__ import annotations

import urllib.parse
from collections.abc import Iterable, Sequence
from typing import Any

import httpx
import numpy as np

from vigil.errors import ParseError, QueryError
from vigil.model.features import DEFAULT_FEATURES
from vigil.model.labels import Labels
from vigil.model.matchers import Matcher
from vigil.promql.parser import ast, parse_expr
from vigil.promql.value import (
    Matrix,
    QueryResult,
    RangeSeries,
    Sample,
    Scalar,
    String,
    Value,
    Vector,
)
from vigil.remote.backend import BackendError
from vigil.storage import SeriesSet

__all__ = ["RemoteEngine", "RemoteQuerier", "RemoteSeriesReader", "result_value", "selector_text"]

# Prometheus's API prefixes a bad query's message with this; the web layer adds it again.
_QUERY_PARAM_PREFIX = 'invalid parameter "query": '
# Times before 1970 or this far ahead are the API's "no bound" defaults: not sent, so the
# store uses its own (VictoriaMetrics refuses Prometheus's minimum time).
_FAR_FUTURE_MS = 1 << 53


def _seconds(ts_ms: int) -> str:
    return f"{ts_ms / 1000:.3f}"


def _ms(seconds: float) -> int:
    return round(float(seconds) * 1000)


class _StoreClient:
    """POSTs to the store's Prometheus API and unwraps ``{"status": ..., "data": ...}``."""

    def __init__(self, base_url: str, client: httpx.Client) -> None:
        self.base_url = base_url.rstrip("/")
        self.client = client

    def call(self, path: str, params: dict[str, str | list[str]], *,
             get: bool = False) -> dict[str, Any]:
        """The answer's body; ``get`` for endpoints that take no POST (label values)."""
        url = f"{self.base_url}/api/v1/{path}"
        try:
            if get:
                r = self.client.get(url, params=params)
            else:
                r = self.client.post(url, data=params)
        except httpx.TimeoutException:
            raise QueryError(f"query timed out: the metrics store at {self.base_url} did not "
                             f"answer within {self.client.timeout.read}s") from None
        except httpx.HTTPError as e:
            raise QueryError(f"metrics store at {self.base_url} unreachable: "
                             f"{type(e).__name__}: {e}") from None
        except BackendError as e:
            raise QueryError(str(e)) from None
        try:
            body = r.json()
        except ValueError:
            body = None
        if not isinstance(body, dict) or body.get("status") not in ("success", "error"):
            raise QueryError(f"metrics store at {self.base_url} answered HTTP {r.status_code} "
                             f"without a Prometheus API body: {r.text[:200].strip()!r}")
        if body["status"] == "success":
            return body
        kind, message = str(body.get("errorType", "")), str(body.get("error", ""))
        if kind == "bad_data":
            raise ParseError(message.removeprefix(_QUERY_PARAM_PREFIX))
        if kind == "timeout" or r.status_code == 503 and "timeout" in message:
            raise QueryError(message if message.startswith("query timed out")
                             else f"query timed out in the metrics store: {message}")
        if kind in ("execution", "422") or r.status_code == 422:
            raise QueryError(message)
        raise QueryError(f"metrics store at {self.base_url}: {kind or r.status_code}: {message}")


def _labels(metric: dict[str, str]) -> Labels:
    return Labels(metric)


def _values(points: Sequence[Sequence[Any]]) -> tuple[np.ndarray, np.ndarray]:
    """``[[seconds, "value"], ...]`` as int64 ms and float64 arrays ("NaN", "+Inf" too)."""
    if not points:
        return np.zeros(0, np.int64), np.zeros(0, np.float64)
    ts = np.rint(np.asarray([p[0] for p in points], np.float64) * 1000).astype(np.int64)
    values = np.asarray([p[1] for p in points]).astype(np.float64)
    return ts, values


def result_value(data: dict[str, Any]) -> Value:
    """The ``data`` of a query answer as a PromQL value."""
    kind, result = data.get("resultType"), data.get("result")
    if kind == "vector":
        return Vector([Sample(_labels(s["metric"]), _ms(s["value"][0]), float(s["value"][1]))
                       for s in result or ()])
    if kind == "matrix":
        series = []
        for s in result or ():
            ts, values = _values(s.get("values") or ())
            series.append(RangeSeries(_labels(s["metric"]), ts, values))
        return Matrix(series)
    if kind == "scalar":
        return Scalar(_ms(result[0]), float(result[1]))
    if kind == "string":
        return String(_ms(result[0]), str(result[1]))
    raise QueryError(f"metrics store answered an unknown result type {kind!r}")


class RemoteEngine:
    """Runs PromQL in the store; the same interface as :class:`vigil.promql.Engine` for the
    web layer (``QueryEngine``) and the rules (``instant_query`` with a parsed expression).
    Thread-safe (httpx's client is)."""

    def __init__(self, base_url: str, client: httpx.Client, *,
                 features: Iterable[str] = DEFAULT_FEATURES) -> None:
        self.store = _StoreClient(base_url, client)
        self.features = frozenset(features)

    @property
    def base_url(self) -> str:
        return self.store.base_url

    def parse(self, query: str | ast.Expr) -> ast.Expr:
        """``query`` parsed with this engine's features (an Expr is returned as is)."""
        if isinstance(query, ast.Expr):
            return query
        return parse_expr(query, features=self.features)

    def _text(self, query: str | ast.Expr) -> tuple[str, ast.Expr]:
        expr = self.parse(query)
        # The user's own text goes to the store (it parsed here); a parsed rule expression
        # is printed back as PromQL.
        return (query if isinstance(query, str) else str(expr)), expr

    def instant_query(self, query: str | ast.Expr, ts_ms: int) -> QueryResult:
        text, _ = self._text(query)
        return _result(self.store.call("query", {"query": text, "time": _seconds(ts_ms)}))

    def range_query(self, query: str | ast.Expr, start_ms: int, end_ms: int,
                    step_ms: int) -> QueryResult:
        """Always a Matrix; an expression that is not a scalar or instant vector is a
        ParseError, as in the local engine."""
        if step_ms <= 0:
            raise QueryError("zero or negative query resolution step widths are not accepted. "
                             "Try a positive integer")
        if end_ms < start_ms:
            raise QueryError("end timestamp must not be before start time")
        text, expr = self._text(query)
        if expr.type not in (ast.SCALAR, ast.VECTOR):
            raise ParseError(f'invalid expression type "{ast.DOCUMENTED_TYPE[expr.type]}" for range '
                             "query, must be Scalar or instant Vector")
        body = self.store.call("query_range", {"query": text, "start": _seconds(start_ms),
                                               "end": _seconds(end_ms), "step": _seconds(step_ms)})
        result = _result(body)
        if not isinstance(result.value, Matrix):
            raise QueryError(f"metrics store answered a {result.value.type} to a range query")
        return result


def _result(body: dict[str, Any]) -> QueryResult:
    return QueryResult(result_value(body.get("data") or {}),
                       tuple(str(w) for w in body.get("warnings") or ()),
                       tuple(str(i) for i in body.get("infos") or ()))


def selector_text(matchers: Sequence[Matcher]) -> str:
    """``{name="value",...}``: a series selector both Prometheus and its clones accept."""
    return "{" + ",".join(str(m) for m in matchers) + "}"


class RemoteQuerier:
    """Series metadata from the store over ``[mint_ms, maxt_ms]`` (the web layer's metadata
    endpoints). ``select`` returns each matching series' labels with no samples."""

    def __init__(self, store: _StoreClient, mint_ms: int, maxt_ms: int) -> None:
        self._store = store
        self._range: dict[str, str | list[str]] = {}
        if mint_ms >= 0:
            self._range["start"] = _seconds(mint_ms)
        if maxt_ms < _FAR_FUTURE_MS:
            self._range["end"] = _seconds(maxt_ms)

    def _params(self, matchers: Sequence[Matcher]) -> dict[str, str | list[str]]:
        match: dict[str, str | list[str]] = {"match[]": [selector_text(matchers)]} if matchers else {}
        return {**match, **self._range}

    def select(self, matchers: Sequence[Matcher]) -> SeriesSet:
        data = self._store.call("series", self._params(matchers)).get("data") or []
        labels = sorted({_labels(m) for m in data})
        empty = np.zeros(len(labels) + 1, np.int64)
        return SeriesSet(labels, np.zeros(0, np.int64), np.zeros(0, np.float64), empty)

    def label_names(self, matchers: Sequence[Matcher] = ()) -> list[str]:
        return sorted(self._store.call("labels", self._params(matchers)).get("data") or [])

    def label_values(self, name: str, matchers: Sequence[Matcher] = ()) -> list[str]:
        path = f"label/{urllib.parse.quote(name, safe='')}/values"
        return sorted(self._store.call(path, self._params(matchers), get=True).get("data") or [])

    def close(self) -> None:
        pass


class RemoteSeriesReader:
    """The web layer's ``SeriesReader`` over the store."""

    def __init__(self, base_url: str, client: httpx.Client) -> None:
        self._store = _StoreClient(base_url, client)

    def querier(self, mint_ms: int, maxt_ms: int) -> RemoteQuerier:
        return RemoteQuerier(self._store, mint_ms, maxt_ms)
