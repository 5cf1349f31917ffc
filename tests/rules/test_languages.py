"""Rule groups in another query language than PromQL (Loki ruler files are LogQL): the
loader tags the groups with the language and parses with the parser it is given, and the
manager evaluates each group with its language's query function. The language here is a
tiny one made up for the test ("words": an expression is one lower-case word), so that the
rule stage is tested alone; tests/logs/test_log_rules.py runs real LogQL."""

from __future__ import annotations

import pytest

from tests.rules.harness import MIN, T0
from tests.support.tsdb_store import TempTSDB
from vigil.errors import ConfigError, ParseError, QueryError
from vigil.model.alert import Alert
from vigil.model.labels import Labels
from vigil.promql.value import Sample, Vector
from vigil.rules import Manager, engine_query_func, load_rule_text
from vigil.selfmetrics import SelfMetrics

WORDS = "words"


class Word:
    """A parsed "words" expression (the parser's output is opaque to the rule stage)."""

    def __init__(self, text: str) -> None:
        self.text = text

    def __str__(self) -> str:
        return f"word({self.text})"


def parse_word(text: str) -> Word:
    word = text.strip()
    if not word.isalpha() or not word.islower():
        bad = next(i for i, c in enumerate(word) if not (c.isalpha() and c.islower()))
        raise ParseError(f"1:{bad + 1}: unexpected {word[bad]!r}")
    return Word(word)


class WordQuery:
    """The "words" query function: the value of a word is set by the test; records what it
    was called with (a parsed Word for rule expressions, text for template queries)."""

    def __init__(self) -> None:
        self.values: dict[str, list[tuple[dict[str, str], float]]] = {}
        self.calls: list[object] = []

    def __call__(self, expr: object, ts_ms: int) -> Vector:
        self.calls.append(expr)
        word = expr.text if isinstance(expr, Word) else parse_word(str(expr)).text
        return Vector([Sample(Labels(ls), ts_ms, v) for ls, v in self.values.get(word, [])])


PROMQL_RULES = """
groups:
  - name: prom
    interval: 1m
    rules:
      - record: job:up:sum
        expr: sum by (job) (up)
"""

WORD_RULES = """
groups:
  - name: words
    interval: 1m
    rules:
      - record: errors:count
        expr: errors
        labels: {source: words}
      - alert: ManyErrors
        expr: errors
        for: 1m
        labels: {severity: page}
        annotations:
          summary: '{{ $value }} errors; {{ with query "warnings" }}{{ . | first | value }}{{ end }} warnings'
"""


def _load_words(text: str = WORD_RULES) -> list:
    return load_rule_text(text, "words.yml", language=WORDS, parse=parse_word)


def test_loader_tags_groups_and_parses_with_the_given_parser() -> None:
    (group,) = _load_words()
    assert group.language == WORDS
    assert [type(r.parsed) for r in group.rules] == [Word, Word]
    assert group.rules[0].query == "word(errors)"  # the language's printed form
    (prom,) = load_rule_text(PROMQL_RULES, "prom.yml")
    assert prom.language == "promql"
    assert prom.rules[0].query == "sum by (job) (up)"


def test_a_parse_error_of_the_language_is_located() -> None:
    text = WORD_RULES.replace("expr: errors\n        labels", "expr: err0rs\n        labels")
    with pytest.raises(ConfigError) as info:
        _load_words(text)
    assert str(info.value) == ("words.yml:7:9: groups[0].rules[0].expr: could not parse "
                               "expression: 1:4: unexpected '0'")


def test_another_language_needs_its_parser() -> None:
    with pytest.raises(ValueError, match="rules in words need that language's parser"):
        load_rule_text(WORD_RULES, "words.yml", language=WORDS)


@pytest.fixture
def manager(tsdb_store: TempTSDB) -> tuple[Manager, WordQuery, list[list[Alert]]]:
    from vigil.promql.engine import Engine

    words = WordQuery()
    sent: list[list[Alert]] = []
    m = Manager(query=engine_query_func(Engine(tsdb_store)), notify=sent.append,
                storage=tsdb_store, state_store=None, metrics=SelfMetrics(),
                external_url="http://vigil.example", clock=lambda: T0 / 1000,
                languages={WORDS: words})
    return m, words, sent


def test_each_group_is_evaluated_in_its_language(
        tsdb_store: TempTSDB, manager: tuple[Manager, WordQuery, list[list[Alert]]]) -> None:
    m, words, sent = manager
    tsdb_store.add({"__name__": "up", "job": "api", "instance": "a"}, [(T0 - 1000, 1.0)])
    tsdb_store.add({"__name__": "up", "job": "api", "instance": "b"}, [(T0 - 1000, 1.0)])
    words.values = {"errors": [({"app": "api"}, 7.0)], "warnings": [({}, 3.0)]}
    (prom,) = load_rule_text(PROMQL_RULES, "prom.yml")
    (word_group,) = _load_words()
    m.update([prom, word_group])

    m.evaluate_group(prom, T0)
    assert tsdb_store.last("job:up:sum", job="api") == 2.0
    assert words.calls == []  # PromQL groups never reach the other language

    m.evaluate_group(word_group, T0)
    m.evaluate_group(word_group, T0 + MIN)
    # The recording rule's series lands in the TSDB, named by the rule, with its labels.
    assert tsdb_store.series("errors:count") == {
        Labels({"__name__": "errors:count", "app": "api", "source": "words"}):
            [(T0, 7.0), (T0 + MIN, 7.0)]}
    # The alert fired after `for`; its template's query ran in the group's language, as text.
    (alert,) = [a for batch in sent for a in batch]
    assert alert.labels == Labels({"alertname": "ManyErrors", "app": "api", "severity": "page"})
    assert alert.annotations.get("summary") == "7 errors; 3 warnings"
    assert "warnings" in words.calls
    # No graph link for a query the graph page cannot run: the rules page instead.
    assert alert.generator_url == "http://vigil.example/rules"
    assert tsdb_store.last("ALERTS", alertname="ManyErrors", alertstate="firing") == 1.0

    statuses = {g.name: g for g in m.groups()}
    assert statuses["words"].language == WORDS and statuses["prom"].language == "promql"
    assert [r.query for r in statuses["words"].rules] == ["word(errors)", "word(errors)"]
    assert all(r.health == "ok" for r in statuses["words"].rules)


def test_a_language_without_a_query_function_fails_its_rules(tsdb_store: TempTSDB) -> None:
    m = Manager(query=lambda expr, ts: Vector([]), notify=lambda alerts: None,
                storage=tsdb_store, state_store=None, metrics=SelfMetrics(),
                clock=lambda: T0 / 1000)
    (group,) = _load_words()
    m.update([group])
    m.evaluate_group(group, T0)
    (status,) = m.groups()
    assert {r.health for r in status.rules} == {"err"}
    assert status.rules[0].last_error == "no words query engine is running to evaluate this rule"


def test_a_failing_query_of_the_language_marks_only_its_rule(
        tsdb_store: TempTSDB, manager: tuple[Manager, WordQuery, list[list[Alert]]]) -> None:
    m, words, _ = manager

    def failing(expr: object, ts_ms: int) -> Vector:
        if isinstance(expr, Word) and expr.text == "broken":
            raise QueryError("the words engine broke")
        return words(expr, ts_ms)

    m2 = Manager(query=lambda expr, ts: Vector([]), notify=lambda alerts: None,
                 storage=tsdb_store, state_store=None, metrics=SelfMetrics(),
                 clock=lambda: T0 / 1000, languages={WORDS: failing})
    words.values = {"fine": [({}, 1.0)]}
    (group,) = _load_words("""
groups:
  - name: g
    rules:
      - record: a:broken
        expr: broken
      - record: a:fine
        expr: fine
""")
    m2.update([group])
    m2.evaluate_group(group, T0)
    broken, fine = m2.groups()[0].rules
    assert (broken.health, broken.last_error) == ("err", "the words engine broke")
    assert fine.health == "ok" and tsdb_store.last("a:fine") == 1.0
