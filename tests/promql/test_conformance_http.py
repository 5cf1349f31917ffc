"""Prometheus's PromQL test scripts through the black box (:mod:`vigil.promqltest.http`): each
data state imported with ``vigil tsdb import``, a ``vigil up`` server started on it with every
PromQL feature, the evals asked through ``/api/v1/query`` and ``/api/v1/query_range``.

``conformance_http_expected.json`` holds the outcome of every eval of every script (a full
run: ``python -m vigil.promqltest --http ../shared/conformance/promql/*.test
--write-outcomes tests/promql/conformance_http_expected.json``). A full run starts one
server per data state and takes longer than a test should, so this test runs all states of
:data:`FILES` and fails on any change of their outcomes, in either direction.
"""

from __future__ import annotations

import json
from pathlib import Path

from tests.promql.test_conformance import changed_outcomes
from tests.support.shared import conformance_dir
from vigil.promqltest.classify import DataState, unsupported_reason
from vigil.promqltest.http import openmetrics_text, run_files
from vigil.promqltest.script import parse_script

CONFORMANCE_DIR = conformance_dir("promql")
EXPECTED = Path(__file__).with_name("conformance_http_expected.json")
# Scripts with few data states (21 servers) that cover selectors, operators, functions, @,
# staleness, and the features duration expressions, delayed name removal and the
# experimental functions.
FILES = ["at_modifier.test", "duration_expression.test", "limit.test", "literals.test",
         "name_label_dropping.test", "selectors.test", "staleness.test", "trig_functions.test",
         "type_and_unit.test"]


def test_http_outcomes_are_as_recorded() -> None:
    expected = json.loads(EXPECTED.read_text())
    reports = run_files([CONFORMANCE_DIR / f for f in FILES], jobs=2)
    wanted = {k: v for k, v in expected.items() if k.rpartition(":")[0] in FILES}
    assert wanted, "the expected file has none of the chosen scripts"
    changes = changed_outcomes(wanted, reports)
    assert not changes, "outcomes changed:\n" + "\n".join(changes)


def test_openmetrics_text_carries_what_it_can(tmp_path: Path) -> None:
    path = tmp_path / "mini.test"
    path.write_text(
        "load 1m\n"
        '  m{a="x\\"y"} 1 NaN stale 4\n'
        '  n{b="1"} 0.5 -Inf\n'
        '  {"odd.name", b="1"} 0.5\n'
        '  {c="nameless"} 1\n'
        "\n"
        "eval instant at 0 m\n\n"
        'eval instant at 0 n\n\n'
        'eval instant at 0 {"odd.name"}\n\n'
        'eval instant at 0 {c="nameless"}\n'
    )
    script = parse_script(path)
    state = DataState()
    state.add(script.commands[0])
    assert openmetrics_text(state).splitlines() == [
        'm{a="x\\"y"} 1.0 0.000',
        'm{a="x\\"y"} NaN 60.000',
        'm{a="x\\"y"} 4.0 180.000',
        'n{b="1"} 0.5 0.000',
        'n{b="1"} -Inf 60.000',
        "# EOF",
    ]
    assert [unsupported_reason(c, state, http=True) for c in script.evals()] == [
        "stale markers", None, "series OpenMetrics cannot write",
        "series OpenMetrics cannot write"]
    assert [unsupported_reason(c, state) for c in script.evals()] == [None] * 4
