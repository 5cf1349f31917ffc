"""The ``logs:`` config section: defaults, every field read, located errors."""

import time

import pytest

from vigil.config.loader import load_config_text
from vigil.config.logs import split_address
from vigil.errors import ConfigError


def test_defaults_enable_the_embedded_store_without_listeners():
    logs = load_config_text("{}").logs
    assert logs.enabled and logs.path is None
    assert logs.retention_time == 30 * 86400 and logs.retention_size == 0
    assert logs.syslog.tcp == [] and logs.syslog.udp == [] and logs.files == []
    assert logs.labels.elasticsearch == {"job": "elasticsearch"}
    assert logs.compression_level == 9


def test_every_field_is_read():
    logs = load_config_text("""
logs:
  enabled: false
  path: /srv/logs
  retention_time: 7d
  retention_size: 1GB
  wal_fsync: always
  wal_fsync_interval: 2s
  compression_level: 3
  syslog: {tcp: ["127.0.0.1:1514"], udp: [":1514"], labels: {job: sys}}
  files:
    - {path: /var/log/a.log, labels: {job: a}}
  labels: {loki: {cluster: eu}, otlp: {source: otel}}
""").logs
    assert not logs.enabled and logs.path == "/srv/logs"
    assert logs.retention_time == 7 * 86400 and logs.retention_size == 1 << 30
    assert logs.wal_fsync == "always" and logs.wal_fsync_interval == 2
    assert logs.compression_level == 3
    assert logs.syslog.tcp == ["127.0.0.1:1514"] and logs.syslog.labels == {"job": "sys"}
    assert split_address(logs.syslog.udp[0]) == ("0.0.0.0", 1514)
    assert split_address("[::1]:99") == ("::1", 99)
    assert logs.files[0].path == "/var/log/a.log" and logs.files[0].labels == {"job": "a"}
    assert logs.labels.loki == {"cluster": "eu"} and logs.labels.otlp == {"source": "otel"}


@pytest.mark.parametrize(("text", "where", "message"), [
    ("logs:\n  syslog:\n    tcp: [':1514', 'nowhere']\n", "logs.syslog.tcp[1]",
     "must be host:port"),
    ("logs:\n  files:\n    - path: /a\n    - path: /a\n", "logs.files[1].path", "tailed twice"),
    ("logs:\n  files:\n    - {path: /a, labels: {filename: x}}\n", "logs.files[0].labels.filename",
     "set by the tailer"),
    ("logs:\n  labels:\n    jsonl: {'bad-name': x}\n", "logs.labels.jsonl.bad-name",
     "not a valid label name"),
    ("logs:\n  wal_fsync: sometimes\n", "logs.wal_fsync", "always, batch or off"),
    ("logs:\n  retention_size: lots\n", "logs.retention_size", "invalid size"),
    ("logs:\n  compression_level: 22\n", "logs.compression_level", "less than or equal to 19"),
    ("logs:\n  colour: red\n", "logs.colour", "unknown field"),
])
def test_errors_are_located(text, where, message):
    with pytest.raises(ConfigError) as e:
        load_config_text(text, "vigil.yml")
    assert where in str(e.value) and message in str(e.value)
    assert str(e.value).startswith("vigil.yml:")


def test_sealed_chunks_use_the_configured_compression_level(tmp_path):
    from vigil.logs.model import LogEntry
    from vigil.logs.runtime import LogsRuntime
    from vigil.model.labels import Labels

    config = load_config_text("logs:\n  compression_level: 4\n").logs
    runtime = LogsRuntime(config, store_path=str(tmp_path / "logs"), state_dir=str(tmp_path / "s"))
    runtime.store.append([LogEntry(time.time_ns(), Labels.of(job="a"), "a line")])
    runtime.store.close()
    (chunk,) = (tmp_path / "logs" / "chunks").rglob("*.chunk")
    assert b'"zstd_level":4' in chunk.read_bytes()  # in the chunk's JSON meta
