"""Test data for the PromQL test scripts: an in-memory store and the series notation.

The series notation is Prometheus's (``promql/promqltest/README.md`` upstream):
``metric{a="b"} 1+1x3 _ stale`` gives 1, 2, 3, 4, a gap and a staleness marker.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence

import numpy as np

from vigil.model.labels import Labels
from vigil.model.matchers import Matcher
from vigil.promql.parser import parse_duration_ms, parse_expr, parse_number
from vigil.storage.interface import STALE_NAN, Series, SeriesSet


# -- a store for loaded samples --------------------------------------------------------
class _Querier:
    def __init__(self, data: dict[Labels, tuple[np.ndarray, np.ndarray]], mint: int, maxt: int):
        self.data, self.mint, self.maxt = data, mint, maxt

    def select(self, matchers: Sequence[Matcher]) -> SeriesSet:
        return SeriesSet.of(self._matching(matchers))

    def _matching(self, matchers: Sequence[Matcher]) -> Iterator[Series]:
        for lb in sorted(self.data):
            if all(m.matches_labels(lb) for m in matchers):
                t, v = self.data[lb]
                lo = np.searchsorted(t, self.mint, side="left")
                hi = np.searchsorted(t, self.maxt, side="right")
                if hi > lo:
                    yield Series(lb, t[lo:hi], v[lo:hi])

    def label_names(self, matchers: Sequence[Matcher] = ()) -> list[str]:
        return sorted({k for lb in self.data for k, _ in lb})

    def label_values(self, name: str, matchers: Sequence[Matcher] = ()) -> list[str]:
        return sorted({lb.get(name) for lb in self.data if lb.get(name)})

    def close(self) -> None:
        pass


class LoadedStorage:
    """Read-only in-memory :class:`vigil.storage.Storage` filled by ``load`` commands."""

    def __init__(self) -> None:
        self.points: dict[Labels, dict[int, float]] = {}
        self._frozen: dict[Labels, tuple[np.ndarray, np.ndarray]] | None = None

    def add(self, labels: Labels, ts_ms: int, value: float) -> None:
        self.points.setdefault(labels, {})[ts_ms] = value
        self._frozen = None

    def clear(self) -> None:
        self.points.clear()
        self._frozen = None

    def querier(self, mint_ms: int, maxt_ms: int) -> _Querier:
        if self._frozen is None:
            self._frozen = {}
            for lb, pts in self.points.items():
                ts = np.array(sorted(pts), dtype=np.int64)
                self._frozen[lb] = (ts, np.array([pts[t] for t in ts.tolist()], dtype=np.float64))
        return _Querier(self._frozen, mint_ms, maxt_ms)

    def appender(self):  # pragma: no cover - not used by the runner
        raise NotImplementedError

    def close(self) -> None:
        pass


# -- series descriptions -----------------------------------------------------------------
class SkipCase(Exception):
    """A case this runner does not evaluate (native histograms)."""


def parse_series_desc(line: str) -> tuple[Labels, list[float | None]]:
    """``metric{a="b"} 1+1x3 _ stale`` -> labels and values (None = no sample)."""
    line = line.strip()
    if "{{" in line:
        raise SkipCase("native histogram")
    depth = 0
    cut = len(line)
    for i, ch in enumerate(line):
        if ch == "{":
            depth += 1
        elif ch == "}":
            depth -= 1
            if depth == 0:
                cut = i + 1
                break
        elif ch in " \t" and depth == 0:
            cut = i
            break
    head, rest = line[:cut], line[cut:].strip()
    labels = _parse_metric(head)
    return labels, expand_values(rest)


def _parse_metric(text: str) -> Labels:
    if text.strip() in ("{}", ""):
        return Labels()
    expr = parse_expr(text)
    return Labels({m.name: m.value for m in getattr(expr, "matchers", [])})


def expand_values(text: str) -> list[float | None]:
    """``1+1x3 _ stale 5x2`` -> [1, 2, 3, 4, None, STALE_NAN, 5, 5, 5] (None = no sample)."""
    out: list[float | None] = []
    for item in text.split():
        if item == "_":
            out.append(None)
            continue
        m = re.fullmatch(r"_x(\d+)", item)
        if m:
            out.extend([None] * int(m.group(1)))
            continue
        if item == "stale":
            out.append(STALE_NAN)
            continue
        m = re.fullmatch(r"([-+]?[^-+x]+(?:[eE][-+]?\d+)?)([-+][^x]+)x(\d+)", item)
        if m:
            cur, inc, n = parse_value(m.group(1)), parse_value(m.group(2)), int(m.group(3))
            out.append(cur)
            for _ in range(n):
                cur += inc
                out.append(cur)
            continue
        m = re.fullmatch(r"(.+)x(\d+)", item)
        if m:
            out.extend([parse_value(m.group(1))] * (int(m.group(2)) + 1))
            continue
        out.append(parse_value(item))
    return out


def parse_value(text: str) -> float:
    if text in ("stale",):
        return STALE_NAN
    return parse_number(text.lstrip("+")) if text.lower() not in ("-inf", "+inf") else float(text)


def parse_time_ms(text: str) -> int:
    text = text.strip()
    try:
        return parse_duration_ms(text)
    except ValueError:
        return round(float(text) * 1000)
