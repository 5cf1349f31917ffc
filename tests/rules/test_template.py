"""Alert templates: Go text/template syntax with Prometheus's functions."""

from __future__ import annotations

import pytest

from vigil.model.labels import Labels
from vigil.rules.template import AlertTemplate, TemplateError, expand_alert_text

LABELS = Labels({"__name__": "node_load1", "instance": "db1:9100", "job": "node"})


def expand(text: str, value: float = 0.8734, query=None) -> str:
    return AlertTemplate(text, "__alert_Test").expand(
        LABELS, value, external_labels={"cluster": "prod"},
        external_url="http://vigil.example:9090/prefix", query=query)


CASES = [
    ("plain text", "no template", "no template"),
    ("$labels", "{{ $labels.instance }} of {{ $labels.job }}", "db1:9100 of node"),
    (".Labels and .Value", "{{ .Labels.job }}={{ .Value }}", "node=0.8734"),
    ("missing label is empty", "[{{ $labels.nope }}]", "[]"),
    ("metric name visible", "{{ $labels.__name__ }}", "node_load1"),
    ("external labels", "{{ $externalLabels.cluster }} {{ .ExternalLabels.cluster }}", "prod prod"),
    ("external url", "{{ $externalURL }}", "http://vigil.example:9090/prefix"),
    ("humanizePercentage", "{{ $value | humanizePercentage }}", "87.34%"),
    ("humanize big", "{{ humanize 1234567.0 }}", "1.235M"),
    ("humanize small", "{{ humanize 0.0012 }}", "1.2m"),
    ("humanize zero", "{{ humanize 0 }}", "0"),
    ("humanize string", '{{ humanize "2048" }}', "2.048k"),
    ("humanize1024", "{{ humanize1024 1048576.0 }}", "1Mi"),
    ("humanizeDuration long", "{{ humanizeDuration 93784 }}", "1d 2h 3m 4s"),
    ("humanizeDuration secs", "{{ humanizeDuration 1.5 }}", "1.5s"),
    ("humanizeDuration ms", "{{ humanizeDuration 0.02 }}", "20ms"),
    ("humanizeTimestamp", "{{ humanizeTimestamp 1700000000 }}", "2023-11-14 22:13:20 +0000 UTC"),
    # Prometheus's floatToTime keeps milliseconds; Go's Time.String trims the fraction.
    ("humanizeTimestamp ms", "{{ humanizeTimestamp 1.123456789 }}", "1970-01-01 00:00:01.123 +0000 UTC"),
    ("humanizeTimestamp negative", "{{ humanizeTimestamp -1.5 }}", "1969-12-31 23:59:58.5 +0000 UTC"),
    ("printf float", '{{ printf "%.2f" $value }}', "0.87"),
    ("printf piped", '{{ $value | printf "%.1f%%" }}', "0.9%"),
    ("printf several", '{{ printf "%s=%d" "n" 3 }}', "n=3"),
    ("printf wrong type", '{{ printf "%d" $value }}', "%!d(float64=0.8734)"),
    ("value prints like Go", "{{ 1000000.0 }} {{ 0.00001 }} {{ 100.0 }}", "1e+06 1e-05 100"),
    ("title upper lower", '{{ title "high cpu" }} {{ toUpper "a" }} {{ toLower "B" }}',
     "High Cpu A b"),
    ("reReplaceAll", '{{ reReplaceAll "(.*):(.*)" "$1 port $2" $labels.instance }}',
     "db1 port 9100"),
    ("stripPort", "{{ $labels.instance | stripPort }}", "db1"),
    ("if else", "{{ if gt $value 0.9 }}hi{{ else if gt $value 0.5 }}mid{{ else }}lo{{ end }}",
     "mid"),
    ("comparisons", '{{ eq $labels.job "x" "node" }} {{ ne 1 2 }} {{ lt 1 2 }} {{ ge 2.0 2.0 }}',
     "true true true true"),
    ("and or not", '{{ and 1 0 }} {{ or 0 "x" }} {{ not true }}', "0 x false"),
    ("range map sorted", "{{ range $k, $v := $labels }}{{ $k }}={{ $v }};{{ end }}",
     "__name__=node_load1;instance=db1:9100;job=node;"),
    ("range else", "{{ range $x := 0 }}x{{ else }}empty{{ end }}", "empty"),
    ("trim markers", "a   {{- \" b \" -}}   c", "a b c"),
    ("comment", "a{{/* hidden */}}b", "ab"),
    ("variables", "{{ $x := 1 }}{{ if true }}{{ $x = 2 }}{{ end }}{{ $x }}", "2"),
    ("with", "{{ with $labels.job }}job {{ . }}{{ end }}", "job node"),
    ("len index", '{{ len $labels }} {{ index $labels "job" }}', "3 node"),
    ("break continue",
     '{{ range $k, $v := $labels }}{{ if eq $k "instance" }}{{ continue }}{{ end }}{{ $k }};'
     '{{ if eq $k "job" }}{{ break }}{{ end }}{{ end }}', "__name__;job;"),
    ("else with", "{{ with $labels.nope }}n{{ else with $labels.job }}j={{ . }}{{ end }}", "j=node"),
    ("nested pipelines",
     '{{ if and (eq $labels.job "node") (gt (len $labels.instance) 3) }}yes{{ end }}', "yes"),
    ("piped value is the last argument", '{{ $labels.job | printf "%s-%s" "x" }}', "x-node"),
]


@pytest.mark.parametrize("text,want", [(t, w) for _, t, w in CASES], ids=[c for c, _, _ in CASES])
def test_expand(text: str, want: str) -> None:
    assert expand(text) == want


def test_query_first_value_label() -> None:
    calls: list[str] = []

    def query(q: str) -> list[tuple[Labels, float]]:
        calls.append(q)
        return [(Labels.of(instance="a"), 3.0), (Labels.of(instance="b"), 4.0)]

    text = ('{{ query "up" | first | value }} {{ with query "up" }}{{ . | first | label "instance" }}'
            '{{ end }} {{ range query "up" }}{{ .Labels.instance }}:{{ .Value }},{{ end }}')
    assert expand(text, query=query) == "3 a a:3,b:4,"
    assert calls == ["up", "up", "up"]


def test_query_without_results_is_an_error_in_the_text() -> None:
    tmpl = AlertTemplate('{{ query "up" | first | value }}', "__alert_X")
    out = expand_alert_text(tmpl, LABELS, 1.0, query=lambda q: [])
    assert out.startswith("<error expanding template: error executing template __alert_X: "
                          "template: __alert_X:1:")
    assert out.endswith("first() called on vector with no elements>")


@pytest.mark.parametrize("text,message", [
    ("{{ gt $value 1 }}", "error calling gt: incompatible types for comparison"),
    ('{{ humanize "abc" }}', 'strconv.ParseFloat: parsing "abc": invalid syntax'),
    ("{{ .Value.x }}", "can't evaluate field x in type float64"),
    ("{{ .Nope }}", "can't evaluate field Nope in type struct"),
])
def test_execution_errors(text: str, message: str) -> None:
    with pytest.raises(TemplateError) as info:
        expand(text)
    assert message in str(info.value)
    assert str(info.value).startswith('template: __alert_Test:1:')


@pytest.mark.parametrize("text,message", [
    ("{{ nosuch }}", 'function "nosuch" not defined'),
    ("{{ $nope }}", 'undefined variable "$nope"'),
    ("{{ if true }}x", "unexpected EOF"),
    ("{{ end }}", "unexpected {{end}}"),
    ("{{ $labels.x ", "unclosed action"),
    ("{{ if true }}{{ define \"x\" }}{{ end }}{{ end }}", "unexpected {{define}}"),
    ("{{ template x }}", "in template clause"),
])
def test_parse_errors(text: str, message: str) -> None:
    with pytest.raises(TemplateError) as info:
        AlertTemplate(text, "__alert_T")
    assert str(info.value).startswith("template: __alert_T:1: ")
    assert message in str(info.value)


def test_parse_error_line_numbers_count_lines() -> None:
    with pytest.raises(TemplateError) as info:
        AlertTemplate("line one\n{{ nosuch }}", "__alert_T")
    assert str(info.value).startswith("template: __alert_T:2: ")
