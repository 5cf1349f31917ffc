"""Prometheus's ``--enable-feature`` names that change PromQL, and reading a list of them.

The names are Prometheus's own (``cmd/prometheus/main.go``), so a command line or config
written for Prometheus reads the same here. They live below every stage because the
configuration validates them and the PromQL parser and engine act on them.

What each one switches on (Prometheus 3.14 semantics):

- ``promql-experimental-functions``: the functions marked experimental in
  :mod:`vigil.promql.parser.functions_meta` and the ``limitk``/``limit_ratio`` aggregations.
- ``promql-extended-range-selectors``: the ``anchored`` and ``smoothed`` modifiers.
- ``promql-binop-fill-modifiers``: ``fill``/``fill_left``/``fill_right`` on binary operators.
- ``promql-delayed-name-removal``: the metric name is dropped at the end of evaluation
  instead of by each function or operator that drops it.
- ``promql-duration-expr``: accepted and changes nothing; duration expressions are always
  on, as in Prometheus 3.14, where the flag became a no-op.
"""

from __future__ import annotations

from collections.abc import Iterable

__all__ = [
    "ALL_FEATURES",
    "BINOP_FILL_MODIFIERS",
    "DEFAULT_FEATURES",
    "DELAYED_NAME_REMOVAL",
    "DURATION_EXPR",
    "EXPERIMENTAL_FUNCTIONS",
    "EXTENDED_RANGE_SELECTORS",
    "KNOWN_FEATURES",
    "UnknownFeatureError",
    "parse_features",
]

EXPERIMENTAL_FUNCTIONS = "promql-experimental-functions"
DURATION_EXPR = "promql-duration-expr"
EXTENDED_RANGE_SELECTORS = "promql-extended-range-selectors"
BINOP_FILL_MODIFIERS = "promql-binop-fill-modifiers"
DELAYED_NAME_REMOVAL = "promql-delayed-name-removal"

KNOWN_FEATURES: tuple[str, ...] = tuple(sorted((
    EXPERIMENTAL_FUNCTIONS, DURATION_EXPR, EXTENDED_RANGE_SELECTORS, BINOP_FILL_MODIFIERS,
    DELAYED_NAME_REMOVAL,
)))
# Everything on: what Prometheus's own PromQL test runner uses (promqltest.TestParserOpts
# and EnableDelayedNameRemoval in NewTestEngine).
ALL_FEATURES: frozenset[str] = frozenset(KNOWN_FEATURES)
# Prometheus's default: no flag given.
DEFAULT_FEATURES: frozenset[str] = frozenset()


class UnknownFeatureError(ValueError):
    """A feature name Vigil does not know; the message lists the known ones."""

    def __init__(self, name: str) -> None:
        super().__init__(f"unknown feature {name!r}; known features: {', '.join(KNOWN_FEATURES)}")
        self.name = name


def parse_features(values: Iterable[str]) -> frozenset[str]:
    """The features named in ``values``, each a comma-separated list as
    ``--enable-feature a,b`` takes it. Empty items are ignored; an unknown name raises
    :class:`UnknownFeatureError`."""
    found: set[str] = set()
    for value in values:
        for name in value.split(","):
            if not name:
                continue
            if name not in ALL_FEATURES:
                raise UnknownFeatureError(name)
            found.add(name)
    return frozenset(found)
