"""Runs Prometheus's PromQL test scripts (shared/conformance/promql) through our engine.

The scripts are not copied into the repo; the test is skipped when they are absent. It
fails when fewer cases pass than the recorded baseline, so regressions show up.
"""

from __future__ import annotations

import json
from pathlib import Path

from tests.support.shared import conformance_dir
from vigil.promql.promqltest import run_file

CONFORMANCE_DIR = conformance_dir("promql")
BASELINE = Path(__file__).with_name("conformance_baseline.json")


def test_conformance_baseline() -> None:
    files = sorted(CONFORMANCE_DIR.glob("*.test"))
    assert files, f"no conformance scripts in {CONFORMANCE_DIR}"
    baseline = json.loads(BASELINE.read_text())
    results = {f.name: run_file(f) for f in files}
    passed = sum(r.passed for r in results.values())
    regressed = {
        name: (r.passed, baseline["per_file"].get(name, 0))
        for name, r in results.items()
        if r.passed < baseline["per_file"].get(name, 0)
    }
    assert not regressed, f"files passing fewer cases than the baseline (now, before): {regressed}"
    assert passed >= baseline["passed"]


def test_runner_expands_series_notation() -> None:
    from vigil.promql.promqltest import expand_values, parse_series_desc

    assert expand_values("1+1x3 _ 5 -2-2x1 _x2 3x2") == [1, 2, 3, 4, None, 5, -2, -4, None,
                                                          None, 3, 3, 3]
    lb, vals = parse_series_desc('m{a="b"} 0x59 60')
    assert lb.get("a") == "b" and lb.name == "m" and len(vals) == 61


def test_runner_reports_pass_fail_and_skip(tmp_path: Path) -> None:
    script = tmp_path / "mini.test"
    script.write_text(
        "load 1m\n"
        '  m{a="1"} 1+1x5\n'
        "  h {{schema:0 sum:1 count:1}}\n"
        "\n"
        "eval instant at 2m m\n"
        '  m{a="1"} 3\n'
        "\n"
        "eval range from 0 to 2m step 1m m * 2\n"
        '  {a="1"} 2 4 6\n'
        "\n"
        "eval instant at 2m m\n"
        '  m{a="1"} 4\n'
        "\n"
        "eval instant at 0 1 / 0 > bool 0\n"
        "  1\n"
        "\n"
        "eval instant at 0 nope(m)\n"
        "  expect fail\n"
        "\n"
        "eval instant at 0 h\n"
        "  {} {{schema:0 sum:1 count:1}}\n"
    )
    r = run_file(script)
    assert (r.passed, r.failed, r.skipped) == (4, 1, 1), r.failures
    assert "expected 4.0, got 3.0" in r.failures[0]
