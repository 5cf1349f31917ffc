"""Type checks run on a syntactically valid tree, in Prometheus's order (``checkAST``)."""

from __future__ import annotations

from vigil.promql.parser import ast
from vigil.promql.parser._cursor import TokenCursor
from vigil.promql.parser.ast import DOCUMENTED_TYPE, SCALAR, STRING, VECTOR
from vigil.promql.parser.functions_meta import FUNCTIONS


def check(p: TokenCursor, node: ast.Expr) -> str:
    """Check ``node`` and its children; return its type; raise the first ParseError."""
    if isinstance(node, ast.AggregateExpr):
        _expect(p, node.expr, VECTOR, "aggregation expression")
        if node.op in ("topk", "bottomk", "quantile", "limitk", "limit_ratio"):
            _expect(p, node.param, SCALAR, "aggregation parameter")
        if node.op == "count_values":
            _expect(p, node.param, STRING, "aggregation parameter")
    elif isinstance(node, ast.BinaryExpr):
        _check_binary(p, node)
    elif isinstance(node, ast.Call):
        _check_call(p, node)
    elif isinstance(node, ast.ParenExpr):
        check(p, node.expr)
    elif isinstance(node, ast.UnaryExpr):
        t = check(p, node.expr)
        if t not in (SCALAR, VECTOR):
            raise p.err(p.start(node), "unary expression only allowed on expressions of type "
                                       f'scalar or instant vector, got "{DOCUMENTED_TYPE[t]}"')
    elif isinstance(node, ast.SubqueryExpr):
        t = check(p, node.expr)
        if t != VECTOR:
            raise p.err(p.start(node), f"subquery is only allowed on instant vector, got {t} instead")
    elif isinstance(node, ast.MatrixSelector):
        check(p, node.vs)
    elif isinstance(node, ast.VectorSelector):
        if not node.name and not getattr(node, "bypass_empty_check", False):
            if not any(not m.matches_empty() for m in node.matchers):
                raise p.err(p.start(node), "vector selector must contain at least one non-empty matcher")
    return node.type


def _expect(p: TokenCursor, node: ast.Expr | None, want: str, context: str) -> None:
    assert node is not None
    t = check(p, node)
    if t != want:
        raise p.err(p.start(node), f"expected type {DOCUMENTED_TYPE[want]} in {context}, "
                                   f"got {DOCUMENTED_TYPE[t]}")


def _op_pos(p: TokenCursor, node: ast.BinaryExpr) -> int:
    pos = p.end(node.lhs)
    raw = p.query.encode()
    while pos < len(raw) and raw[pos:pos + 1].isspace():
        pos += 1
    # Skip a closing parenthesis that belongs to the left-hand side's source text.
    return pos


def _check_binary(p: TokenCursor, n: ast.BinaryExpr) -> None:
    lt = check(p, n.lhs)
    rt = check(p, n.rhs)
    vm = n.matching
    if n.return_bool and n.op not in ast.COMPARISON_OPS:
        raise p.err(_op_pos(p, n), "bool modifier can only be used on comparison operators")
    if n.op in ast.COMPARISON_OPS and not n.return_bool and lt == SCALAR and rt == SCALAR:
        raise p.err(_op_pos(p, n), "comparisons between scalars must use BOOL modifier")
    if vm is not None and vm.on:
        for l1 in vm.labels:
            if l1 in vm.include:
                raise p.err(_op_pos(p, n), f'label "{l1}" must not occur in ON and GROUP clause at once')
    if lt not in (SCALAR, VECTOR):
        raise p.err(p.start(n.lhs), "binary expression must contain only scalar and instant vector types")
    if rt not in (SCALAR, VECTOR):
        raise p.err(p.start(n.rhs), "binary expression must contain only scalar and instant vector types")
    start = p.start(n)
    filled = vm is not None and (vm.fill_lhs is not None or vm.fill_rhs is not None)
    if (lt != VECTOR or rt != VECTOR) and vm is not None:
        if vm.labels or vm.on:
            raise p.err(start, "vector matching only allowed between instant vectors")
        if filled:
            raise p.err(start, "filling in missing series only allowed between instant vectors")
        n.matching = None
    elif n.op in ast.SET_OPS and vm is not None:
        if vm.card in ("one-to-many", "many-to-one"):
            raise p.err(start, f'no grouping allowed for "{n.op}" operation')
        if filled:
            raise p.err(start, "filling in missing series not allowed for set operators")
    if (lt == SCALAR or rt == SCALAR) and n.op in ast.SET_OPS:
        raise p.err(start, f'set operator "{n.op}" not allowed in binary scalar expression')


def _check_call(p: TokenCursor, n: ast.Call) -> None:
    fn = FUNCTIONS[n.func]
    nargs = len(fn.arg_types)
    start = p.start(n)
    if fn.variadic == 0:
        if nargs != len(n.args):
            raise p.err(start, f'expected {nargs} argument(s) in call to "{fn.name}", got {len(n.args)}')
    else:
        na = nargs - 1
        if na > len(n.args):
            raise p.err(start, f'expected at least {na} argument(s) in call to "{fn.name}", '
                               f"got {len(n.args)}")
        if fn.variadic > 0 and na + fn.variadic < len(n.args):
            raise p.err(start, f"expected at most {na + fn.variadic} argument(s) in call to "
                               f'"{fn.name}", got {len(n.args)}')
    if fn.name == "info" and len(n.args) > 1:
        a = n.args[1]
        if a.type != VECTOR:
            raise p.err(start, f'expected type instant vector in call to function "info", '
                               f"got {DOCUMENTED_TYPE[a.type]}")
        if isinstance(a, ast.VectorSelector) and a.name:
            raise p.err(p.start(a), "expected label selectors only, got vector selector instead")
        if not isinstance(a, ast.VectorSelector):
            raise p.err(p.start(a), "expected label selectors only")
        a.bypass_empty_check = True  # type: ignore[attr-defined]
    for i, arg in enumerate(n.args):
        if i >= nargs:
            if fn.variadic == 0:
                break
            i = nargs - 1
        t = check(p, arg)
        if t != fn.arg_types[i]:
            raise p.err(p.start(arg), f"expected type {DOCUMENTED_TYPE[fn.arg_types[i]]} in call to "
                                      f'function "{fn.name}", got {DOCUMENTED_TYPE[t]}')
