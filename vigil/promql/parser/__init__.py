"""PromQL parser: query text in, syntax tree out (Prometheus's ``promql/parser``).

:func:`parse_expr` lexes (:mod:`.lexer`), parses (:mod:`.parse`, with the postfix
modifiers in :mod:`._postfix` and duration arithmetic in :mod:`._durations`), then
type-checks (:mod:`._typecheck`) against the function signatures in :mod:`.functions_meta`.

The syntax tree (:mod:`.ast`) lives here too, as in Prometheus: the parser is what makes it,
and the engine only reads it. Number and duration literals are read by :mod:`._literals`. The test scripts' series
notation (``a+bxN``, ``_``, ``stale``), which Prometheus keeps in its parser too, is
:mod:`.series_notation`; the conformance runner and the rule unit tests read it.

This package imports nothing from the rest of :mod:`vigil.promql`; the engine depends on it,
never the other way round.
"""

from vigil.promql.parser import ast
from vigil.promql.parser._durations import resolve_durations
from vigil.promql.parser._literals import parse_duration_ms, parse_number
from vigil.promql.parser.parse import parse_expr

__all__ = [
    "ast",
    "parse_duration_ms",
    "parse_expr",
    "parse_number",
    "resolve_durations",
]
