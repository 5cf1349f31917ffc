"""Rule files written in the community's style load and render exactly as Prometheus renders
them: the same promtool unit test passes under the real promtool and under ``vigil rules
test``, and an expectation that is off by one character fails under both."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.support.prometheus import PROMTOOL
from vigil.cli import cli

DATA = Path(__file__).parent / "data" / "community"


def _outcomes(test_file: Path) -> tuple[int, int]:
    promtool = subprocess.run([PROMTOOL, "test", "rules", test_file.name], cwd=test_file.parent,
                              capture_output=True, text=True, timeout=60)
    vigil = CliRunner().invoke(cli, ["rules", "test", str(test_file)])
    return promtool.returncode, vigil.exit_code


def test_community_style_rules_render_as_prometheus_renders_them() -> None:
    assert _outcomes(DATA / "host_rules_test.yml") == (0, 0)


@pytest.mark.parametrize("wrong", [
    ("VALUE = 6.25", "VALUE = 6.250"),  # $value prints as Go's %g would
    ("map[instance:b:9100]", "map[instance: b:9100]"),  # $labels prints as a Go map
    ("/ has 1.397GiB free", "/ has 1.398GiB free"),  # humanize1024 rounding
])
def test_a_wrong_expectation_fails_under_both(tmp_path: Path, wrong: tuple[str, str]) -> None:
    for f in DATA.iterdir():
        shutil.copy(f, tmp_path / f.name)
    test_file = tmp_path / "host_rules_test.yml"
    text = test_file.read_text()
    assert wrong[0] in text
    test_file.write_text(text.replace(wrong[0], wrong[1], 1))
    assert _outcomes(test_file) == (1, 1)
