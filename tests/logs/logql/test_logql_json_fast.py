"""The json parser's quick paths (a line that is one bare object read without the whitespace
scans; names sanitized once per key; parsed labels added in one update when none clashes)
give what the careful paths give: the same labels, the same order, the same error details."""

from __future__ import annotations

import json

import pytest

from tests.logs.logql.memreader import MemoryReader
from vigil.logs.logql import LogQLEngine
from vigil.logs.logql.parsers import ExtractError, extract_json
from vigil.logs.model import LogEntry
from vigil.model.labels import Labels

S = 1_000_000_000


@pytest.mark.parametrize("line", [
    '{"a":1}x', '{"a":1} x', '{"a":1}\n{"b":2}', '{"a":', '{"a" 1}', 'plain text', '',
    '   ', '[1,2]', '12 apples', '-x', 'nul', '{"a":1}}', '\t{"a":1', '{"a":NaN}x',
])
def test_errors_name_what_json_names(line: str) -> None:
    try:
        json.loads(line)
    except json.JSONDecodeError as exc:
        want = f"{exc.msg} at offset {exc.pos}"
    else:
        want = "expecting json object(6), but it is not"
    with pytest.raises(ExtractError) as got:
        extract_json(line)
    assert (got.value.kind, got.value.details) == ("JSONParserErr", want)


def test_objects_with_whitespace_duplicates_and_nesting() -> None:
    assert extract_json(' {"a":"x"} \n') == [("a", "x")]
    assert extract_json('{"a":"x","a":"y"}') == [("a", "y")]
    assert extract_json('{"a-b":{"c d":1.50,"e":{"f":true}},"1x":"v","":"skip","n":null,'
                        '"l":[1],"g":-0}') == [
        ("a_b_c_d", "1.50"), ("a_b_e_f", "true"), ("_1x", "v"), ("g", "-0")]
    # the same key under another parent is another name (the names are cached per parent)
    assert extract_json('{"p":{"k":"1"},"q":{"k":"2"},"k":"3"}') == [
        ("p_k", "1"), ("q_k", "2"), ("k", "3")]


def test_parsed_names_clashing_with_stream_labels_and_each_other() -> None:
    entries = [LogEntry(1 * S, Labels.of(app="api"), '{"app":"inner","x":"1","y":"2"}', "warn"),
               LogEntry(2 * S, Labels.of(app="api"), '{"x":"3","x_y":"4","x":{"y":"5"}}'),
               LogEntry(3 * S, Labels.of(app="api"), '{"detected_level":"debug","z":"6"}',
                        "error")]
    streams = LogQLEngine(MemoryReader(entries)).select_logs('{app="api"} | json', 0, 4 * S,
                                                              direction="forward")
    got = [dict(s.labels) for s in streams]
    assert got == [
        {"app": "api", "app_extracted": "inner", "detected_level": "warn", "x": "1", "y": "2"},
        # "x" twice: its last value (the object) in its first place, so x_y from it comes
        # before the key x_y, whose "4" wins
        {"app": "api", "x_y": "4"},
        {"app": "api", "detected_level": "error", "detected_level_extracted": "debug",
         "z": "6"},
    ]
