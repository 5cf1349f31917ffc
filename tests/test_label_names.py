"""One label-name and one metric-name rule (vigil.model.labels), and callers that keep their
own extra rules on top of it."""

from __future__ import annotations

import pytest

from vigil.config import load_config_text
from vigil.errors import ConfigError
from vigil.model.labels import is_label_name, is_metric_name, is_utf8_label_name
from vigil.model.matchers import parse_matcher


@pytest.mark.parametrize("name, label, metric", [
    ("job", True, True), ("_x9", True, True), ("__name__", True, True),
    ("a:b", False, True), (":a", False, True), ("9a", False, False), ("", False, False),
    ("a-b", False, False), ("a b", False, False), ("é", False, False),
    ("job\n", False, False),  # `$` would have let a trailing newline through
])
def test_classic_character_sets(name, label, metric):
    assert is_label_name(name) is label
    assert is_metric_name(name) is metric


@pytest.mark.parametrize("name, valid", [
    ("job", True), ("a-b", True), ("é", True), ("", False),
    ("a\udcc5z", False),  # the byte 0xc5 alone, as surrogateescape holds it
])
def test_utf8_scheme(name, valid):
    assert is_utf8_label_name(name) is valid


def test_config_rejects_a_label_name_with_a_trailing_newline():
    text = 'global:\n  external_labels: {"env\\n": prod}\n'
    with pytest.raises(ConfigError, match="invalid label name"):
        load_config_text(text)


def test_alertmanager_matchers_take_the_metric_name_set_for_the_name():
    assert parse_matcher('a:b="c"').name == "a:b"
    with pytest.raises(ValueError):
        parse_matcher('a-b="c"')
