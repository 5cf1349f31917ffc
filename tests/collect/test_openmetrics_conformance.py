"""Runs the upstream OpenMetrics parser cases in place (they are not copied into the repo).

Each case folder holds ``test.json`` (``file``, ``shouldParse``) and the input it names.
The pass rate must not fall below ``openmetrics_baseline.json``.
"""

from __future__ import annotations

import json
from pathlib import Path

from tests.support.shared import conformance_dir
from vigil.collect.exposition import parse_openmetrics
from vigil.errors import ParseError

CASES = conformance_dir("openmetrics") / "parsers"
BASELINE = Path(__file__).with_name("openmetrics_baseline.json")


def _run_case(case: Path) -> tuple[bool, str]:
    """(outcome matched, detail)."""
    spec = json.loads((case / "test.json").read_text())
    text = (case / spec["file"]).read_bytes().decode("utf-8")
    try:
        parse_openmetrics(text)
    except ParseError as e:
        return (not spec["shouldParse"], str(e))
    return (spec["shouldParse"], "parsed")


def test_openmetrics_parser_conformance() -> None:
    cases = sorted(p for p in CASES.iterdir() if (p / "test.json").is_file())
    results = {c.name: _run_case(c) for c in cases}
    failed = sorted(name for name, (ok, _) in results.items() if not ok)
    rate = (len(cases) - len(failed)) / len(cases)
    baseline = json.loads(BASELINE.read_text())
    print(f"OpenMetrics parser conformance: {len(cases) - len(failed)}/{len(cases)} "
          f"= {rate:.1%} (baseline {baseline['min_pass_rate']:.1%})")
    for name in failed:
        print(f"  FAIL {name}: {results[name][1]}")
    assert len(cases) >= baseline["cases"], "conformance cases went missing"
    assert rate >= baseline["min_pass_rate"], f"pass rate {rate:.1%} fell; failing: {failed}"


def test_rejections_carry_a_line_number() -> None:
    for case in sorted(CASES.glob("bad_*")):
        ok, detail = _run_case(case)
        assert ok, case.name
        assert detail.startswith("line "), (case.name, detail)
