"""Runs Prometheus's PromQL test scripts (shared/conformance/promql) through the engine over a
real TSDB (:mod:`vigil.promqltest.runner`) and compares every eval's outcome with
``conformance_expected.json`` (identity ``file.test:LINE`` -> ``pass`` | ``fail`` |
``unsupported: <reason>``). Any change, better or worse, fails and lists the cases; after a
deliberate change, regenerate the file with
``python -m vigil.promqltest ../shared/conformance/promql/*.test --write-outcomes
tests/promql/conformance_expected.json`` and review the diff.
"""

from __future__ import annotations

import json
from pathlib import Path

from tests.support.shared import conformance_dir
from vigil.model.labels import Labels
from vigil.promql.parser.series_notation import expand_values, parse_load_line, parse_series_desc
from vigil.promqltest.classify import DataState, unsupported_reason
from vigil.promqltest.runner import run_file
from vigil.promqltest.script import parse_script

CONFORMANCE_DIR = conformance_dir("promql")
EXPECTED = Path(__file__).with_name("conformance_expected.json")


def changed_outcomes(expected: dict[str, str], reports) -> list[str]:
    """One line per identity whose outcome differs from ``expected`` (or is new/gone)."""
    got = {k: v for r in reports for k, v in r.outcomes.items()}
    why = {k: v for r in reports for k, v in r.failures.items()}
    lines = []
    for ident in sorted(set(expected) | set(got), key=_order):
        before, now = expected.get(ident, "(absent)"), got.get(ident, "(absent)")
        if before != now:
            detail = f" -- {why[ident]}" if ident in why else ""
            lines.append(f"{ident}: {before} -> {now}{detail}")
    return lines


def _order(ident: str) -> tuple[str, int]:
    name, _, line = ident.rpartition(":")
    return name, int(line)


def test_every_outcome_is_as_recorded() -> None:
    files = sorted(CONFORMANCE_DIR.glob("*.test"))
    assert files, f"no conformance scripts in {CONFORMANCE_DIR}"
    changes = changed_outcomes(json.loads(EXPECTED.read_text()), [run_file(f) for f in files])
    assert not changes, "outcomes changed:\n" + "\n".join(changes)


def test_notation_expands_series() -> None:
    assert expand_values("1+1x3 _ 5 -2-2x1 _x2 3x2") == [1, 2, 3, 4, None, 5, -2, -4, None,
                                                          None, 3, 3, 3]
    lb, vals = parse_series_desc('m{a="b"} 0x59 60')
    assert lb.get("a") == "b" and lb.get("__name__") == "m" and len(vals) == 61
    hist = parse_load_line('h{a="x y"} 1 {{schema:0 sum:1 count:1}}')
    assert hist.histogram and hist.labels == Labels({"__name__": "h", "a": "x y"})
    assert parse_load_line('c{t="a"}@st _ -1mx2').start_timestamps


def _script(tmp_path: Path, text: str):
    path = tmp_path / "mini.test"
    path.write_text(text)
    return path


def test_classification_reads_the_case_and_its_data(tmp_path: Path) -> None:
    path = _script(tmp_path, (
        "load 1m\n"
        '  m{a="1"} 1+1x5\n'
        "  h {{schema:0 sum:1 count:1}}\n"
        "  c_bucket{le=\"1\"} 1\n"
        '  st{k="v"}@st _ -1m\n'
        '  st{k="v"} 1 2\n'
        "\n"
        "eval instant at 1m m\n  m{a=\"1\"} 2\n\n"
        'eval instant at 1m {__name__=~"m|h"}\n  m{a="1"} 2\n\n'
        'eval instant at 1m {__name__=~"m|c.*"}\n  m{a="1"} 2\n\n'
        "eval instant at 1m histogram_count(h)\n  {} 1\n\n"
        "eval instant at 1m histogram_count(m)\n\n"
        "eval instant at 1m m\n  m{a=\"1\"} {{schema:0 sum:1 count:1}}\n\n"
        "eval instant at 1m rate(st[5m])\n\n"
        "eval instant at 1m m </ 2\n\n"
        "clear\n\n"
        "eval instant at 1m h\n"
    ))
    state = DataState()
    reasons = []
    for cmd in parse_script(path).commands:
        if type(cmd).__name__ == "Load":
            state.add(cmd)
        elif type(cmd).__name__ == "Clear":
            state = DataState()
        else:
            reasons.append(unsupported_reason(cmd, state))
    assert reasons == [None, "native histogram data", None, "native histogram function", None,
                       "native histogram result", "start timestamps",
                       "native histogram operator", None]


def test_runner_reports_pass_fail_and_unsupported(tmp_path: Path) -> None:
    path = _script(tmp_path, (
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
        "\n"
        "eval instant at 2m quantile(2, m)\n"
        "  expect warn msg: PromQL warning: quantile value should be between 0 and 1, got 2\n"
        '  {} +Inf\n'
        "\n"
        "eval instant at 2m quantile(2, m)\n"
        "  expect warn msg: PromQL warning: quantile value should be between 0 and 1\n"
        '  {} +Inf\n'
        "\n"
        "clear\n"
        "\n"
        "eval instant at 2m m\n"
    ))
    r = run_file(path)
    assert r.outcomes == {
        "mini.test:5": "pass", "mini.test:8": "pass", "mini.test:11": "fail",
        "mini.test:14": "pass", "mini.test:17": "pass",
        "mini.test:20": "unsupported: native histogram result",
        "mini.test:23": "pass", "mini.test:27": "fail", "mini.test:33": "pass",
    }, r.failures
    assert "expected 4.0" in r.failures["mini.test:11"]
    assert "warn annotation matching message" in r.failures["mini.test:27"]
