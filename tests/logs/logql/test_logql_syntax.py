"""LogQL lexing, parsing and printing: the printed form Loki's String() gives, the round trip
(print, parse again, print the same), and syntax errors worded as Loki words them, at the
position of the offending token. Cases written for Vigil from Loki's documented queries."""

from __future__ import annotations

import pytest

from vigil.logs.logql import ParseError, ast, parse_expr
from vigil.logs.logql.lexer import tokenize
from vigil.logs.logql.units import format_bytes, format_go_duration, parse_bytes, parse_go_duration
from vigil.model.matchers import MatchType

PRINTED = [
    ('{app="api"}', '{app="api"}'),
    ('{app="api",env=~"prod|staging"}', '{app="api", env=~"prod|staging"}'),
    ('{app="api"} |= "error"', '{app="api"} |= "error"'),
    ('{app="api"} |= `a"b`', '{app="api"} |= "a\\"b"'),
    ('{app="api"} |= "error" or "fatal" != "health" |~ "t(ime)?out" !~ "debug"',
     '{app="api"} |= "error" or "fatal" != "health" |~ "t(ime)?out" !~ "debug"'),
    ('{app="api"} != "a" or "b"', '{app="api"} != "a" != "b"'),
    ('{app="api"} |= ip("10.0.0.0/8")', '{app="api"} |= ip("10.0.0.0/8")'),
    ('{app="api"} | json', '{app="api"} | json'),
    ('{app="api"} | json first="servers[0]", ua="request.headers[\\"User-Agent\\"]"',
     '{app="api"} | json first="servers[0]",ua="request.headers[\\"User-Agent\\"]"'),
    ('{app="api"} | logfmt --strict --keep-empty', '{app="api"} | logfmt --strict --keep-empty'),
    ('{app="api"} | logfmt --strict host, lvl="level"',
     '{app="api"} | logfmt --strict host="host",lvl="level"'),
    ('{app="api"} | regexp "(?P<method>\\\\w+) (?P<path>\\\\S+)"',
     '{app="api"} | regexp "(?P<method>\\\\w+) (?P<path>\\\\S+)"'),
    ('{app="api"} | pattern `<ip> - - <_> "<method> <uri> <_>" <status>`',
     '{app="api"} | pattern "<ip> - - <_> \\"<method> <uri> <_>\\" <status>"'),
    ('{app="api"} | unpack', '{app="api"} | unpack'),
    ('{app="api"} | json | response_time >= 5000', '{app="api"} | json | response_time>=5000'),
    ('{app="api"} | logfmt | duration > 1.5s and size <= 20MB',
     '{app="api"} | logfmt | ( duration>1.5s , size<=20MB )'),
    ('{app="api"} | logfmt | level="error" or status=~"5.." , latency == 10ms',
     '{app="api"} | logfmt | ( level="error" or ( status=~"5.." , latency==10ms ) )'),
    ('{app="api"} | logfmt | addr = ip("192.168.0.0/16")',
     '{app="api"} | logfmt | addr=ip("192.168.0.0/16")'),
    ('{app="api"} | line_format "{{.status}} {{ .path | ToUpper }}"',
     '{app="api"} | line_format "{{.status}} {{ .path | ToUpper }}"'),
    ('{app="api"} | label_format dst=src, msg="{{.a}}-{{.b}}"',
     '{app="api"} | label_format dst=src,msg="{{.a}}-{{.b}}"'),
    ('{app="api"} | drop level, method="GET" | keep path | decolorize',
     '{app="api"} | drop level,method="GET" | keep path | decolorize'),
    ('count_over_time({app="api"}[5m])', 'count_over_time({app="api"}[5m])'),
    ('rate({app="api"} |= "error" [1m] offset 1h)',
     'rate({app="api"} |= "error"[1m] offset 1h0m0s)'),
    ('rate({app="api"}[1m]) offset', None),  # offset belongs inside: error tested below
    ('sum by (app) (rate({app="api"} | json [5m]))',
     'sum by (app)(rate({app="api"} | json[5m]))'),
    ('sum(rate({app="api"}[5m])) by (app)', 'sum by (app)(rate({app="api"}[5m]))'),
    ('topk(3, sum by (path) (count_over_time({app="api"}[1h])))',
     'topk(3,sum by (path)(count_over_time({app="api"}[1h])))'),
    ('quantile_over_time(0.99, {app="api"} | json | unwrap duration(latency) '
     '| __error__="" [5m]) by (path)',
     'quantile_over_time(0.99,{app="api"} | json | unwrap duration(latency) '
     '| __error__=""[5m]) by (path)'),
    ('sum_over_time({app="api"} | logfmt | unwrap bytes(size) [1m])',
     'sum_over_time({app="api"} | logfmt | unwrap bytes(size)[1m])'),
    ('avg_over_time(({app="api"} | logfmt | unwrap latency)[1m])',
     'avg_over_time({app="api"} | logfmt | unwrap latency[1m])'),
    ('sum(rate({a="b"}[1m])) / on (x) group_left (y) sum(rate({a="c"}[1m]))',
     '(sum(rate({a="b"}[1m])) / on (x) group_left (y) sum(rate({a="c"}[1m])))'),
    ('count_over_time({a="b"}[1m]) > bool 2 * 3',
     '(count_over_time({a="b"}[1m]) > bool 6)'),
    ('1 + 2 * 3 ^ 2', '19'),
    ('-2 ^ 2', '4'),  # Loki folds -2 as a literal before the power
    ('vector(1) or count_over_time({a="b"}[1m])',
     '(vector(1) or count_over_time({a="b"}[1m]))'),
    ('absent_over_time({a="b"}[5m])', 'absent_over_time({a="b"}[5m])'),
    ('bytes_rate({a="b"} # a comment\n [5m])', 'bytes_rate({a="b"}[5m])'),
    ('label_replace(rate({job="api",service="a:c"} |= "err" [1m]), "foo", "$1", "service", '
     '"(.*):.*")',
     'label_replace(rate({job="api", service="a:c"} |= "err"[1m]),"foo","$1","service",'
     '"(.*):.*")'),
]


@pytest.mark.parametrize(("query", "printed"), [c for c in PRINTED if c[1] is not None])
def test_printed_form_and_round_trip(query: str, printed: str) -> None:
    expr = parse_expr(query)
    assert str(expr) == printed
    assert parse_expr(printed) == expr
    assert str(parse_expr(printed)) == printed


ERRORS = [
    ('{foo="bar"', 'parse error at line 1, col 11: syntax error: unexpected $end, '
                   'expecting } or ,'),
    ('foo', 'parse error at line 1, col 1: syntax error: unexpected IDENTIFIER'),
    ('{a="b"} |= ', 'parse error at line 1, col 12: syntax error: unexpected $end, '
                    'expecting STRING or ip'),
    ('{a="b"}\n  | json\n  | x >> 3', 'parse error at line 3, col 8: syntax error: unexpected >'),
    ('rate({a="b"}[1m]) offset 1h', 'parse error at line 1, col 19: syntax error: '
                                    'unexpected offset'),
    ('sum_over_time({a="b"}[5m])', 'parse error : invalid aggregation sum_over_time without '
                                   'unwrap'),
    ('count_over_time({a="b"} | logfmt | unwrap x [5m])',
     'parse error : invalid aggregation count_over_time with unwrap'),
    ('quantile_over_time({a="b"} | unwrap x [5m])',
     'parse error : parameter required for operation quantile_over_time'),
    ('sum_over_time(50, {a="b"} | unwrap x [5m])',
     'parse error : parameter 50 not supported for operation sum_over_time'),
    ('sum_over_time({a="b"} | unwrap x [5m]) by (y)',
     'parse error : grouping not allowed for sum_over_time aggregation'),
    ('topk(rate({a="b"}[1m]))', 'parse error : parameter required for operation topk'),
    ('bottomk(1.2, rate({a="b"}[1m]))', 'parse error : invalid parameter bottomk(1.2,'),
    ('sum(3, rate({a="b"}[1m]))', 'parse error : unsupported parameter for operation sum(3,'),
    ('count_over_time({a="b"}[5minutes])', 'parse error at line 1, col 34: unknown unit '
                                           '"minutes" in duration "5minutes"'),
    ('count_over_time({a="b"}[5m', "parse error at line 1, col 27: missing closing ']' "
                                   "in duration"),
    ('{a="b"} |= "x', 'parse error at line 1, col 12: literal not terminated'),
    # Go's text/scanner refuses an escape it does not know ("\\S" belongs in a raw string).
    ('{a="b"} |~ "\\S+"', 'parse error at line 1, col 12: invalid char escape'),
    ('{a="b"} |= "\\u12"', 'parse error at line 1, col 12: invalid char escape'),
    ('{a=~".*"}', 'parse error : queries require at least one regexp or equality matcher '
                  'that does not have an empty-compatible value. For instance, app=~".*" '
                  'does not meet this requirement, but app=~".+" will'),
    ('{a="b"} + 1', 'parse error : unexpected type for left leg of binary operation (+): '
                    '*syntax.MatchersExpr'),
    ('1 - {a="b"} |= "x"', 'parse error : unexpected type for right leg of binary operation '
                           '(-): *syntax.PipelineExpr'),
    ('1 or rate({a="b"}[1m])', 'parse error : unexpected literal for left leg of '
                               'logical/set binary operation (or): 1.000000'),
    ('{a="b"} | regexp "(\\\\w+)"', 'parse error : invalid regexp parser: at least one named '
                                    'capture must be supplied'),
    ('{a="b"} | pattern "<a><b>"', "parse error : invalid pattern parser: found consecutive "
                                   "capture '<a><b>': invalid expression"),
    ('{a="b"} |= "x" or ip("1.2.3.4")', 'parse error at line 1, col 19: syntax error: '
                                        'unexpected ip'),
    ('{a="b"} |> "<x> y"', "parse error : invalid pattern: named captures are not allowed: "
                           "found '<x>'"),
    ('{a="b"} | pattern "no capture"', 'parse error : invalid pattern parser: at least one '
                                       'capture is required'),
]


@pytest.mark.parametrize(("query", "message"), ERRORS)
def test_errors_are_worded_and_placed_as_loki_does(query: str, message: str) -> None:
    with pytest.raises(ParseError) as caught:
        parse_expr(query)
    assert str(caught.value) == message


def test_literal_arithmetic_is_folded_and_division_by_zero_is_nan() -> None:
    assert str(parse_expr("10 / 0")) == "NaN"  # Loki's choice, unlike PromQL's +Inf
    assert str(parse_expr("7 % 0")) == "NaN"
    assert parse_expr("2 > bool 1") == ast.Literal(1.0)


def test_bad_regular_expressions_are_parse_errors() -> None:
    # The regexp engine's own explanation follows (Python's words, not Go's).
    for query, prefix in (
            ('label_replace(rate({a="b"}[1m]), "x", "$1", "a", "(")',
             "parse error : invalid regex in label_replace: error parsing regexp: "),
            ('{a="b"} | regexp "(?P<x>"', "parse error : invalid regexp parser: "),
            ('{a=~"("}', "parse error : error parsing regexp: "),
            ('{a="b"} |~ "("', "parse error : error parsing regexp: ")):
        with pytest.raises(ParseError) as caught:
            parse_expr(query)
        assert str(caught.value).startswith(prefix)


def test_the_tree_of_a_metric_query() -> None:
    expr = parse_expr('sum by (path) (rate({app="api", env!="dev"} |= "GET" | json '
                      '| status >= 500 [5m] offset 10m))')
    assert isinstance(expr, ast.VectorAggregation)
    assert expr.op == "sum" and expr.grouping == ast.Grouping(("path",), False)
    inner = expr.expr
    assert isinstance(inner, ast.RangeAggregation) and inner.op == "rate"
    assert inner.range.range_ns == 300 * 10**9 and inner.range.offset_ns == 600 * 10**9
    selector = inner.range.selector
    assert [(m.name, m.type, m.value) for m in selector.matchers] == [
        ("app", MatchType.EQUAL, "api"), ("env", MatchType.NOT_EQUAL, "dev")]
    assert selector.stages == (
        ast.LineFilter("|=", ("GET",)), ast.JSONParser(),
        ast.LabelFilterStage(ast.NumericFilter("status", ">=", 500.0)))
    assert selector.needles() == ("GET",)


def test_needles_stop_at_a_stage_that_rewrites_the_line() -> None:
    expr = parse_expr('{a="b"} |= "x" |= "y" or "z" | line_format "{{.a}}" |= "w"')
    assert isinstance(expr, ast.LogSelector)
    assert expr.needles() == ("x",)
    expr = parse_expr('{a="b"} |= "x" | json | unpack |= "w"')
    assert isinstance(expr, ast.LogSelector) and expr.needles() == ("x",)


def test_function_words_are_labels_when_no_parenthesis_follows() -> None:
    expr = parse_expr('{a="b"} | logfmt | rate > 5 | count = "x"')
    assert isinstance(expr, ast.LogSelector)
    assert str(expr) == '{a="b"} | logfmt | rate>5 | count="x"'
    kinds = [t.kind for t in tokenize('sum by (x) (rate({a="b"}[1m]))')]
    assert kinds[:3] == ["SUM", "by", "("] and "RATE" in kinds


def test_units() -> None:
    assert parse_go_duration("1.5s") == 1_500_000_000
    assert parse_go_duration("1h30m") == 5_400 * 10**9
    assert parse_go_duration("-250ms") == -250_000_000
    for bad, message in (("5", 'time: missing unit in duration "5"'),
                         ("5x", 'time: unknown unit "x" in duration "5x"'),
                         ("", 'time: invalid duration ""')):
        with pytest.raises(ValueError, match="^" + message.replace(".", r"\.") + "$"):
            parse_go_duration(bad)
    assert [format_go_duration(n) for n in (0, 1, 1500, 1_500_000, 90 * 10**9, 3600 * 10**9)] \
        == ["0s", "1ns", "1.5µs", "1.5ms", "1m30s", "1h0m0s"]
    assert parse_bytes("10KB") == 10_000 and parse_bytes("1.5KiB") == 1536
    assert parse_bytes("42") == 42 and parse_bytes("3 MB") == 3_000_000
    with pytest.raises(ValueError, match="unhandled size name: xb"):
        parse_bytes("3xb")
    assert [format_bytes(n) for n in (9, 10_000, 20_000_000, 1_500)] == [
        "9B", "10kB", "20MB", "1.5kB"]
