"""Bad configuration stops `vigil up` and `vigil check config` before anything starts."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import httpx
import pytest

from tests.support.ports import free_port

pytestmark = pytest.mark.e2e

CASES = {
    "unknown key": ("vigil.yml", "global:\n  scrape_intervall: 5s\n", "vigil.yml:2:3: global.scrape_intervall: unknown field"),
    "wrong type": ("vigil.yml", "scrape_configs:\n  - job_name: a\n    sample_limit: lots\n", "vigil.yml:3:5: scrape_configs[0].sample_limit"),
    "bad duration": ("vigil.yml", "global:\n  scrape_interval: 1 minute\n", 'vigil.yml:2:3: global.scrape_interval: unknown unit " minute" in duration "1 minute"'),
    "invalid PromQL in a rule": ("rules.yml", textwrap.dedent("""\
        groups:
          - name: g
            rules:
              - alert: Broken
                expr: sum(rate(x[5m])
        """), "rules.yml:5:"),
}


def run(*args: str, timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "vigil", *args], capture_output=True, text=True,
                          timeout=timeout)


@pytest.mark.parametrize("case", list(CASES))
def test_bad_config_is_refused_with_location(tmp_path, case):
    name, text, expected = CASES[case]
    config = tmp_path / "vigil.yml"
    if name == "rules.yml":
        (tmp_path / "rules.yml").write_text(text)
        config.write_text("rule_files: [rules.yml]\n")
    else:
        config.write_text(text)

    checked = run("check", "config", str(config))
    assert checked.returncode != 0
    assert expected in checked.stderr.replace(str(tmp_path) + "/", ""), checked.stderr

    port = free_port()
    data = tmp_path / "data"
    started = run("up", "--config", str(config), "--data-dir", str(data), "--listen", f"127.0.0.1:{port}")
    assert started.returncode != 0
    assert expected in started.stderr.replace(str(tmp_path) + "/", ""), started.stderr
    assert not data.exists(), "nothing may start half-configured"
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"http://127.0.0.1:{port}/-/ready", timeout=2)


def test_check_config_accepts_a_good_file(tmp_path):
    config = tmp_path / "vigil.yml"
    config.write_text("scrape_configs:\n  - job_name: a\n    static_configs: [{targets: ['localhost:9100']}]\n")
    result = run("check", "config", str(config))
    assert result.returncode == 0, result.stderr
    assert "OK" in result.stdout


def test_version():
    result = run("version")
    assert result.returncode == 0 and result.stdout.startswith("vigil ")
