"""Alertmanager configuration files accepted as they are (A1), with file:line errors and a
clear "not supported yet" for Alertmanager features Vigil lacks."""

from __future__ import annotations

import textwrap

import pytest

from vigil.alerting.dispatch import build_routes
from vigil.config import load_config
from vigil.config.amconfig import load_alertmanager_text
from vigil.errors import ConfigError
from vigil.model import Labels

AM = textwrap.dedent("""\
    global:
      resolve_timeout: 2m
      smtp_from: alertmanager@example.org
      smtp_smarthost: smtp.example.org:587
      smtp_auth_username: am
      smtp_auth_password_file: /run/secrets/smtp
      slack_api_url: https://hooks.slack.com/services/T/B/X
      pagerduty_url: https://pd.example.org/v2/enqueue
    templates: []
    route:
      receiver: team-mail
      group_by: [alertname, cluster]
      group_wait: 10s
      routes:
        - matchers: ['severity="critical"']
          receiver: pager
          mute_time_intervals: [maintenance]
        - match_re: {service: "^(foo1|foo2)$"}
          receiver: slack
          active_time_intervals: [office-hours]
    inhibit_rules:
      - source_matchers: ['severity="critical"']
        target_matchers: ['severity="warning"']
        equal: [alertname]
    receivers:
      - name: team-mail
        email_configs: [{to: team@example.org}]
      - name: pager
        pagerduty_configs: [{routing_key: abc}]
      - name: slack
        slack_configs: [{channel: "#ops"}]
    time_intervals:
      - name: office-hours
        time_intervals:
          - weekdays: ['monday:friday']
            times: [{start_time: "09:00", end_time: "17:00"}]
            location: Europe/Berlin
    mute_time_intervals:
      - name: maintenance
        time_intervals:
          - weekdays: [sunday]
            times: [{start_time: "02:00", end_time: "04:00"}]
""")


def test_alertmanager_file_with_globals_as_receiver_defaults():
    cfg = load_alertmanager_text(AM, "am.yml")
    assert cfg.resolve_timeout == 120.0
    [email] = cfg.receivers[0].email_configs
    assert (email.from_, email.smarthost, email.auth_username, email.auth_password_file) == (
        "alertmanager@example.org", "smtp.example.org:587", "am", "/run/secrets/smtp")
    assert cfg.receivers[1].pagerduty_configs[0].url == "https://pd.example.org/v2/enqueue"
    assert cfg.receivers[2].slack_configs[0].api_url == "https://hooks.slack.com/services/T/B/X"
    root = build_routes(cfg.route)
    [crit] = root.match(Labels({"severity": "critical"}))
    assert crit.options.receiver == "pager" and crit.options.mute_time_intervals == ("maintenance",)
    assert crit.options.group_by == frozenset({"alertname", "cluster"})
    assert [r.options.receiver for r in root.match(Labels({"service": "foo2"}))] == ["slack"]
    assert [t.name for t in cfg.mute_time_intervals] == ["maintenance"]
    assert cfg.inhibit_rules[0].equal == ["alertname"]


@pytest.mark.parametrize("change,where,message", [
    (("  - name: slack\n", "  - name: slack\n    opsgenie_configs: [{api_key: x}]\n"),
     "am.yml:31:5: receivers[2].opsgenie_configs", "opsgenie_configs is not supported yet"),
    (("templates: []\n", "templates: 'x.tmpl'\n"),
     "am.yml:9:1: templates", "must be a list of file globs"),
    (("  smtp_auth_username: am\n", "  smtp_auth_password: hunter2\n"),
     "am.yml:5:3: global.smtp_auth_password", "not supported yet; use smtp_auth_password_file"),
    (("    pagerduty_configs: [{routing_key: abc}]\n",
      "    pagerduty_configs: [{routing_key: abc, http_config: {}}]\n"),
     "am.yml:29:", "http_config is not supported yet"),
    (("['severity=\"warning\"']", "['severity=~\"(\"']"), "am.yml:23:", "target_matchers"),
    (("  group_wait: 10s\n", "  group_wait: soon\n"), "am.yml:13:", "group_wait"),
    (("  - name: office-hours\n", "  - name: maintenance\n"), "am.yml:", "must be unique"),
    (("  resolve_timeout: 2m\n", "  resolve_timeout: -2m\n"), "am.yml:2:3: resolve_timeout", ""),
    (("route:\n", "routes:\n"), "am.yml:10:1: routes", "unknown field"),
])
def test_errors_name_file_and_line(change, where, message):
    text = AM.replace(*change)
    assert text != AM
    with pytest.raises(ConfigError) as info:
        load_alertmanager_text(text, "am.yml")
    assert str(info.value).startswith(where), str(info.value)
    assert message in str(info.value)


def test_vigil_config_points_at_an_alertmanager_file(tmp_path):
    (tmp_path / "am.yml").write_text(AM)
    (tmp_path / "vigil.yml").write_text("alerting:\n  alertmanager_config: am.yml\n  resend_delay: 5s\n")
    cfg = load_config(str(tmp_path / "vigil.yml"))
    assert cfg.alerting.alertmanager_config == str(tmp_path / "am.yml")
    assert cfg.alerting.resend_delay == 5.0 and len(cfg.alerting.receivers) == 3
    (tmp_path / "am.yml").write_text(AM.replace("receiver: slack\n", "receiver: nobody\n"))
    with pytest.raises(ConfigError) as info:
        load_config(str(tmp_path / "vigil.yml"))
    assert str(info.value).startswith(f"{tmp_path / 'am.yml'}:19:")
    assert "undefined receiver 'nobody'" in str(info.value)


@pytest.mark.parametrize("alerting, where, message", [
    ("  resend_delay: soon\n", ":3:", "alerting.resend_delay"),
    ("  route: {receiver: x}\n", ":3:", "move route into the Alertmanager file"),
])
def test_main_config_errors_beside_alertmanager_config_point_at_the_main_file(
        tmp_path, alerting, where, message):
    (tmp_path / "am.yml").write_text(AM)
    main = tmp_path / "vigil.yml"
    main.write_text("alerting:\n  alertmanager_config: am.yml\n" + alerting)
    with pytest.raises(ConfigError) as info:
        load_config(str(main))
    assert str(info.value).startswith(f"{main}{where}"), str(info.value)
    assert message in str(info.value)


def test_the_model_does_not_read_files():
    from pydantic import ValidationError

    from vigil.config.model import Config

    with pytest.raises(ValidationError, match="read by the config loader"):
        Config.model_validate({"alerting": {"alertmanager_config": "am.yml"}})
