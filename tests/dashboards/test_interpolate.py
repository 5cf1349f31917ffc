"""Variables and the $__ built-ins expand as Perses and Grafana define them."""

from __future__ import annotations

import pytest

from vigil.dashboards.interpolate import (
    InterpolationError,
    TimeContext,
    builtin_values,
    interpolate,
    panel_step,
    rate_interval,
    referenced_variables,
    regex_escape,
)
from vigil.promql.parser import parse_expr


def test_plain_and_braced_references():
    values = {"job": "node", "site": "parlour-1"}
    assert interpolate('up{job="$job"}', values) == 'up{job="node"}'
    assert interpolate("${site}_x $site-y", values) == "parlour-1_x parlour-1-y"
    # $jobs is another (unknown) name, left as written
    assert interpolate("$jobs $job", values) == "$jobs node"


def test_multi_value_becomes_escaped_regex_alternation():
    values = {"instance": ["10.0.0.1:9100", "db(1)"]}
    query = interpolate('up{instance=~"$instance"}', values)
    assert query == 'up{instance=~"(10\\\\.0\\\\.0\\\\.1:9100|db\\\\(1\\\\))"}'
    # the result parses, and the PromQL string holds the regex (one backslash each)
    selector = parse_expr(query)
    assert [m.value for m in selector.matchers if m.name == "instance"] == [
        "(10\\.0\\.0\\.1:9100|db\\(1\\))"]


def test_single_selection_of_a_multi_variable_is_escaped_without_parentheses():
    assert interpolate("${v}", {"v": ["a.b"]}) == "a\\\\.b"
    assert interpolate("${v:regex}", {"v": "a.b"}) == "a\\\\.b"
    assert interpolate("${v:regex}", {"v": ["a", "b"]}) == "(a|b)"


def test_custom_all_value_is_inserted_as_is():
    assert interpolate('{i=~"$i"}', {"i": ".*"}) == '{i=~".*"}'


def test_regex_escape_of_backslash_and_quote():
    assert regex_escape('a\\b"c') == 'a\\\\\\\\b\\"c'
    parse_expr('x{a=~"' + regex_escape('a\\b"c') + '"}')


@pytest.mark.parametrize(("fmt", "expected"), [
    ("csv", "a,b c"), ("pipe", "a|b c"), ("raw", "a,b c"), ("text", "a + b c"),
    ("singlequote", "'a','b c'"), ("doublequote", '"a","b c"'), ("json", '["a", "b c"]'),
    ("glob", "{a,b c}"), ("distributed", "a,v=b c"), ("percentencode", "a,b%20c"),
    ("queryparam", "var-v=a&var-v=b%20c"),
])
def test_formats_of_a_multi_value(fmt, expected):
    assert interpolate("${v:" + fmt + "}", {"v": ["a", "b c"]}) == expected


def test_unknown_format_is_an_error():
    with pytest.raises(InterpolationError, match="unknown format 'shout'"):
        interpolate("${v:shout}", {"v": "a"})


def test_referenced_variables_lists_names_and_formats():
    text = 'rate(x{a="$a",b=~"${b:regex}"}[$__rate_interval]) ${c}'
    assert referenced_variables(text) == [("a", None), ("b", "regex"),
                                          ("__rate_interval", None), ("c", None)]


def test_step_follows_width_min_step_and_point_limit():
    day = TimeContext(start=0, end=86400, width_px=960, scrape_interval=15)
    assert panel_step(day) == 90.0  # 86400 s over 960 px
    assert panel_step(day, min_step=300) == 300.0
    hour = TimeContext(start=0, end=3600, width_px=1920, scrape_interval=15)
    assert panel_step(hour) == 15.0  # never finer than the scrape interval
    year = TimeContext(start=0, end=365 * 86400, width_px=100000, scrape_interval=1)
    assert panel_step(year) >= 365 * 86400 / 11000
    assert panel_step(day, resolution=2) == 180.0


def test_rate_interval_is_four_scrapes_or_step_plus_scrape():
    assert rate_interval(step=15, scrape_interval=15) == 60  # 4 × 15 s
    assert rate_interval(step=90, scrape_interval=15) == 105  # 90 s + 15 s
    assert rate_interval(step=45, scrape_interval=15) == 60  # tie region: 4 × scrape wins


def test_builtin_values_expand_into_parseable_promql():
    ctx = TimeContext(start=1000, end=1000 + 86400, width_px=960, scrape_interval=15)
    step = panel_step(ctx)
    values = builtin_values(ctx, step)
    assert values == {"__interval": "1m30s", "__interval_ms": "90000",
                      "__rate_interval": "1m45s", "__range": "1d", "__range_s": "86400",
                      "__range_ms": "86400000"}
    query = interpolate("rate(x[$__rate_interval]) / $__range_s + increase(x[$__range])",
                        values)
    assert query == "rate(x[1m45s]) / 86400 + increase(x[1d])"
    parse_expr(query)
    # a query's minStep stands in for the scrape interval
    assert builtin_values(ctx, 60, min_step=60)["__rate_interval"] == "4m"
