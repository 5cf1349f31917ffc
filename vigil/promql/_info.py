"""``info(v, {selector})``: add the data labels of matching info series (experimental).

An info series (by default ``target_info``) matches a series of ``v`` when they share the
identifying labels ``instance`` and ``job``. At each step the newest sample of each info
metric wins. Steps are handled one at a time: the function is rare and the per-step
rules (conflicts, missing info series) are easier to keep exact that way.
"""

from __future__ import annotations

import re

import numpy as np

from vigil.errors import QueryError
from vigil.model.labels import METRIC_NAME, Labels
from vigil.model.matchers import Matcher, MatchType
from vigil.promql._block import Block
from vigil.promql._context import EvalContext
from vigil.promql.parser import ast

TARGET_INFO = "target_info"
IDENTIFYING = ("instance", "job")


def _effective_name_matchers(ms: list[Matcher]) -> list[Matcher]:
    if any(m.type in (MatchType.EQUAL, MatchType.REGEX) for m in ms):
        return ms
    if ms:
        return [Matcher(MatchType.REGEX, METRIC_NAME, ".+_info"), *ms]
    return [Matcher(MatchType.EQUAL, METRIC_NAME, TARGET_INFO)]


def _first_selector(expr: ast.Expr) -> tuple[int, ast.AtModifier | None]:
    offset, at = 0, None
    for n in ast.walk(expr):
        if isinstance(n, ast.VectorSelector):
            return n.offset_ms, n.at
        if isinstance(n, ast.SubqueryExpr):
            offset += n.offset_ms
            at = at or n.at
    return offset, at


def eval_info(ev: EvalContext, args: list[ast.Expr], ts: np.ndarray) -> Block:
    base = ev.eval_block(args[0], ts)
    n = len(ts)
    data: dict[str, list[Matcher]] = {}
    if len(args) > 1:
        sel = args[1]
        assert isinstance(sel, ast.VectorSelector)
        for m in sel.matchers:
            data.setdefault(m.name, []).append(m)
        name_ms = [m for m in sel.matchers if m.name == METRIC_NAME]
    else:
        name_ms = [Matcher(MatchType.EQUAL, METRIC_NAME, TARGET_INFO)]
    effective = _effective_name_matchers(name_ms)
    ignored = [all(m.matches(lb.name) for m in effective) for lb in base.labels]
    ids: dict[str, set[str]] = {}
    for lb, ign in zip(base.labels, ignored, strict=True):
        if not ign:
            for k in IDENTIFYING:
                if lb.get(k):
                    ids.setdefault(k, set()).add(lb.get(k))
    data_name_ms = [m for ms in data.values() for m in ms if m.name == METRIC_NAME]
    data = {k: v for k, v in data.items() if k != METRIC_NAME}
    info = Block.empty(n)
    stamps = np.zeros((0, n), dtype=np.int64)
    if ids:
        matchers = [Matcher(MatchType.REGEX, k, "|".join(re.escape(v) for v in sorted(vals)))
                    for k, vals in ids.items()]
        matchers += [m for ms in data.values() for m in ms]
        matchers += _effective_name_matchers(data_name_ms)
        offset, at = _first_selector(args[0])
        info, stamps = ev.vector_selector(ast.VectorSelector("", matchers, offset, at), ts)
    return _combine(base, ignored, info, stamps, data, n)


def _sig(name: str, lb: Labels) -> tuple:
    return (name, *(lb.get(k) for k in IDENTIFYING))


def _combine(base: Block, ignored: list[bool], info: Block, stamps: np.ndarray,
             data: dict[str, list[Matcher]], n: int) -> Block:
    info_names = sorted({lb.name for lb in info.labels})
    empty_ok = all(m.matches_empty() for ms in data.values() for m in ms)
    out: dict[Labels, tuple[np.ndarray, np.ndarray, bool]] = {}
    assert base.drop is not None
    for step in range(n):
        best: dict[tuple, int] = {}
        for j, lb in enumerate(info.labels):
            if not info.present[j, step]:
                continue
            sig = _sig(lb.name, lb)
            k = best.get(sig)
            if k is None or stamps[j, step] > stamps[k, step]:
                best[sig] = j
            elif stamps[j, step] == stamps[k, step]:
                raise QueryError(f"found duplicate series for info metric: existing "
                                 f"{info.labels[k]} @ {stamps[k, step]}, new {lb} @ {stamps[j, step]}")
        for i, lb in enumerate(base.labels):
            if not base.present[i, step]:
                continue
            labels = lb
            if not ignored[i]:
                added: dict[str, str] = {}
                seen = False
                for name in info_names:
                    j = best.get(_sig(name, lb))
                    if j is None:
                        continue
                    seen = True
                    for k, v in info.labels[j]:
                        if k == METRIC_NAME or (data and k not in data):
                            continue
                        if added.get(k, v) != v:
                            raise QueryError(f"conflicting label: {k}")
                        if lb.get(k):
                            continue
                        added[k] = v
                if not seen and not empty_ok:
                    continue
                labels = lb.merge(added)
            entry = out.get(labels)
            if entry is None:
                entry = out[labels] = (np.zeros(n), np.zeros(n, dtype=bool), bool(base.drop[i]))
            if entry[1][step]:
                raise QueryError("vector cannot contain metrics with the same labelset")
            entry[0][step] = base.values[i, step]
            entry[1][step] = True
    if not out:
        return Block.empty(n)
    labels = list(out)
    return Block(labels, np.vstack([out[lb][0] for lb in labels]),
                 np.vstack([out[lb][1] for lb in labels]),
                 np.array([out[lb][2] for lb in labels], dtype=bool))
