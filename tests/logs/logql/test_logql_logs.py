"""Log queries: selectors, line filters, parsers, label filters, formatting, drop/keep and
decolorize, run by the engine over a reader; expected lines and labels worked out by hand from
Loki's documentation of each stage."""

from __future__ import annotations

import pytest

from tests.logs.logql.memreader import MemoryReader
from vigil.logs.logql import LogQLEngine
from vigil.logs.model import LogEntry
from vigil.model.labels import Labels

S = 1_000_000_000
API = Labels.of(app="api", env="prod")
WEB = Labels.of(app="web", env="prod")


def _entries() -> list[LogEntry]:
    lines = [
        (API, '{"level":"info","status":200,"path":"/health","latency":"3ms","req":{"id":"a1","bytes":"1.5KB"}}'),
        (API, '{"level":"error","status":503,"path":"/api/orders","latency":"1.2s","req":{"id":"a2","bytes":"20MB"}}'),
        (API, '{"level":"error","status":500,"path":"/api/users","latency":"250ms","req":{"id":"a3","bytes":"900B"}}'),
        (API, 'not json at all'),
        (WEB, 'level=warn method=GET path="/index.html" status=404 took=15ms msg="not found"'),
        (WEB, 'level=info method=POST path=/login status=200 took=2.5s user=alice'),
        (WEB, '\x1b[31mERROR\x1b[0m 10.1.2.3 - - "GET /admin HTTP/1.1" 403'),
    ]
    return [LogEntry((i + 1) * S, labels, line) for i, (labels, line) in enumerate(lines)]


@pytest.fixture
def engine() -> LogQLEngine:
    return LogQLEngine(MemoryReader(_entries()))


def lines(engine: LogQLEngine, query: str, **kw: object) -> list[str]:
    streams = engine.select_logs(query, 0, 100 * S, **kw)  # type: ignore[arg-type]
    out = [(ts, line) for s in streams for ts, line in s.entries]
    return [line for _, line in sorted(out)]


def test_selector_and_line_filters(engine: LogQLEngine) -> None:
    assert len(lines(engine, '{app="api"}')) == 4
    assert len(lines(engine, '{env="prod"}')) == 7
    assert lines(engine, '{app="web"} |= "GET"') == [
        'level=warn method=GET path="/index.html" status=404 took=15ms msg="not found"',
        '\x1b[31mERROR\x1b[0m 10.1.2.3 - - "GET /admin HTTP/1.1" 403']
    assert len(lines(engine, '{app="web"} |= "GET" != "admin"')) == 1
    assert len(lines(engine, '{app="api"} |= "orders" or "users"')) == 2
    assert len(lines(engine, '{app="api"} != "orders" or "users"')) == 2  # neither
    assert len(lines(engine, '{app="api"} |~ "status\\":5\\\\d\\\\d"')) == 2
    assert len(lines(engine, '{app="api"} !~ "^\\\\{"')) == 1
    assert lines(engine, '{app="web"} |= ip("10.0.0.0/8")') == [_entries()[6].line]
    assert lines(engine, '{app="web"} |> "<_> method=POST <_>"') == [_entries()[5].line]


def test_the_needles_reach_the_reader() -> None:
    reader = MemoryReader(_entries())
    LogQLEngine(reader).select_logs('{app="api"} |= "error" |~ "5.." | json', 0, 100 * S)
    assert reader.selections[-1].needles == ("error",)
    assert reader.selections[-1].backward is True


def test_json_flattens_and_filters_by_number_duration_and_bytes(engine: LogQLEngine) -> None:
    streams = engine.select_logs('{app="api"} | json | status >= 500', 0, 100 * S)
    labels = sorted(s.labels for s in streams)
    assert [lb.get("req_id") for lb in labels] == ["a2", "a3"]
    assert labels[0].get("latency") == "1.2s" and labels[0].get("level") == "error"
    assert lines(engine, '{app="api"} | json | latency > 500ms') == [_entries()[1].line]
    assert lines(engine, '{app="api"} | json | req_bytes < 2KB') == [
        _entries()[0].line, _entries()[2].line]
    assert len(lines(engine, '{app="api"} | json | status == 200 or latency >= 1s')) == 2


def test_a_line_a_parser_cannot_read_carries_error_and_can_be_dropped(
        engine: LogQLEngine) -> None:
    streams = engine.select_logs('{app="api"} | json', 0, 100 * S)
    broken = [s for s in streams if s.labels.get("__error__")]
    assert len(broken) == 1 and broken[0].labels.get("__error__") == "JSONParserErr"
    assert broken[0].entries[0][1] == "not json at all"
    assert len(lines(engine, '{app="api"} | json | __error__=""')) == 3
    assert len(lines(engine, '{app="api"} | json | drop __error__, __error_details__')) == 4


def test_json_expressions_and_clashes_with_stream_labels() -> None:
    entry = LogEntry(S, API, '{"app":"inner","a":{"b":[1,{"c":"deep"}]},"n":null,"t":true,'
                             '"1st":{"2nd":"x","we-ird key":"y"}}')
    engine = LogQLEngine(MemoryReader([entry]))
    [stream] = engine.select_logs('{app="api"} | json', 0, 10 * S)
    assert stream.labels.get("app") == "api" and stream.labels.get("app_extracted") == "inner"
    assert stream.labels.get("t") == "true" and "n" not in stream.labels.names()
    assert stream.labels.get("_1st_2nd") == "x" and stream.labels.get("_1st_we_ird_key") == "y"
    [stream] = engine.select_logs('{app="api"} | json x="a.b[1].c", y="a.b", z="missing"',
                                  0, 10 * S)
    assert stream.labels.get("x") == "deep"
    assert stream.labels.get("y") == '[1,{"c":"deep"}]'
    assert "z" not in stream.labels.names()  # empty values are not labels


def test_logfmt_and_duration_filter(engine: LogQLEngine) -> None:
    streams = engine.select_logs('{app="web"} | logfmt | took > 1s', 0, 100 * S)
    [stream] = streams
    assert stream.labels.get("user") == "alice" and stream.labels.get("method") == "POST"
    [stream] = engine.select_logs('{app="web"} |= "warn" | logfmt', 0, 100 * S)
    assert stream.labels.get("path") == "/index.html" and stream.labels.get("msg") == "not found"


def test_logfmt_flags() -> None:
    entry = LogEntry(S, API, 'a=1 lonely b= c="x y"')
    engine = LogQLEngine(MemoryReader([entry]))
    [plain] = engine.select_logs('{app="api"} | logfmt', 0, 10 * S)
    assert plain.labels.get("a") == "1" and plain.labels.get("c") == "x y"
    assert "lonely" not in plain.labels.names()
    [some] = engine.select_logs('{app="api"} | logfmt --strict c, first="a"', 0, 10 * S)
    assert some.labels.get("first") == "1" and some.labels.get("c") == "x y"
    bad = LogEntry(S, API, 'a=1 x=y=z b="unterminated')
    engine = LogQLEngine(MemoryReader([bad]))
    [strict] = engine.select_logs('{app="api"} | logfmt --strict', 0, 10 * S)
    assert strict.labels.get("__error__") == "LogfmtParserErr"
    assert strict.labels.get("__error_details__") == "logfmt syntax error at pos 8 : unexpected '='"
    assert strict.labels.get("a") == "1" and "b" not in strict.labels.names()
    [lenient] = engine.select_logs('{app="api"} | logfmt', 0, 10 * S)
    assert lenient.labels.to_dict() == {"app": "api", "env": "prod", "a": "1"}


def test_pattern_and_regexp(engine: LogQLEngine) -> None:
    [stream] = engine.select_logs(
        '{app="web"} |= "admin" | decolorize | pattern "<level> <ip> - - \\"<method> <uri> <_>\\" <status>"',
        0, 100 * S)
    assert stream.labels.to_dict() | {} == {
        "app": "web", "env": "prod", "level": "ERROR", "ip": "10.1.2.3", "method": "GET",
        "uri": "/admin", "status": "403"}
    [stream] = engine.select_logs(
        '{app="web"} | regexp "(?P<addr>\\\\d+\\\\.\\\\d+\\\\.\\\\d+\\\\.\\\\d+) .*\\" (?P<code>\\\\d+)$"'
        ' | code = 403 | addr = ip("10.1.0.0/16")', 0, 100 * S)
    assert stream.labels.get("code") == "403"


def test_unpack_replaces_the_line_with_entry() -> None:
    packed = LogEntry(S, API, '{"_entry":"original line","pod":"p-1","n":3}')
    [stream] = LogQLEngine(MemoryReader([packed])).select_logs('{app="api"} | unpack', 0, 10 * S)
    assert stream.labels.get("pod") == "p-1" and "n" not in stream.labels.names()
    assert stream.entries == [(S, "original line")]


def test_line_format_label_format_drop_keep(engine: LogQLEngine) -> None:
    assert lines(engine, '{app="api"} | json | __error__="" | status >= 500 '
                         '| line_format "{{.status}} {{.path | ToUpper}} {{ __line__ | len }}"') \
        == ["503 /API/ORDERS 101", "500 /API/USERS 101"]
    [stream] = engine.select_logs('{app="web"} | logfmt | user != "" '
                                  '| label_format who=user, summary="{{.method}} {{.path}}" '
                                  '| keep app, who, summary', 0, 100 * S)
    assert stream.labels.to_dict() == {"app": "web", "who": "alice",
                                       "summary": "POST /login"}
    [stream] = engine.select_logs('{app="web"} | logfmt | user != "" | drop took, method="GET",'
                                  ' method="POST", env', 0, 100 * S)
    assert sorted(stream.labels.names()) == ["app", "level", "path", "status", "user"]


def test_decolorize(engine: LogQLEngine) -> None:
    assert lines(engine, '{app="web"} |= "admin" | decolorize') == [
        'ERROR 10.1.2.3 - - "GET /admin HTTP/1.1" 403']


def test_limit_direction_and_window(engine: LogQLEngine) -> None:
    newest = engine.select_logs('{app="api"}', 0, 100 * S, limit=2)
    assert [ts for s in newest for ts, _ in s.entries] == [4 * S, 3 * S]
    oldest = engine.select_logs('{app="api"}', 0, 100 * S, limit=2, direction="forward")
    assert [ts for s in oldest for ts, _ in s.entries] == [S, 2 * S]
    assert lines(engine, '{app="api"}') != []
    assert engine.select_logs('{app="api"}', 2 * S, 3 * S) != []
    assert [e for s in engine.select_logs('{app="api"}', 2 * S, 3 * S) for e in s.entries] == [
        (2 * S, _entries()[1].line)]


def test_structured_fields_and_level_are_labels() -> None:
    entry = LogEntry(S, API, "boom", level="error", fields=(("trace_id", "abc"),))
    engine = LogQLEngine(MemoryReader([entry]))
    assert lines(engine, '{app="api"} | trace_id="abc" | detected_level="error"') == ["boom"]
    assert lines(engine, '{app="api"} | trace_id="other"') == []


@pytest.mark.parametrize(("template", "expected"), [
    ('{{ __timestamp__ }}', "2023-11-14 22:13:20.123 +0000 UTC"),
    ('{{ __timestamp__ | date "2006-01-02T15:04:05.00Z07:00" }}', "2023-11-14T22:13:20.12Z"),
    ('{{ __timestamp__ | unixEpoch }}', "1700000000"),
    ('{{ toDate "2006-01-02" "2021-11-02" | unixEpoch }}', "1635811200"),
    ('{{ date "Mon Jan _2 03:04:05 PM 2006" (unixToTime "1679577215") }}',
     "Thu Mar 23 01:13:35 PM 2023"),
    ('{{ .took | duration }}', "90"),
    ('{{ bytes "2 KB" }}', "2000"),
    ('{{ alignLeft 5 .user }}|{{ alignRight 3 .user }}', "alice|ice"),
    ('{{ count "a|b" "abab" }} {{ round 123.555555 3 }} {{ max 1 7 3 }} {{ divf 10 2 4 }}',
     "4 123.556 7 1.25"),
    ('{{ range $q := fromJson .queries }}{{ $q.query }};{{ end }}', "up;down;"),
    ('{{ .user | upper | trunc 3 }} {{ replace "a" "4" .user }} {{ default "-" .nope }}',
     "ALI 4lice -"),
    ('{{ regexReplaceAll "(a*)bc" "aabc" "${1}x" }} {{ printf "%-4.4s|" .user }}',
     "aax alic|"),
])
def test_template_functions(template: str, expected: str) -> None:
    entry = LogEntry(1_700_000_000_123_000_000, API,
                     'took=1m30s user=alice queries="[{\\"query\\":\\"up\\"},{\\"query\\":\\"down\\"}]"')
    engine = LogQLEngine(MemoryReader([entry]))
    query = '{app="api"} | logfmt | line_format `' + template + '`'
    [stream] = engine.select_logs(query, 0, 2 * 10**18)
    assert [line for _, line in stream.entries] == [expected]


def test_a_template_that_fails_marks_the_line() -> None:
    engine = LogQLEngine(MemoryReader([LogEntry(S, API, "user=alice")]))
    [stream] = engine.select_logs('{app="api"} | logfmt | line_format `{{ .user | duration }}`',
                                  0, 10 * S)
    assert stream.labels.get("__error__") == "TemplateFormatErr"
    assert stream.entries == [(S, "user=alice")]  # the line is kept as it was
