"""The exposition parsers: what they return for good pages and how they reject bad ones."""

from __future__ import annotations

import math

import pytest

from vigil.collect.exposition import format_for, parse, parse_openmetrics, parse_text
from vigil.errors import ParseError
from vigil.model.labels import Labels

TEXT_PAGE = """\
# HELP http_requests_total The total number of HTTP requests.\\nSecond line \\\\ done
# TYPE http_requests_total counter
http_requests_total{method="post",code="200"} 1027 1395066363000
http_requests_total{method="post",code="400"}    3 1395066363000

# A normal comment.
msdos_file_access_time_seconds{path="C:\\\\DIR\\\\FILE.TXT",error="Cannot find file:\\n\\"FILE.TXT\\""} 1.458255915e9
metric_without_timestamp_and_labels 12.47
  spaced { a = "1" , b="2", } -Inf
something_weird{problem="division by zero"} +Inf -3982045
nan_metric NaN
# TYPE rpc_duration_seconds summary
rpc_duration_seconds{quantile="0.5"} 4773
rpc_duration_seconds_sum 1.7560473e+07
"""


def test_text_format_samples_labels_and_timestamps() -> None:
    r = parse_text(TEXT_PAGE)
    assert r.format == "text"
    by = {s.labels: s for s in r.samples}
    s = by[Labels.of(__name__="http_requests_total", method="post", code="200")]
    assert s.value == 1027 and s.ts_ms == 1395066363000
    s = by[Labels.of(__name__="msdos_file_access_time_seconds", path="C:\\DIR\\FILE.TXT",
                     error='Cannot find file:\n"FILE.TXT"')]
    assert s.value == 1.458255915e9 and s.ts_ms is None
    assert by[Labels.of(__name__="spaced", a="1", b="2")].value == -math.inf
    weird = by[Labels.of(__name__="something_weird", problem="division by zero")]
    assert weird.value == math.inf and weird.ts_ms == -3982045
    assert math.isnan(by[Labels.of(__name__="nan_metric")].value)
    assert len(r.samples) == 9
    md = r.metadata["http_requests_total"]
    assert md.type == "counter"
    assert md.help == "The total number of HTTP requests.\nSecond line \\ done"
    assert r.metadata["rpc_duration_seconds"].type == "summary"


@pytest.mark.parametrize(("text", "line", "reason"), [
    ('a 1\nb{x="1" 2\n', 2, "expected ',' or '}' after label value"),
    ("a 1\n\n\nc{x} 1\n", 4, "expected '=' after label name"),
    ('ok 1\nd{x="1",x="2"} 1\n', 2, "duplicate label name 'x'"),
    ("e one\n", 1, "invalid value 'one'"),
    ("f 1 1.5\n", 1, "invalid timestamp '1.5'"),
    ("g\n", 1, "missing value"),
    ('h{1a="x"} 1\n', 1, "invalid label name"),
    ('i{a="x} 1\n', 1, "unterminated label value"),
    ("j 1 2 3\n", 1, "unexpected text after timestamp"),
    ("k.l 1\n", 1, "invalid character '.' in metric name"),
    ("1m 1\n", 1, "expected metric name"),
    ("# TYPE n gauge\n# TYPE n counter\n", 2, "second # TYPE line for metric name 'n'"),
    ("# TYPE o histogramm\n", 1, "invalid metric type 'histogramm'"),
    ('p{__name__="q"} 1\n', 1, "'__name__' is reserved"),
    ("r 1_000\n", 1, "invalid value '1_000'"),
    ("s{b='c'} 1\n", 1, "expected '\"' to start label value"),
    ('{a="ok"} 1\n', 1, "expected metric name"),
    ("t true\n", 1, "invalid value 'true'"),
])
def test_text_format_errors_say_line_and_reason(text: str, line: int, reason: str) -> None:
    with pytest.raises(ParseError) as ei:
        parse_text(text)
    assert ei.value.line == line
    assert str(ei.value).startswith(f"line {line}: ")
    assert reason in str(ei.value)


def test_openmetrics_timestamps_are_seconds_and_exemplars_are_dropped() -> None:
    page = (
        "# TYPE req counter\n"
        "# HELP req Requests \\\"quoted\\\".\n"
        'req_total{path="/a"} 7 1700000000.25 # {trace_id="abc"} 1 1700000000.1\n'
        "req_created 1699999999.5\n"
        "# TYPE temp_seconds gauge\n"
        "# UNIT temp_seconds seconds\n"
        "temp_seconds 3.5\n"
        "# EOF\n"
    )
    r = parse(page.encode(), "application/openmetrics-text; version=1.0.0; charset=utf-8")
    assert r.format == "openmetrics"
    by = {s.labels: s for s in r.samples}
    total = by[Labels.of(__name__="req_total", path="/a")]
    assert total.value == 7 and total.ts_ms == 1_700_000_000_250
    assert by[Labels.of(__name__="req_created")].value == 1699999999.5
    assert by[Labels.of(__name__="temp_seconds")].ts_ms is None
    assert len(r.samples) == 3  # no exemplar sample
    assert r.metadata["req"].type == "counter"
    assert r.metadata["req"].help == 'Requests "quoted".'
    assert r.metadata["temp_seconds"].unit == "seconds"


@pytest.mark.parametrize(("text", "line", "reason"), [
    ("a 1\n", 2, "missing # EOF"),
    ("# TYPE a counter\na_total -1\n# EOF\n", 2, "non-negative"),
    ("# TYPE a gauge\na 1\n# TYPE b gauge\nb 1\na 2\n# EOF\n", 5, "not contiguous"),
    ("a 1\n# EOF\nb 1\n", 3, "after # EOF"),
    ("a  1\n# EOF\n", 1, "exactly one ' '"),
    ('# TYPE h histogram\nh_bucket{le="1"} 1\nh_count 1\nh_sum 1\n# EOF\n', 5,
     "no +Inf bucket"),
])
def test_openmetrics_errors_say_line_and_reason(text: str, line: int, reason: str) -> None:
    with pytest.raises(ParseError) as ei:
        parse_openmetrics(text)
    assert ei.value.line == line, str(ei.value)
    assert reason in str(ei.value)


def test_format_chosen_by_content_type() -> None:
    assert format_for("application/openmetrics-text;version=1.0.0") == "openmetrics"
    assert format_for("text/plain; version=0.0.4") == "text"
    assert format_for(None) == "text"
    # "# EOF" is just a comment in the text format, and required only by OpenMetrics.
    assert len(parse(b"a 1\n", "text/plain").samples) == 1
    with pytest.raises(ParseError):
        parse(b"a 1\n", "application/openmetrics-text")


def test_invalid_utf8_is_a_parse_error_with_line() -> None:
    with pytest.raises(ParseError) as ei:
        parse(b'a 1\nb{x="\xff"} 1\n')
    assert ei.value.line == 2


def test_empty_label_values_are_dropped_and_escapes_kept_for_unknown_sequences() -> None:
    r = parse_text('a{x="",y="\\q"} 1\n')
    assert r.samples[0].labels == Labels.of(__name__="a", y="\\q")


def test_ten_thousand_line_page_parses() -> None:
    lines = []
    for i in range(5000):
        lines.append(f"# TYPE m{i} gauge")
        lines.append(f'm{i}{{instance="host{i}",job="node"}} {i}.5')
    r = parse_text("\n".join(lines))
    assert len(r.samples) == 5000
    assert r.samples[4999].value == 4999.5


def test_label_cache_gives_the_same_result_and_keeps_only_valid_lines() -> None:
    cache: dict[str, Labels] = {}
    page = 'a{x="1"} 1\nb 2\n'
    first = parse_text(page, label_cache=cache)
    second = parse_text(page.replace(" 1", " 5"), label_cache=cache)
    assert [s.labels for s in first.samples] == [s.labels for s in second.samples]
    assert second.samples[0].value == 5
    assert set(cache) == {'a{x="1"}', "b"}
    with pytest.raises(ParseError):
        parse_text('c{x="1",x="2"} 1\n', label_cache=cache)
    assert set(cache) == {'a{x="1"}', "b"}
    om = parse_openmetrics('# TYPE a gauge\na{x="1"} 3\n# EOF\n', label_cache=cache)
    assert om.samples[0].labels == Labels.of(__name__="a", x="1")
