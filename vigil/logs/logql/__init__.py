"""LogQL, Loki's query language, over Vigil's log store.

Modules, each importing only those before it: :mod:`~.errors`, :mod:`~.units` (Go durations
and humanized byte sizes), :mod:`~._gotime` (Go time layouts), :mod:`~.lexer`, :mod:`~.ast`
(the tree and its printer), :mod:`~._logfmt` and :mod:`~.parsers` (json, logfmt, pattern,
regexp, unpack), :mod:`~.binops`, :mod:`~._stages` (the pipeline grammar) and
:mod:`~.parser` (the metric grammar), :mod:`~.template_funcs`, :mod:`~.pipeline` (running the
stages over one entry), :mod:`~.aggregate`, :mod:`~.columns` (counts and bytes from column
blocks) and :mod:`~.engine` (log and metric queries over a
LogReader: streams for log queries, PromQL's Vector/Matrix/Scalar for metric queries).
"""

from vigil.logs.logql.engine import LogQLEngine, LogStream
from vigil.logs.logql.errors import ParseError, QueryError
from vigil.logs.logql.parser import parse_expr

__all__ = ["LogQLEngine", "LogStream", "ParseError", "QueryError", "parse_expr"]
