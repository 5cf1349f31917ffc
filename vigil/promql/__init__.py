"""PromQL: parser (:func:`parse_expr`), engine (:class:`Engine`) and result values.

:mod:`vigil.promql.parser` turns text into a syntax tree and depends on nothing else here.
The engine evaluates whole series over all steps as numpy arrays (see
:mod:`vigil.promql.engine`); it hands each kind of node to a module of its own
(``_aggregate``, ``_binary``, ``functions``, ...), which recurses through the
:class:`~vigil.promql._context.EvalContext` it is given rather than importing the engine.
Which experimental behaviour is on is a set of Prometheus feature names
(:mod:`vigil.model.features`). :mod:`vigil.promqltest` runs Prometheus's test scripts.
"""

from vigil.promql.engine import Engine
from vigil.promql.parser import parse_expr

__all__ = ["Engine", "parse_expr"]
