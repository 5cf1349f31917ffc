"""Configuration: defaults, durations, and errors that name file, line and problem."""

import pytest
from pydantic import TypeAdapter

from vigil.config import Duration, load_config, load_config_text
from vigil.config.model import DEFAULT_LISTEN
from vigil.errors import ConfigError


def test_default_config_listens_on_localhost_and_collects_host():
    config = load_config(None)
    assert config.web.listen_address == DEFAULT_LISTEN
    assert DEFAULT_LISTEN.startswith("127.0.0.1:")
    assert config.collectors.host.enabled
    assert config.default_rules
    assert config.global_.scrape_interval == 15.0


# The spelling is tested in tests/gocompat; here: a config field reads it as seconds and
# writes it back as Prometheus writes it (90d stays 90d).
@pytest.mark.parametrize("text,seconds", [("0s", 0.0), ("250ms", 0.25), ("5m", 300.0),
                                          ("1h30m", 5400.0), ("1d", 86_400.0),
                                          ("2w", 1_209_600.0), ("90d", 7_776_000.0)])
def test_duration_fields_round_trip(text, seconds):
    field = TypeAdapter(Duration)
    assert field.validate_python(text) == seconds
    assert field.dump_python(seconds) == text


@pytest.mark.parametrize("bad", ["", "5", "5x", "m5", "1m1h", "1.5m", "-1s", -1])
def test_bad_durations_are_rejected(bad):
    with pytest.raises(ValueError):
        TypeAdapter(Duration).validate_python(bad)


def test_scrape_timeout_is_capped_by_interval():
    config = load_config_text("global: {scrape_interval: 5s, scrape_timeout: 10s}\n"
                              "scrape_configs: [{job_name: a, static_configs: [{targets: ['h:1']}]}]\n")
    assert config.scrape_timeout(config.scrape_configs[0]) == 5.0


BAD = [
    ("unknown key", "global:\n  scrape_intervall: 5s\n", 2, "global.scrape_intervall: unknown field"),
    ("wrong type", "scrape_configs:\n  - job_name: a\n    honor_labels: maybe\n", 3,
     "scrape_configs[0].honor_labels"),
    ("bad duration", "global:\n  evaluation_interval: 10 minutes\n", 2,
     'unknown unit " minutes" in duration "10 minutes"'),
    ("unknown receiver", "alerting:\n  route:\n    receiver: pager\n", 3, "undefined receiver 'pager'"),
    ("bad matcher", "alerting:\n  route:\n    receiver: default\n    routes:\n      - matchers: ['sev=~(']\n", 5,
     "invalid regular expression"),
    ("yaml syntax", "global:\n  scrape_interval: [5s\n", 3, "invalid YAML"),
    ("duplicate key", "data_dir: a\ndata_dir: b\n", 2, "duplicate key 'data_dir'"),
    ("target with scheme", "scrape_configs:\n  - job_name: a\n    static_configs:\n      - targets: ['http://x:1']\n",
     4, "must be host:port"),
]


@pytest.mark.parametrize("name,text,line,fragment", BAD, ids=[b[0] for b in BAD])
def test_bad_config_names_file_line_and_problem(name, text, line, fragment):
    with pytest.raises(ConfigError) as info:
        load_config_text(text, "vigil.yml")
    message = str(info.value)
    assert message.startswith(f"vigil.yml:{line}:"), message
    assert fragment in message


def test_config_dump_hides_secrets():
    from vigil.config.dump import redacted_yaml

    config = load_config_text("""
alerting:
  receivers:
    - name: ops
      slack_configs: [{api_url: "https://hooks.slack.example/T000/B000/XXXX"}]
      pagerduty_configs: [{routing_key: "R0UT1NGKEY"}]
  route: {receiver: ops}
""")
    text = redacted_yaml(config)
    assert "XXXX" not in text and "R0UT1NGKEY" not in text
    assert text.count("<secret>") == 2
    assert "XXXX" not in repr(config)


def test_retention_size_reads_units_and_points_at_a_bad_one():
    config = load_config_text("storage: {tsdb: {retention_size: 512MB}}\n", "vigil.yml")
    assert config.storage.tsdb.retention_size == 512 << 20
    assert load_config(None).storage.tsdb.retention_size == 0
    with pytest.raises(ConfigError) as info:
        load_config_text("storage:\n  tsdb:\n    retention_size: 10 gigs\n", "vigil.yml")
    assert str(info.value).startswith("vigil.yml:3:")
    assert 'invalid size "10 gigs"' in str(info.value)
