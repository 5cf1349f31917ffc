"""PromQL: parser (:func:`parse_expr`), engine (:class:`Engine`) and result values.

The engine evaluates whole series over all steps as numpy arrays; see
:mod:`vigil.promql.engine`. :mod:`vigil.promqltest` runs Prometheus's test scripts against it.
"""

from vigil.promql.engine import Engine
from vigil.promql.parser import parse_expr

__all__ = ["Engine", "parse_expr"]
