"""storage.remote in the configuration: defaults, URL checks, credentials, and errors that
name the file, line and field."""

from __future__ import annotations

import pytest

from vigil.config import load_config_text
from vigil.errors import ConfigError


def _error(text: str) -> str:
    with pytest.raises(ConfigError) as info:
        load_config_text(text, "vigil.yml")
    return str(info.value)


def test_absent_means_the_local_tsdb_and_defaults_are_a_small_buffer():
    assert load_config_text("{}\n").storage.remote is None
    remote = load_config_text(
        "storage:\n  remote:\n    write_url: http://vm:8428/api/v1/write\n"
        "    query_url: http://mimir:8080/prometheus/\n"
        "    authorization: {credentials_file: token}\n").storage.remote
    assert remote is not None
    assert remote.query_url == "http://mimir:8080/prometheus"  # the API base, no slash
    assert remote.local_retention == 7200.0
    assert remote.queue_config.batch_send_deadline == 1.0
    assert remote.authorization is not None and remote.authorization.type == "Bearer"


def test_errors_name_the_field_and_line():
    text = ("storage:\n  remote:\n    write_url: http://vm:8428/api/v1/write\n"
            "    query_url: http://vm:8428/api/v1/query\n")
    message = _error(text)
    assert message.startswith("vigil.yml:4:")
    assert "storage.remote.query_url" in message and "base of the Prometheus HTTP API" in message
    message = _error("storage:\n  remote:\n    write_url: vm:8428\n    query_url: http://vm:8428\n")
    assert message.startswith("vigil.yml:3:") and "storage.remote.write_url" in message
    assert "http:// or https://" in message
    message = _error("storage:\n  remote:\n    query_url: http://vm:8428\n")
    assert "storage.remote.write_url" in message and "required" in message
    message = _error("storage:\n  remote:\n    write_url: http://vm/w\n    query_url: http://vm\n"
                     "    basic_auth: {username: u, password: p}\n"
                     "    authorization: {credentials: t}\n")
    assert "at most one of basic_auth & authorization" in message
    message = _error("storage:\n  remote:\n    write_url: http://vm/w\n    query_url: http://vm\n"
                     "    local_retention: 0s\n")
    assert "storage.remote.local_retention" in message and "greater than zero" in message


def test_the_dumped_config_shows_no_password():
    from vigil.config.dump import redacted_yaml

    config = load_config_text("storage:\n  remote:\n    write_url: http://vm/w\n    query_url: http://vm\n"
                              "    basic_auth: {username: u, password: sekrit}\n")
    dumped = redacted_yaml(config)
    assert "sekrit" not in dumped and "password: <secret>" in dumped
