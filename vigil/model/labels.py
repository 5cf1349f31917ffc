"""Label sets: the identity of a series or an alert.

A :class:`Labels` is an immutable tuple of ``(name, value)`` pairs sorted by name, so equal
sets compare and hash equal regardless of the order they were built in. Empty values are
dropped on construction, as Prometheus treats an empty label as an absent one.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

METRIC_NAME = "__name__"

# Prometheus's classic ("legacy") character sets, as regex text for lexers that embed them.
LABEL_NAME_PATTERN = r"[a-zA-Z_][a-zA-Z0-9_]*"
METRIC_NAME_PATTERN = r"[a-zA-Z_:][a-zA-Z0-9_:]*"
_LABEL_NAME = re.compile(LABEL_NAME_PATTERN)
_METRIC_NAME = re.compile(METRIC_NAME_PATTERN)


def is_label_name(name: str) -> bool:
    """Whether ``name`` is a label name in Prometheus's classic character set
    (``[a-zA-Z_][a-zA-Z0-9_]*``). Rules some callers add (no ``__`` prefix for user labels)
    stay with them."""
    return _LABEL_NAME.fullmatch(name) is not None


def is_metric_name(name: str) -> bool:
    """Whether ``name`` is a metric name in the classic character set
    (``[a-zA-Z_:][a-zA-Z0-9_:]*``)."""
    return _METRIC_NAME.fullmatch(name) is not None


def is_utf8_label_name(name: str) -> bool:
    """Whether ``name`` is a label name under Prometheus 3's UTF-8 scheme: not empty and
    valid UTF-8 (a str holding lone surrogates, e.g. undecodable bytes, is not)."""
    if not name:
        return False
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


class Labels(tuple[tuple[str, str], ...]):
    __slots__ = ()

    def __new__(cls, pairs: Iterable[tuple[str, str]] | Mapping[str, str] = ()) -> Labels:
        items = pairs.items() if isinstance(pairs, Mapping) else pairs
        return super().__new__(cls, sorted((k, v) for k, v in items if v != ""))

    @classmethod
    def of(cls, **labels: str) -> Labels:
        return cls(labels)

    def get(self, name: str, default: str = "") -> str:
        for k, v in self:
            if k >= name:  # sorted: past this point the name cannot come
                return v if k == name else default
        return default

    @property
    def name(self) -> str:
        """The metric name (``__name__``), or "" when there is none."""
        if self and self[0][0] == METRIC_NAME:  # the usual case: it sorts first
            return self[0][1]
        return self.get(METRIC_NAME)

    def to_dict(self) -> dict[str, str]:
        return dict(self)

    def names(self) -> list[str]:
        return [k for k, _ in self]

    def with_(self, **labels: str) -> Labels:
        return self.merge(labels)

    def merge(self, other: Mapping[str, str]) -> Labels:
        merged = dict(self)
        known = len(merged)
        merged.update(other)
        if len(merged) == known:  # only values replaced: the names keep their order
            return _sorted_labels((k, v) for k, v in merged.items() if v != "")
        return Labels(merged)

    def without(self, *names: str) -> Labels:
        drop = set(names)
        # A subsequence of sorted, non-empty pairs needs neither sorting nor filtering.
        return _sorted_labels(p for p in self if p[0] not in drop)

    def without_name(self) -> Labels:
        return self.without(METRIC_NAME)

    def only(self, *names: str) -> Labels:
        keep = set(names)
        return _sorted_labels(p for p in self if p[0] in keep)

    def __str__(self) -> str:
        inner = ", ".join(f'{k}="{_escape(v)}"' for k, v in self if k != METRIC_NAME)
        name = self.name
        if name and not inner:
            return name
        return f"{name}{{{inner}}}"

    def __repr__(self) -> str:
        return f"Labels({dict(self)!r})"


def _sorted_labels(pairs: Iterable[tuple[str, str]]) -> Labels:
    """Labels from pairs already sorted by name with no empty values (not checked)."""
    return tuple.__new__(Labels, pairs)


def with_shared_pairs(labels: Labels, pairs: dict[tuple[str, str], tuple[str, str]]) -> Labels:
    """``labels`` rebuilt from the pair tuples in ``pairs`` (adding those it lacks), so that
    series with a pair in common hold one tuple and one copy of its strings."""
    shared = pairs.setdefault
    return tuple.__new__(Labels, [shared(p, p) for p in labels])
