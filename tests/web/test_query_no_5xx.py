"""No query can make the query API fail with a server error.

Every eval expression of Prometheus's PromQL test scripts, and a bounded, seeded set of
mutated and garbage variants of them, goes through the real HTTP app (:class:`vigil.app.App`
over a real TSDB loaded with the scripts' data) to ``/api/v1/query`` and
``/api/v1/query_range``. Every answer must be JSON in Prometheus's envelope, and never a 5xx
(a timeout, 503, only with errorType ``timeout``). The failures print the query to replay.
"""

from __future__ import annotations

import json
import random
import re
from collections.abc import Iterator

import httpx
import pytest
from starlette.testclient import TestClient

from tests.support.shared import conformance_dir
from vigil.app import App, check
from vigil.errors import StorageError
from vigil.model.features import ALL_FEATURES
from vigil.promql.parser.functions_meta import FUNCTIONS
from vigil.promqltest.script import EvalCase, Load, parse_script

# Prometheus's error types and the status each one answers (web/api/v1/api.go).
STATUS_OF = {"bad_data": 400, "execution": 422, "canceled": 499, "timeout": 503,
             "not_found": 404}
MUTANTS = 1500
SEED = 20261207


@pytest.fixture(scope="module")
def scripts():
    return [parse_script(p) for p in sorted(conformance_dir("promql").glob("*.test"))]


@pytest.fixture(scope="module")
def client(tmp_path_factory, scripts) -> Iterator[TestClient]:
    root = tmp_path_factory.mktemp("no5xx")
    (root / "vigil.yml").write_text(
        "default_rules: false\ncollectors: {host: {enabled: false}}\n"
        # Scripts load the same series at the same times; the later loads must get in.
        "storage: {tsdb: {out_of_order_time_window: 3650d}}\n")
    app = App(check(str(root / "vigil.yml"), ALL_FEATURES), data_dir=str(root / "data"),
              listen="127.0.0.1:0")
    try:
        for script in scripts:
            for load in (c for c in script.commands if isinstance(c, Load)):
                _append(app, load)
        with TestClient(app.web, raise_server_exceptions=False) as c:
            yield c
    finally:
        app.close()


def _append(app: App, load: Load) -> None:
    appender = app.db.appender()
    for line in load.effective():
        for k, v in enumerate(line.values):
            if v is not None:
                try:
                    appender.append(line.labels, k * load.step_ms, v)
                except StorageError:
                    pass  # another script's sample at this time; any data will do
    appender.commit()


def _cases(scripts) -> list[EvalCase]:
    return [c for s in scripts for c in s.commands if isinstance(c, EvalCase)]


def problem(response) -> str | None:
    """What is wrong with an API answer, or None: JSON in Prometheus's envelope and no 5xx
    except a timeout."""
    if "application/json" not in response.headers.get("content-type", ""):
        return f"{response.status_code} not JSON: {response.text[:200]!r}"
    try:
        body = json.loads(response.text)
    except ValueError:
        return f"{response.status_code} body is not JSON: {response.text[:200]!r}"
    if body.get("status") == "success":
        data = body.get("data")
        ok = (response.status_code == 200 and isinstance(data, dict)
              and data.get("resultType") in ("vector", "matrix", "scalar", "string")
              and "result" in data)
        return None if ok else f"{response.status_code} malformed success: {response.text[:200]}"
    kind, error = body.get("errorType"), body.get("error")
    if body.get("status") != "error" or not isinstance(error, str) or kind not in STATUS_OF:
        return f"{response.status_code} malformed error: {response.text[:200]}"
    if response.status_code != STATUS_OF[kind]:
        return f"{response.status_code} for errorType {kind}: {error[:200]}"
    return None


def _ask(client: TestClient, query: str, case: EvalCase) -> list[str]:
    """Problems with the instant and the range answer to ``query`` at ``case``'s times."""
    found = []
    at = case.end_ms if case.instant else case.start_ms
    start = case.start_ms if not case.instant else max(at - 600_000, 0)
    step = case.step_ms or 60_000
    for path, params in (
        ("/api/v1/query", {"query": query, "time": f"{at / 1000:.3f}"}),
        ("/api/v1/query_range", {"query": query, "start": f"{start / 1000:.3f}",
                                 "end": f"{at / 1000:.3f}", "step": f"{step / 1000:.3f}"}),
    ):
        why = problem(client.post(path, data=params))
        if why is not None:
            found.append(f"{path} {query!r}: {why}")
    return found


def test_every_upstream_expression_answers_in_api_form(client, scripts) -> None:
    cases = _cases(scripts)
    assert len(cases) > 1000
    problems = [p for case in cases for p in _ask(client, case.expr, case)]
    assert not problems, f"{len(problems)} bad answers:\n" + "\n".join(problems[:40])


# Pieces that exercise the parser's and the engine's edges: bad escapes and bytes, extreme
# numbers and durations, unbalanced brackets, modifiers in odd places.
_PIECES = ['"\\xff"', '"\\u00"', "'\\", "`", '"', "(", ")", "[", "]", "{", "}", ",", "[5m]",
           "[0s]", "[1y:1ms]", "[-1m]", "@ 1e308", "@ -Inf", "@ start()", "offset -1y",
           "offset 1e18s", " by (", " without (", " on(a) group_left(b) ", " bool ",
           "1e309", "-1e-320", "NaN", "Inf", "0x", "0x1p5", "9223372036854775807",
           "__name__", '{__name__=~".+"}', '{a=~"("}', '{a!~"\\\\"}', "\x00", "\u2028",
           "é", "😀", "and", "or", "unless", "^", "/", "%", "atan2", "step()", "range()",
           "anchored", "smoothed", "fill(1)", "limitk(", "count_values(", 'label_replace(',
           "histogram_quantile(", "sort_by_label(", "info(", "quantile(2,", "topk(-1,",
           "[1h:0s]", " offset 5m @ 100", "x" * 300, "(" * 60, ")" * 60]


# Edits that keep a query well formed, so that it gets evaluated: other numbers, durations,
# functions and aggregations in the same places.
_NUMBERS = ["0", "-1", "0.5", "2", "1e308", "-1e308", "1e-320", "NaN", "Inf", "-Inf",
            "9223372036854775807", "0x7fffffffffffffff"]
_DURATIONS = ["1ms", "1s", "0s", "5m", "100y", "1y1ms", "292y"]
_AGGREGATIONS = ["sum", "avg", "min", "max", "count", "group", "stddev", "stdvar",
                 "topk", "bottomk", "quantile", "count_values", "limitk", "limit_ratio"]
_TOKEN = {
    "number": (re.compile(r"(?<![\w.])\d+(?:\.\d+)?(?:e[+-]?\d+)?(?![\w.])"), _NUMBERS),
    "duration": (re.compile(r"(?<=[\[:])\d+[smhdwy]+|(?<=offset )\d+[smhdwy]+"), _DURATIONS),
    "function": (re.compile(r"\b[a-z_]+(?=\()"), sorted(FUNCTIONS) + _AGGREGATIONS),
}


def _replace_token(rng: random.Random, text: str) -> str:
    pattern, choices = _TOKEN[rng.choice(list(_TOKEN))]
    found = list(pattern.finditer(text))
    if not found:
        return text
    m = rng.choice(found)
    return text[:m.start()] + rng.choice(choices) + text[m.end():]


def mutate(rng: random.Random, text: str) -> str:
    """``text`` with one to three random edits: a number, duration or function swapped for
    another, a piece inserted, a span cut or doubled, or two halves swapped."""
    for _ in range(rng.randint(1, 3)):
        i = rng.randint(0, len(text))
        j = rng.randint(i, min(len(text), i + 12))
        edit = rng.randrange(8)
        if edit >= 5:
            text = _replace_token(rng, text)
        elif edit == 0:
            text = text[:i] + rng.choice(_PIECES) + text[i:]
        elif edit == 1:
            text = text[:i] + text[j:]
        elif edit == 2:
            text = text[:j] + text[i:j] + text[j:]
        elif edit == 3:
            text = text[i:] + text[:i]
        else:
            text = text[:i] + rng.choice(_PIECES) + text[j:]
    return text


def test_mutated_and_garbage_queries_answer_in_api_form(client, scripts) -> None:
    rng = random.Random(SEED)
    cases = _cases(scripts)
    problems = []
    for _ in range(MUTANTS):
        case = rng.choice(cases)
        if rng.random() < 0.1:
            query = "".join(rng.choice(_PIECES) for _ in range(rng.randint(1, 8)))
        else:
            query = mutate(rng, case.expr)
        problems += _ask(client, query, case)
    assert not problems, f"{len(problems)} bad answers:\n" + "\n".join(problems[:40])


@pytest.mark.parametrize("params", [
    {"query": "up", "time": "abc"},
    {"query": "up", "time": "1e400"},
    {"query": "up", "time": "-9223372036854775808"},
    {"query": "up", "timeout": "-1s"},
    {"query": "up", "timeout": "nonsense"},
    {"query": "up", "limit": "-5"},
    {"query": "up", "limit": "1e3"},
    {"query": "up", "start": "1", "end": "0", "step": "1"},
    {"query": "up", "start": "0", "end": "1e12", "step": "1ms"},
    {"query": "up", "start": "0", "end": "1", "step": "0"},
    {"query": "up", "start": "0", "end": "1", "step": "1e400"},
    {"query": "up", "start": "NaN", "end": "1", "step": "1"},
    {"start": "0", "end": "1", "step": "1"},
])
@pytest.mark.parametrize("path", ["/api/v1/query", "/api/v1/query_range"])
def test_odd_parameters_answer_in_api_form(client, path: str, params: dict) -> None:
    for response in (client.get(path, params=params), client.post(path, data=params)):
        assert problem(response) is None, problem(response)


@pytest.mark.parametrize("query", ["%FF", "up%C3", 'label_replace(up,"%FF","","","")',
                                   "%ED%A0%80", "%00"])
@pytest.mark.parametrize("path", ["/api/v1/query", "/api/v1/query_range"])
def test_invalid_utf8_in_the_query_answers_in_api_form(client, path: str, query: str) -> None:
    form = f"query={query}&time=0&start=0&end=60&step=15"
    for response in (client.get(f"{path}?{form}"),
                     client.post(path, content=form.encode(),
                                 headers={"content-type": "application/x-www-form-urlencoded"})):
        assert problem(response) is None, problem(response)


def test_the_check_rejects_what_a_crash_looks_like() -> None:
    def response(status: int, text: str, kind: str = "application/json") -> httpx.Response:
        return httpx.Response(status, text=text, headers={"content-type": kind})

    assert problem(response(500, "Internal Server Error", "text/plain")) is not None
    assert problem(response(500, '{"status":"error","errorType":"internal","error":"x"}'))
    assert problem(response(422, '{"status":"error","errorType":"bad_data","error":"x"}'))
    assert problem(response(200, "{"))
    assert problem(response(503, '{"status":"error","errorType":"timeout","error":"x"}')) is None
    assert problem(response(200, '{"status":"success","data":{"resultType":"vector",'
                                 '"result":[]}}')) is None
