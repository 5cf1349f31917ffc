"""Named templates: ``define``/``template``/``block`` in the Go-template engine and in
notification texts with Alertmanager-style template files."""

from __future__ import annotations

import json
import os
from datetime import datetime, timezone

import pytest

from vigil.alerting.notify.integration import build_integrations
from vigil.alerting.notify.templates import (
    Notification,
    NotifyTemplate,
    load_template_files,
    notification,
)
from vigil.config.amconfig import load_alertmanager_config
from vigil.errors import ConfigError
from vigil.gocompat.template import Template, TemplateError
from vigil.model.alert import Alert
from vigil.model.labels import Labels


def test_define_and_template_with_pipeline_argument() -> None:
    t = Template("t", '{{ define "item" }}<{{ . }}>{{ end }}'
                      '{{ range .xs }}{{ template "item" . }}{{ end }}', {})
    assert t.execute({"xs": ["a", "b"]}) == "<a><b>"


def test_template_without_argument_gets_nil_dot() -> None:
    t = Template("t", '{{ define "n" }}{{ if . }}set{{ else }}nil{{ end }}{{ end }}{{ template "n" }}', {})
    assert t.execute({"x": 1}) == "nil"


def test_named_template_has_its_own_root_variable() -> None:
    t = Template("t", '{{ define "d" }}{{ $.k }}{{ end }}{{ $v := 1 }}{{ template "d" .inner }}', {})
    assert t.execute({"k": "outer", "inner": {"k": "inner"}}) == "inner"


def test_block_defines_and_executes_and_can_be_overridden() -> None:
    t = Template("t", '[{{ block "b" .x }}default {{ . }}{{ end }}]', {})
    assert t.execute({"x": "1"}) == "[default 1]"
    t.add("override.tmpl", '{{ define "b" }}custom {{ . }}{{ end }}')
    assert t.execute({"x": "1"}) == "[custom 1]"
    assert t.defined() == ["b"]


def test_missing_template_is_an_execution_error() -> None:
    t = Template("t", 'x{{ template "nope" . }}', {})
    with pytest.raises(TemplateError, match='template "nope" not defined'):
        t.execute({})


def test_parse_error_in_added_file_names_that_file_and_line() -> None:
    t = Template("t", "x", {})
    with pytest.raises(TemplateError) as info:
        t.add("/etc/am/my.tmpl", '{{ define "a" }}\nok\n{{ nosuch }}{{ end }}')
    assert str(info.value).startswith("template: /etc/am/my.tmpl:3: ")


def test_execution_error_inside_define_names_the_defining_file() -> None:
    t = Template("t", '{{ template "a" . }}', {})
    t.add("lib.tmpl", '{{ define "a" }}\n{{ .x.y }}{{ end }}')
    with pytest.raises(TemplateError) as info:
        t.execute({"x": 3})
    assert str(info.value).startswith('template: lib.tmpl:2:')
    assert 'executing "a"' in str(info.value)


def test_notification_text_uses_template_file() -> None:
    lib = ('{{ define "my.title" }}[{{ .Status | toUpper }}{{ if eq .Status "firing" }}:'
           '{{ .Alerts.Firing | len }}{{ end }}] {{ .CommonLabels.alertname }}{{ end }}\n'
           '{{ define "my.text" }}{{ range .Alerts }}* {{ .Annotations.summary }}\n{{ end }}{{ end }}')
    now = datetime(2026, 11, 22, 8, 0, tzinfo=timezone.utc)
    alerts = [Alert(labels=Labels({"alertname": "Down", "instance": f"h{i}"}),
                    annotations=Labels({"summary": f"h{i} is down"}),
                    starts_at=now, ends_at=None) for i in range(2)]
    n = notification(receiver="team", group_key="{}:{}", group_labels=Labels({"alertname": "Down"}),
                     alerts=alerts, external_url="http://vigil", now=now)
    title = NotifyTemplate('{{ template "my.title" . }}', "slack/0.title", library=[("my.tmpl", lib)])
    text = NotifyTemplate('{{ template "my.text" . }}', "slack/0.text", library=[("my.tmpl", lib)])
    assert title.render(n) == "[FIRING:2] Down"
    assert text.render(n) == "* h0 is down\n* h1 is down\n"


DEFAULT_TMPL = "/usr/share/prometheus/alertmanager/default.tmpl"


def _group() -> Notification:
    now = datetime(2026, 11, 22, 8, 0, tzinfo=timezone.utc)
    alerts = [Alert(labels=Labels({"alertname": "Down", "instance": f"h{i}", "severity": "page"}),
                    annotations=Labels({"summary": f"h{i} is down"}), starts_at=now, ends_at=None)
              for i in range(2)]
    return notification(receiver="team x", group_key="{}:{}", group_labels=Labels({"alertname": "Down"}),
                        alerts=alerts, external_url="http://am", now=now)


def test_alertmanagers_own_default_template_renders_as_alertmanager_does() -> None:
    if not os.path.exists(DEFAULT_TMPL):
        pytest.fail(f"{DEFAULT_TMPL} is missing: apt-get install prometheus-alertmanager "
                    "(Debian's Alertmanager 0.25 ships it; scripts/test installs it)", pytrace=False)
    lib = load_template_files([DEFAULT_TMPL])
    n = _group()

    def render(text: str) -> str:
        return NotifyTemplate(text, "slack/0.title", library=lib).render(n)

    # Alertmanager 0.25's rendering of these definitions for this group (hand-checked against
    # template.go: SortedPairs by name, Remove the group labels from the common ones).
    assert render('{{ template "slack.default.title" . }}') == "[FIRING:2] Down (page)"
    assert render('{{ template "slack.default.titlelink" . }}') == "http://am/#/alerts?receiver=team+x"
    assert render('{{ template "pagerduty.default.instances" .Alerts.Firing }}') == (
        "Labels:\n - alertname = Down\n - instance = h0\n - severity = page\nAnnotations:\n"
        " - summary = h0 is down\nSource: \n"
        "Labels:\n - alertname = Down\n - instance = h1\n - severity = page\nAnnotations:\n"
        " - summary = h1 is down\nSource: \n")


def test_missing_named_template_reports_the_error_and_still_renders() -> None:
    out = NotifyTemplate('{{ template "nope" . }}', "slack/0.text").render(_group())
    assert 'template "nope" not defined' in out


def test_template_file_parse_error_fails_loading_with_file_and_line(tmp_path) -> None:
    bad = tmp_path / "bad.tmpl"
    bad.write_text('{{ define "a" }}ok{{ end }}\n{{ define "b" }}{{ .x | nosuch }}{{ end }}\n')
    with pytest.raises(ConfigError) as info:
        load_template_files([str(bad)])
    assert str(info.value).startswith(f"template: {bad}:2: ")
    assert 'function "nosuch" not defined' in str(info.value)


def test_alertmanager_file_templates_glob_feeds_slack_and_email(tmp_path) -> None:
    (tmp_path / "tmpl").mkdir()
    (tmp_path / "tmpl" / "team.tmpl").write_text(
        '{{ define "team.title" }}{{ .CommonLabels.alertname }} x{{ .Alerts | len }}{{ end }}\n'
        '{{ define "team.subject" }}[{{ .Status }}] {{ template "team.title" . }}{{ end }}\n')
    am = tmp_path / "am.yml"
    am.write_text(
        "route: {receiver: team}\n"
        "templates: ['tmpl/*.tmpl']\n"
        "receivers:\n"
        "  - name: team\n"
        "    slack_configs: [{api_url: 'http://127.0.0.1:1/hook', title: '{{ template \"team.title\" . }}'}]\n"
        "    email_configs: [{to: a@example.org, from: am@example.org, smarthost: '127.0.0.1:25',\n"
        "                     headers: {Subject: '{{ template \"team.subject\" . }}'}}]\n")
    cfg = load_alertmanager_config(str(am))
    assert cfg.templates == [str(tmp_path / "tmpl" / "team.tmpl")]
    integrations = build_integrations(cfg.receivers[0], library=load_template_files(cfg.templates))
    n = _group()
    slack = integrations[0].render(n)
    assert "Down x2" in json.dumps(slack)
    email = integrations[1].render(n)
    assert "[firing] Down x2" in json.dumps(email, default=str)


def test_missing_named_template_falls_back_to_the_default_text() -> None:
    from vigil.alerting.notify.templates import default_title, render_or

    n = _group()
    tmpl = NotifyTemplate('{{ template "gone.title" . }}', "slack/0.title")
    assert render_or(tmpl, n, default_title) == default_title(n)
    assert default_title(n)  # the default is a real text, not empty


def test_vigil_check_fails_on_a_broken_template_file(tmp_path) -> None:
    from vigil.app import check

    (tmp_path / "bad.tmpl").write_text('{{ define "a" }}{{ if }}{{ end }}')
    (tmp_path / "am.yml").write_text("route: {receiver: r}\ntemplates: ['*.tmpl']\nreceivers: [{name: r}]\n")
    (tmp_path / "vigil.yml").write_text("default_rules: false\nalerting: {alertmanager_config: am.yml}\n")
    with pytest.raises(ConfigError, match=r"bad\.tmpl:1: "):
        check(str(tmp_path / "vigil.yml"))
