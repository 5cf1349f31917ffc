"""The ``reports:`` section: defaults, schedules, and errors located in the file."""

from __future__ import annotations

import pytest

from vigil.config.loader import load_config_text
from vigil.errors import ConfigError


def test_defaults_and_a_schedule() -> None:
    cfg = load_config_text("""
reports:
  timezone: Europe/Helsinki
  keep: 30d
  schedules:
    - report: daily
      cron: "30 8 * * *"
      email: [ops@example.org]
    - report: weekly-capacity
      cron: "0 9 * * MON"
      timezone: UTC
      formats: [pdf, html]
""").reports
    assert cfg.timezone == "Europe/Helsinki" and cfg.keep == 30 * 86400 and cfg.smtp is None
    daily, weekly = cfg.schedules
    assert daily.formats == ["pdf"] and daily.catch_up and daily.email == ["ops@example.org"]
    assert daily.key(cfg.timezone) == "daily|30 8 * * *|Europe/Helsinki"
    assert weekly.key(cfg.timezone) == "weekly-capacity|0 9 * * MON|UTC"
    assert load_config_text("{}").reports.schedules == []


@pytest.mark.parametrize(("text", "where", "message"), [
    ('reports:\n  schedules:\n    - report: daily\n      cron: "30 8 * *"\n', "vigil.yml:4:7: reports.schedules[0].cron",
     "cron must be five fields"),
    ('reports:\n  schedules:\n    - report: daily\n      cron: "0 9 * * *"\n      email: [ops@example.org, nobody]\n',
     "vigil.yml:5:", "'nobody' is not an e-mail address"),
    ('reports:\n  timezone: Mars/Olympus\n', "vigil.yml:2:3: reports.timezone", "unknown time zone 'Mars/Olympus'"),
    ('reports:\n  schedules:\n    - report: daily\n      cron: "0 9 * * *"\n      formats: [docx]\n',
     "vigil.yml:5:", "format must be one of pdf, html, json, not 'docx'"),
    ('reports:\n  smtp: {from: a@b.c, smarthost: mail}\n', "reports.smtp.smarthost", "smarthost must be host:port"),
    ('reports:\n  schedules:\n    - {report: daily, cron: "0 9 * * *"}\n    - {report: daily, cron: "0 9 * * *"}\n',
     "vigil.yml:4:7: reports.schedules[1]", "the same report, cron and time zone as schedules[0]"),
])
def test_errors_say_where(text: str, where: str, message: str) -> None:
    with pytest.raises(ConfigError) as err:
        load_config_text(text, "vigil.yml")
    assert where in str(err.value) and message in str(err.value), str(err.value)
