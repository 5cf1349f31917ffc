"""The operations files (issue 15): the systemd unit for a replica and the example replica
configurations under packaging/ are what Vigil and systemd accept."""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import typer

from vigil.cli import cli
from vigil.config.loader import load_config

ROOT = Path(__file__).resolve().parent.parent
UNIT = ROOT / "packaging" / "systemd" / "vigil.service"
EXAMPLES = sorted((ROOT / "packaging" / "examples").glob("*.yml"))
# What the unit's EnvironmentFile provides for the examples' password_env.
UNIT_ENV = {"VIGIL_ADMIN_PASSWORD": "example-only"}


def unit_settings(path: Path) -> dict[str, list[str]]:
    """``Section.Key`` -> its values in order (systemd allows repeating most keys)."""
    settings: dict[str, list[str]] = {}
    section = ""
    for line in path.read_text().splitlines():
        line = line.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("["):
            section = line.strip("[]")
            continue
        key, _, value = line.partition("=")
        settings.setdefault(f"{section}.{key.strip()}", []).append(value.strip())
    return settings


def test_examples_exist_and_are_postgresql_replicas() -> None:
    assert [p.name for p in EXAMPLES] == ["replica-victoriametrics.yml", "replica.yml"]
    for path in EXAMPLES:
        config = load_config(str(path))
        assert config.storage.state.url and config.storage.state.url.startswith(
            "postgresql+psycopg://"), path
        assert config.cluster.name == "vigil-a", path
    assert load_config(str(EXAMPLES[0])).storage.remote is not None


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda p: p.name)
def test_vigil_check_accepts_the_example(example: Path) -> None:
    done = subprocess.run([sys.executable, "-m", "vigil", "check", "config", str(example)],
                          capture_output=True, text=True, env={**os.environ, **UNIT_ENV},
                          timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"{example}: OK" in done.stdout


def _vigil_args(command: str) -> list[str]:
    args = shlex.split(command)
    assert Path(args[0]).name == "vigil", command
    return args[1:]


def _parse_with_vigil_cli(args: list[str]) -> dict[str, Any]:
    """The parameters ``vigil`` would run the command with; raises on an unknown option."""
    command = typer.main.get_command(cli)  # typer's own (vendored) click objects
    name = "vigil"
    while hasattr(command, "get_command"):  # vigil, then groups such as `check`
        context = command.make_context(name, [], resilient_parsing=True)
        name, args = args[0], args[1:]
        found = command.get_command(context, name)
        assert found is not None, f"vigil has no command {name!r}"
        command = found
    return {"command": name, **command.make_context(name, list(args)).params}


def test_unit_runs_vigil_up_with_the_config_and_data_dir() -> None:
    unit = unit_settings(UNIT)
    [start] = unit["Service.ExecStart"]
    params = _parse_with_vigil_cli(_vigil_args(start))
    assert params["command"] == "up"
    assert params["config"] == "/etc/vigil/vigil.yml"
    assert params["data_dir"] == "/var/lib/vigil"
    [pre] = unit["Service.ExecStartPre"]
    assert _parse_with_vigil_cli(_vigil_args(pre)) == {"command": "config",
                                                       "file": "/etc/vigil/vigil.yml"}
    # The data dir is the one place written under ProtectSystem=strict.
    assert unit["Service.ProtectSystem"] == ["strict"]
    assert "/var/lib/vigil" in unit["Service.ReadWritePaths"]
    assert unit["Service.StateDirectory"] == ["vigil"]
    assert unit["Service.Restart"] == ["on-failure"]
    assert unit["Service.ExecReload"] == ["/bin/kill -HUP $MAINPID"]  # SIGHUP reloads


def _seconds(value: str) -> float:
    units = {"ms": 0.001, "s": 1, "min": 60, "m": 60}
    total = 0.0
    for number, unit in re.findall(r"(\d+(?:\.\d+)?)\s*(ms|min|s|m)?", value):
        total += float(number) * units[unit or "s"]
    return total


def test_stop_timeout_covers_the_outbox_drain() -> None:
    """systemd must not SIGKILL a replica still finishing its deliveries at shutdown."""
    drain = re.search(r"shield\(outbox\), timeout=(\d+(?:\.\d+)?)",
                      (ROOT / "vigil" / "app.py").read_text())
    assert drain, "the outbox drain timeout moved in vigil/app.py: update this test and the unit"
    [stop] = unit_settings(UNIT)["Service.TimeoutStopSec"]
    # Room beyond the drain for closing the TSDB (the head is cut into a block).
    assert _seconds(stop) >= float(drain.group(1)) + 15


def test_systemd_analyze_verify_accepts_the_unit(tmp_path: Path) -> None:
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.fail("systemd-analyze is not installed (Debian's systemd package)")
    vigil = Path(sys.executable).parent / "vigil"
    # verify checks that ExecStart's program exists: point it at this checkout's vigil.
    unit = tmp_path / "vigil.service"
    unit.write_text(UNIT.read_text().replace("/opt/vigil/bin/vigil", str(vigil)))
    done = subprocess.run([analyze, "verify", str(unit)], capture_output=True, text=True,
                          timeout=60)
    # Unknown or malformed settings are only warnings ("..., ignoring"): none are allowed.
    assert done.returncode == 0 and not done.stderr.strip(), done.stderr
