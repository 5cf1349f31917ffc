"""``vigil alerts routes test`` against the real ``amtool config routes test`` on generated
routing trees (matchers of every type, legacy match/match_re, continue, nesting) and label
sets: the printed receivers must be identical."""

from __future__ import annotations

import random
import subprocess

import pytest
import yaml
from typer.testing import CliRunner

from vigil.cli import cli

pytestmark = pytest.mark.e2e

NAMES = ["env", "team", "severity"]
VALUES = ["prod", "dev", "db", "web", "critical", "warning", ""]


def _matcher(rng: random.Random) -> str:
    name = rng.choice(NAMES)
    op = rng.choice(["=", "!=", "=~", "!~"])
    value = rng.choice(VALUES[:-1])
    if op in ("=~", "!~"):
        value = rng.choice([value, f"{value}|{rng.choice(VALUES[:-1])}", f"{value[:2]}.*", ".+"])
    return f'{name}{op}"{value}"'


def _route(rng: random.Random, depth: int, receivers: list[str]) -> dict:
    route: dict = {"receiver": rng.choice(receivers)}
    kind = rng.random()
    if kind < 0.6:
        route["matchers"] = [_matcher(rng) for _ in range(rng.randint(1, 2))]
    elif kind < 0.8:
        route["match"] = {rng.choice(NAMES): rng.choice(VALUES[:-1])}
    else:
        route["match_re"] = {rng.choice(NAMES): rng.choice(["prod|dev", "d.*", "critical"])}
    if rng.random() < 0.35:
        route["continue"] = True
    if rng.random() < 0.3:
        del route["receiver"]  # inherits its parent's
    if depth < 3 and rng.random() < 0.5:
        route["routes"] = [_route(rng, depth + 1, receivers) for _ in range(rng.randint(1, 3))]
    return route


def _tree(seed: int) -> dict:
    rng = random.Random(seed)
    receivers = [f"r{i}" for i in range(5)]
    return {"route": {"receiver": "r0", "group_by": ["alertname"],
                      "routes": [_route(rng, 1, receivers) for _ in range(rng.randint(1, 4))]},
            "receivers": [{"name": r} for r in receivers]}


def _label_sets(seed: int) -> list[list[str]]:
    rng = random.Random(seed * 7919)
    sets = []
    for _ in range(12):
        names = [n for n in NAMES if rng.random() < 0.8]
        sets.append([f"{n}={rng.choice(VALUES[:5])}" for n in names] + ["alertname=Test"])
    return sets


@pytest.mark.parametrize("seed", range(25))
def test_same_receivers_as_amtool(tmp_path, seed):
    am = tmp_path / "am.yml"
    am.write_text(yaml.safe_dump(_tree(seed), sort_keys=False))
    runner = CliRunner()
    for labels in _label_sets(seed):
        want = subprocess.run(["amtool", "config", "routes", "test", f"--config.file={am}", *labels],
                              capture_output=True, text=True, timeout=30)
        assert want.returncode == 0, want.stderr
        got = runner.invoke(cli, ["alerts", "routes", "test", "--config", str(am), *labels])
        assert got.exit_code == 0, got.output
        assert got.stdout == want.stdout, (labels, am.read_text())


def test_verify_receivers_and_bad_labels(tmp_path):
    am = tmp_path / "am.yml"
    am.write_text(yaml.safe_dump(_tree(1)))
    runner = CliRunner()
    got = runner.invoke(cli, ["alerts", "routes", "test", "--config", str(am),
                              "--verify-receivers", "nobody", "env=prod"])
    assert got.exit_code == 1 and "did not match" in got.stdout
    got = runner.invoke(cli, ["alerts", "routes", "test", "--config", str(am), "not a label"])
    assert got.exit_code == 1 and "expected name=value" in got.output
