"""label_replace and label_join: per-series label rewriting, independent of steps."""

from __future__ import annotations

import re

import numpy as np

from vigil.errors import QueryError
from vigil.model.labels import METRIC_NAME, Labels, is_utf8_label_name
from vigil.model.regex import compile_go
from vigil.promql._block import Block, merge_same_labels

_EXPAND = re.compile(r"\$(\$|\{([A-Za-z0-9_]+)\}|([A-Za-z0-9_]+))")


def expand(template: str, m: re.Match[str]) -> str:
    """Go's ``Regexp.ExpandString``: ``$1``, ``${1}``, ``$name``, ``${name}``, ``$$``."""

    def sub(x: re.Match[str]) -> str:
        if x.group(1) == "$":
            return "$"
        name = x.group(2) or x.group(3)
        try:
            if name.isdigit():
                idx = int(name)
                return (m.group(idx) or "") if idx <= (m.re.groups or 0) else ""
            return m.group(name) or ""
        except (IndexError, error_type):
            return ""

    return _EXPAND.sub(sub, template)


error_type = re.error


def _finish(blk: Block, labels: list[Labels], drop: np.ndarray) -> Block:
    out = Block(labels, blk.values, blk.present, drop)
    merged = merge_same_labels(out)
    if merged is out:
        return out
    # Rows were folded: carry the drop flag of any folded row.
    flags = {lb: bool(d) for lb, d in zip(labels, drop, strict=True)}
    merged.drop = np.array([flags[lb] for lb in merged.labels], dtype=bool)
    return merged


def label_replace(blk: Block, dst: str, repl: str, src: str, regex: str) -> Block:
    try:
        rx = compile_go(f"(?s:{regex})")
    except re.error:
        raise QueryError(f"invalid regular expression in label_replace(): {regex}") from None
    if not is_utf8_label_name(dst):
        raise QueryError(f"invalid destination label name in label_replace(): {dst}")
    assert blk.drop is not None
    labels = list(blk.labels)
    drop = blk.drop.copy()
    for i, lb in enumerate(blk.labels):
        m = rx.fullmatch(lb.get(src))
        if m is None:
            continue
        labels[i] = lb.merge({dst: expand(repl, m)}) if expand(repl, m) else lb.without(dst)
        if dst == METRIC_NAME:
            drop[i] = False
    return _finish(blk, labels, drop)


def label_join(blk: Block, dst: str, sep: str, *srcs: str) -> Block:
    for s in srcs:
        if not is_utf8_label_name(s):
            raise QueryError(f"invalid source label name in label_join(): {s}")
    if not is_utf8_label_name(dst):
        raise QueryError(f"invalid destination label name in label_join(): {dst}")
    assert blk.drop is not None
    labels = []
    drop = blk.drop.copy()
    for i, lb in enumerate(blk.labels):
        value = sep.join(lb.get(s) for s in srcs)
        labels.append(lb.merge({dst: value}) if value else lb.without(dst))
        if dst == METRIC_NAME:
            drop[i] = False
    return _finish(blk, labels, drop)
