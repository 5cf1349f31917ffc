"""Parser tests: the tree it builds, the canonical text it prints, and its error messages."""

from __future__ import annotations

import math

import pytest

from vigil.errors import ParseError
from vigil.model.features import (
    ALL_FEATURES,
    BINOP_FILL_MODIFIERS,
    EXPERIMENTAL_FUNCTIONS,
    EXTENDED_RANGE_SELECTORS,
)
from vigil.model.matchers import MatchType
from vigil.promql.parser import ast, parse_duration_ms, parse_expr
from vigil.promql.parser.lexer import lex

# query -> canonical text printed back by str(expr)
ROUND_TRIP = [
    ("foo", "foo"),
    ('foo{a="b"}', 'foo{a="b"}'),
    ("foo{b='x', a=~\"y.*\"}", 'foo{a=~"y.*",b="x"}'),
    ('{__name__="foo", job!="x"}', '{__name__="foo",job!="x"}'),
    ('{"my.metric", a="b"}', '{__name__="my.metric",a="b"}'),
    ("foo[5m]", "foo[5m]"),
    ("foo[90s]", "foo[1m30s]"),
    ("foo offset 5m", "foo offset 5m"),
    ("foo offset -1h", "foo offset -1h"),
    ("foo @ 100", "foo @ 100.000"),
    ("foo @ start()", "foo @ start()"),
    ("foo[5m] @ end() offset 1m", "foo[5m] @ end() offset 1m"),
    ("rate(foo[5m])[30m:1m]", "rate(foo[5m])[30m:1m]"),
    ("foo[1h:]", "foo[1h:]"),
    ("1 + 2 * 3", "1 + 2 * 3"),
    ("(1 + 2) * 3", "(1 + 2) * 3"),
    ("a + on(b, c) group_left(d) e", "a + on (b, c) group_left (d) e"),
    ("a / ignoring(x) b", "a / ignoring (x) b"),
    ("a > bool 1", "a > bool 1"),
    ("sum by (job) (rate(x[5m]))", "sum by (job) (rate(x[5m]))"),
    ("sum(rate(x[5m])) without (instance)", "sum without (instance) (rate(x[5m]))"),
    ("topk(3, x)", "topk(3, x)"),
    ('count_values("v", x)', 'count_values("v", x)'),
    ("quantile(0.9, x)", "quantile(0.9, x)"),
    ('label_replace(x, "a", "$1", "b", "(.*)")', 'label_replace(x, "a", "$1", "b", "(.*)")'),
    ("-foo", "-foo"),
    ("0x1F", "31"),
    ("1e3", "1000"),
    ("Inf", "+Inf"),
    ("-Inf", "-Inf"),
    ("NaN", "NaN"),
    ("5m", "5m"),
    ('"a\\nb"', '"a\\nb"'),
    ("`raw\\n`", '"raw\\\\n"'),
    ("x and y or z unless w", "x and y or z unless w"),
]


@pytest.mark.parametrize(("query", "printed"), ROUND_TRIP)
def test_canonical_string(query: str, printed: str) -> None:
    expr = parse_expr(query)
    assert str(expr) == printed
    # The canonical form parses back to the same text.
    assert str(parse_expr(printed)) == printed


def test_precedence_and_associativity() -> None:
    e = parse_expr("1 + 2 * 3 ^ 2 ^ 3")
    assert isinstance(e, ast.BinaryExpr) and e.op == "+"
    mul = e.rhs
    assert isinstance(mul, ast.BinaryExpr) and mul.op == "*"
    pow1 = mul.rhs
    assert isinstance(pow1, ast.BinaryExpr) and pow1.op == "^"
    # "^" is right-associative: 3 ^ (2 ^ 3)
    assert isinstance(pow1.rhs, ast.BinaryExpr) and pow1.rhs.op == "^"

    # Unary minus binds looser than "^": -2 ^ 2 is -(2 ^ 2)
    u = parse_expr("-2 ^ 2")
    assert isinstance(u, ast.UnaryExpr) and isinstance(u.expr, ast.BinaryExpr)
    # ... but tighter than "*": -a * b is (-a) * b
    m = parse_expr("-a * b")
    assert isinstance(m, ast.BinaryExpr) and isinstance(m.lhs, ast.UnaryExpr)
    # "or" is lowest, "and"/"unless" above it.
    s = parse_expr("a or b and c")
    assert isinstance(s, ast.BinaryExpr) and s.op == "or"
    c = parse_expr("a == b + c")
    assert isinstance(c, ast.BinaryExpr) and c.op == "=="


def test_selector_parts() -> None:
    e = parse_expr('http_requests{job="api", path=~"/v1/.*", code!~"5..", env!="dev"}[5m] offset 1m')
    assert isinstance(e, ast.MatrixSelector)
    assert e.range_ms == 300_000
    assert e.vs.offset_ms == 60_000
    types = {m.name: m.type for m in e.vs.matchers}
    assert types == {"job": MatchType.EQUAL, "path": MatchType.REGEX, "code": MatchType.NOT_REGEX,
                     "env": MatchType.NOT_EQUAL, "__name__": MatchType.EQUAL}


def test_matching_modifiers() -> None:
    e = parse_expr("a * on(x) group_right(y, z) b")
    assert isinstance(e, ast.BinaryExpr) and e.matching is not None
    assert e.matching.card == "one-to-many" and e.matching.on
    assert e.matching.labels == ["x"] and e.matching.include == ["y", "z"]
    assert parse_expr("a and b").matching.card == "many-to-many"  # type: ignore[union-attr]
    # Matching between a scalar and a vector is dropped.
    assert parse_expr("a + 1").matching is None  # type: ignore[union-attr]


def test_number_literals() -> None:
    assert parse_expr("0x10").val == 16  # type: ignore[attr-defined]
    assert parse_expr("1_000").val == 1000  # type: ignore[attr-defined]
    assert parse_expr(".5").val == 0.5  # type: ignore[attr-defined]
    assert math.isinf(parse_expr("+inf").val)  # type: ignore[attr-defined]
    assert parse_expr("1h30m").val == 5400  # type: ignore[attr-defined]
    assert parse_expr("-1").val == -1  # type: ignore[attr-defined]


def test_strings_and_escapes() -> None:
    assert parse_expr('"a\\tb"').val == "a\tb"  # type: ignore[attr-defined]
    assert parse_expr("'it\\'s'").val == "it's"  # type: ignore[attr-defined]
    assert parse_expr('"\\u00e9"').val == "é"  # type: ignore[attr-defined]
    assert parse_expr("`a\\b`").val == "a\\b"  # type: ignore[attr-defined]


def test_keywords_as_metric_names_and_labels() -> None:
    assert isinstance(parse_expr("sum"), ast.VectorSelector)
    e = parse_expr("sum by (by, on) (x)")
    assert isinstance(e, ast.AggregateExpr) and e.grouping == ["by", "on"]
    e = parse_expr("foo{and='x', offset='y'}")
    assert {m.name for m in e.matchers} == {"and", "offset", "__name__"}  # type: ignore[attr-defined]


def test_function_types() -> None:
    assert parse_expr("time()").type == ast.SCALAR
    assert parse_expr("rate(x[1m])").type == ast.VECTOR
    assert parse_expr("x[1m:]").type == ast.MATRIX
    assert parse_expr('"s"').type == ast.STRING
    assert parse_expr("1 + 1").type == ast.SCALAR
    assert parse_expr("round(x)").args[0].type == ast.VECTOR  # type: ignore[attr-defined]


def test_durations() -> None:
    assert parse_duration_ms("1y2w3d4h5m6s7ms") == (
        365 * 86400_000 + 14 * 86400_000 + 3 * 86400_000 + 4 * 3600_000 + 5 * 60_000 + 6000 + 7)
    with pytest.raises(ValueError, match="not a valid duration"):
        parse_duration_ms("5m1h")


def test_lexer_positions() -> None:
    toks = lex('sum(rate(x{a="b"}[5m]))')
    assert [t.pos for t in toks[:4]] == [0, 3, 4, 8]
    assert toks[-1].type == "EOF"


# query, error message (as str(ParseError))
BAD = [
    ("", "unknown position: parse error: no expression found in input"),
    ("1+", "1:3: parse error: unexpected end of input"),
    ("*1", "1:1: parse error: unexpected <op:*>"),
    ("(1))", "1:5: parse error: unexpected right parenthesis ')'"),
    ("((1)", "1:5: parse error: unclosed left parenthesis"),
    (".", "1:1: parse error: unexpected character: '.'"),
    ("2.5.", '1:1: parse error: bad number or duration syntax: "2.5."'),
    ("1 == 1", "1:3: parse error: comparisons between scalars must use BOOL modifier"),
    ("1 and 1", '1:1: parse error: set operator "and" not allowed in binary scalar expression'),
    ("1 =~ 1", "1:3: parse error: unexpected character after '=': '~'"),
    ('-"s"', '1:1: parse error: unary expression only allowed on expressions of type scalar or '
             'instant vector, got "string"'),
    ("1 offset 1d", "1:1: parse error: offset modifier must be preceded by an instant vector "
                    "selector or range vector selector or a subquery"),
    ("foo offset 1s offset 2s", "1:1: parse error: offset may not be set multiple times"),
    ("foo + group_left(baz) bar", "1:7: parse error: unexpected <group_left>"),
    ("foo and on(bar) group_left(baz) bar",
     '1:1: parse error: no grouping allowed for "and" operation'),
    ("foo + bool bar", "1:5: parse error: bool modifier can only be used on comparison operators"),
    ("foo == on(bar) 10", "1:1: parse error: vector matching only allowed between instant vectors"),
    ("a + on(x) group_left(x) b",
     '1:3: parse error: label "x" must not occur in ON and GROUP clause at once'),
    ("{", "1:2: parse error: unexpected end of input inside braces"),
    ("some_metric{a=b}", '1:15: parse error: unexpected identifier "b" in label matching, '
                         "expected string"),
    ("foo{gibberish}", '1:14: parse error: unexpected "}" in label matching, '
                       "expected label matching operator"),
    ("{}", "1:1: parse error: vector selector must contain at least one non-empty matcher"),
    ('{x=~".*"}', "1:1: parse error: vector selector must contain at least one non-empty matcher"),
    ('foo{__name__="bar"}', '1:1: parse error: metric name must not be set twice: "foo" or "bar"'),
    ("foo[5mm]", '1:5: parse error: bad number or duration syntax: "5mm"'),
    ("foo[0m]", "1:5: parse error: duration must be greater than 0"),
    ("foo[5m1h]", '1:5: parse error: not a valid duration string: "5m1h"'),
    ("some_metric OFFSET 1m[5m]", "1:22: parse error: no offset modifiers allowed before range"),
    ("some_metric[5m] OFFSET", "1:23: parse error: unexpected end of input in offset, expected "
                               "number, duration, step(), or range()"),
    ("(foo + bar)[5m]", "1:12: parse error: ranges only allowed for vector selectors"),
    ("foo @ +Inf", "1:1: parse error: timestamp out of bounds for @ modifier: +Inf"),
    ("sum (some_metric) by test", '1:22: parse error: unexpected identifier "test" in grouping '
                                  'opts, expected "("'),
    ("sum () by (test)", "1:1: parse error: no arguments for aggregate expression provided"),
    ("sum (x) without (a) by (b)", "1:21: parse error: unexpected <by>"),
    ("topk(some_metric)", "1:1: parse error: wrong number of arguments for aggregate expression "
                          "provided, expected 2, got 1"),
    ("topk(x,)", "1:7: parse error: trailing commas not allowed in function call args"),
    ("topk(x, y)", "1:6: parse error: expected type scalar in aggregation parameter, got instant "
                   "vector"),
    ("count_values(5, x)", "1:14: parse error: expected type string in aggregation parameter, "
                           "got scalar"),
    ("floor()", '1:1: parse error: expected 1 argument(s) in call to "floor", got 0'),
    ("floor(1)", '1:7: parse error: expected type instant vector in call to function "floor", '
                 "got scalar"),
    ("hour(a, b, c)", '1:1: parse error: expected at most 1 argument(s) in call to "hour", got 3'),
    ("nope()", '1:1: parse error: unknown function with name "nope"'),
    ("rate(x)", '1:6: parse error: expected type range vector in call to function "rate", '
                "got instant vector"),
    ("rate(x[5m]) + 1 [5m]", "1:17: parse error: ranges only allowed for vector selectors"),
    ("x[5m] + 1", "1:1: parse error: binary expression must contain only scalar and instant "
                  "vector types"),
    ('"\\c"', "1:1: parse error: unknown escape sequence U+0063 'c'"),
    ("`abc", "1:1: parse error: unterminated raw string"),
    ("test[5d] OFFSET 10s [10m:5s]",
     "1:1: parse error: subquery is only allowed on instant vector, got matrix instead"),
    ("foo\n  + ", "2:5: parse error: unexpected end of input"),
    ("sort_by_label(x, \"a\")", '1:1: parse error: function "sort_by_label" is not enabled'),
]


@pytest.mark.parametrize(("query", "message"), BAD)
def test_parse_errors(query: str, message: str) -> None:
    with pytest.raises(ParseError) as info:
        parse_expr(query)
    assert str(info.value) == message


def test_parse_error_carries_position() -> None:
    with pytest.raises(ParseError) as info:
        parse_expr("sum(x) +\n  foo{")
    assert (info.value.line, info.value.column) == (2, 7)


def test_experimental_functions_need_opt_in() -> None:
    assert isinstance(parse_expr('sort_by_label(x, "a")', features=ALL_FEATURES), ast.Call)
    assert isinstance(parse_expr("limitk(2, x)", features=ALL_FEATURES), ast.AggregateExpr)
    only = {EXPERIMENTAL_FUNCTIONS}
    assert isinstance(parse_expr('sort_by_label(x, "a")', features=only), ast.Call)
    assert isinstance(parse_expr("limit_ratio(0.5, x)", features=only), ast.AggregateExpr)


# Each feature gates exactly what Prometheus 3.14 gates, with its words and position.
@pytest.mark.parametrize(("query", "feature", "message"), [
    ('sort_by_label(x, "a")', EXPERIMENTAL_FUNCTIONS,
     '1:1: parse error: function "sort_by_label" is not enabled'),
    ("1 + step()", EXPERIMENTAL_FUNCTIONS, '1:5: parse error: function "step" is not enabled'),
    ("sum(limitk(2, x))", EXPERIMENTAL_FUNCTIONS,
     "1:5: parse error: limitk() is experimental and must be enabled with "
     "--enable-feature=promql-experimental-functions"),
    ("rate(x[5m] anchored)", EXTENDED_RANGE_SELECTORS,
     "1:6: parse error: anchored modifier is experimental and not enabled"),
    ("x smoothed", EXTENDED_RANGE_SELECTORS,
     "1:1: parse error: smoothed modifier is experimental and not enabled"),
    ("(a) + fill(0) b", BINOP_FILL_MODIFIERS,
     "1:1: parse error: binop fill modifiers are experimental and not enabled"),
    ("1 - a * on(x) fill_left(1) b", BINOP_FILL_MODIFIERS,
     "1:5: parse error: binop fill modifiers are experimental and not enabled"),
])
def test_features_gate_syntax(query: str, feature: str, message: str) -> None:
    with pytest.raises(ParseError) as info:
        parse_expr(query)
    assert str(info.value) == message
    with pytest.raises(ParseError):
        parse_expr(query, features=ALL_FEATURES - {feature})
    parse_expr(query, features={feature})


def test_duration_expressions_need_no_flag() -> None:
    # On by default since Prometheus 3.14; promql-duration-expr is accepted and changes nothing.
    assert parse_expr("foo[5m + 1m]").range_ms == 360_000  # type: ignore[attr-defined]
    assert str(parse_expr("x offset step()")) == "x offset step()"


def test_duration_expressions_fold_to_constants() -> None:
    e = parse_expr("rate(x[2m * 15])", features=ALL_FEATURES)
    assert e.args[0].range_ms == 30 * 60_000  # type: ignore[attr-defined]
    e = parse_expr("x[1h / 2 : 10s + 20s] offset (1m + 1m)", features=ALL_FEATURES)
    assert isinstance(e, ast.SubqueryExpr)
    assert (e.range_ms, e.step_ms, e.offset_ms) == (1_800_000, 30_000, 120_000)
    # Without parentheses only one operand belongs to offset: (x offset 2) ^ 2.
    e = parse_expr("x offset 2 ^ 2", features=ALL_FEATURES)
    assert isinstance(e, ast.BinaryExpr) and e.lhs.offset_ms == 2000  # type: ignore[attr-defined]
    # step() stays symbolic until the query runs.
    e = parse_expr("count_over_time(x[step() + 1s])", features=ALL_FEATURES)
    ms = e.args[0]  # type: ignore[attr-defined]
    assert ms.range_expr is not None and str(e) == "count_over_time(x[step() + 1s])"


@pytest.mark.parametrize(("query", "message"), [
    ("foo[5s/0d]", "1:7: parse error: division by zero"),
    ("foo[5s%0d]", "1:7: parse error: modulo by zero"),
    ("foo[0s]", "1:5: parse error: duration must be greater than 0"),
])
def test_duration_expression_errors(query: str, message: str) -> None:
    with pytest.raises(ParseError) as info:
        parse_expr(query, features=ALL_FEATURES)
    assert str(info.value) == message


def test_fill_modifiers() -> None:
    e = parse_expr("a + on(x) fill_left(1) fill_right(-2) b", features=ALL_FEATURES)
    assert isinstance(e, ast.BinaryExpr) and e.matching is not None
    assert (e.matching.fill_lhs, e.matching.fill_rhs) == (1, -2)
    assert str(e) == "a + on (x) fill_left (1) fill_right (-2) b"
    assert str(parse_expr("a + fill(0) b", features=ALL_FEATURES)) == "a + fill (0) b"
    with pytest.raises(ParseError, match="fill modifiers are experimental"):
        parse_expr("a + fill(0) b")
    with pytest.raises(ParseError, match="filling in missing series not allowed for set operators"):
        parse_expr("a and fill(0) b", features=ALL_FEATURES)
    # "fill" is still an ordinary metric name.
    assert isinstance(parse_expr("fill + 1"), ast.BinaryExpr)


def test_go_regex_syntax_in_matchers() -> None:
    e = parse_expr('x{a=~"(?i)abc", b=~"x((?i)Y)z"}')
    a, b = e.matchers[0], e.matchers[1]  # type: ignore[attr-defined]
    assert a.matches("ABC") and not a.matches("abd")
    assert b.matches("xyz") and b.matches("xYz") and not b.matches("XYZ")
    assert str(e) == 'x{a=~"(?i)abc",b=~"x((?i)Y)z"}'
