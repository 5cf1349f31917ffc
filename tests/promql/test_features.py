"""Prometheus's --enable-feature switches as the engine applies them (vigil.model.features)."""

from __future__ import annotations

import pytest

from vigil.errors import ParseError, QueryError
from vigil.model.features import (
    ALL_FEATURES,
    DELAYED_NAME_REMOVAL,
    DURATION_EXPR,
    EXPERIMENTAL_FUNCTIONS,
    UnknownFeatureError,
    parse_features,
)
from vigil.model.labels import Labels
from vigil.promql.engine import Engine
from vigil.promql.value import Vector

MIN = 60_000


@pytest.fixture()
def store(tsdb_store):
    for name in ("a_total", "b_total"):
        tsdb_store.add({"__name__": name, "job": "j"}, [(t, t / 1000) for t in range(0, 5 * MIN, 15_000)])
    return tsdb_store


def _vector(engine: Engine, query: str) -> dict[Labels, float]:
    value = engine.instant_query(query, 4 * MIN).value
    assert isinstance(value, Vector)
    return {s.labels: s.value for s in value.samples}


def test_parse_features_splits_commas_and_rejects_unknown_names() -> None:
    assert parse_features(["promql-experimental-functions,promql-duration-expr",
                           "promql-delayed-name-removal"]) == {
        EXPERIMENTAL_FUNCTIONS, DURATION_EXPR, DELAYED_NAME_REMOVAL}
    assert parse_features(["", "promql-duration-expr,"]) == {DURATION_EXPR}
    with pytest.raises(UnknownFeatureError) as info:
        parse_features(["promql-experimental-functions,exemplar-storage"])
    assert "'exemplar-storage'" in str(info.value)
    assert "promql-binop-fill-modifiers" in str(info.value)


def test_name_is_dropped_at_once_by_default(store) -> None:
    # Prometheus's default: rate() drops the name before label_replace reads it.
    engine = Engine(store)
    assert _vector(engine, 'label_replace(rate(a_total[1m]), "src", "$1", "__name__", "(.*)")') == {
        Labels({"job": "j"}): pytest.approx(1.0)}
    # Two rates whose labels become equal are an error where they are made.
    with pytest.raises(QueryError, match="vector cannot contain metrics with the same labelset"):
        engine.instant_query('label_replace(rate({__name__=~"a_total|b_total"}[1m]), "src", "$1", '
                             '"__name__", "(.*)")', 4 * MIN)


def test_delayed_name_removal_keeps_the_name_until_the_end(store) -> None:
    engine = Engine(store, features={DELAYED_NAME_REMOVAL})
    query = 'label_replace(rate({__name__=~"a_total|b_total"}[1m]), "src", "$1", "__name__", "(.*)")'
    assert _vector(engine, query) == {
        Labels({"job": "j", "src": "a_total"}): pytest.approx(1.0),
        Labels({"job": "j", "src": "b_total"}): pytest.approx(1.0)}


def test_the_same_collision_fails_at_the_end_with_delayed_removal(store) -> None:
    engine = Engine(store, features={DELAYED_NAME_REMOVAL})
    with pytest.raises(QueryError, match="vector cannot contain metrics with the same labelset"):
        engine.instant_query('rate({__name__=~"a_total|b_total"}[1m])', 4 * MIN)


def test_engine_parses_with_its_features(store) -> None:
    with pytest.raises(ParseError, match='function "sort_by_label" is not enabled'):
        Engine(store).instant_query('sort_by_label(a_total, "job")', 4 * MIN)
    engine = Engine(store, features=ALL_FEATURES)
    assert list(_vector(engine, 'sort_by_label(a_total, "job")')) == [
        Labels({"__name__": "a_total", "job": "j"})]


def test_sum_of_a_rate_sees_the_collision_only_without_delayed_removal(store) -> None:
    query = 'sum(rate({__name__=~"a_total|b_total"}[1m]))'
    with pytest.raises(QueryError, match="vector cannot contain metrics with the same labelset"):
        Engine(store).instant_query(query, 4 * MIN)
    assert _vector(Engine(store, features={DELAYED_NAME_REMOVAL}), query) == {
        Labels(): pytest.approx(2.0)}
    # Grouping by the name: the names are gone before sum groups (one group), or kept.
    assert _vector(Engine(store), 'sum by (__name__) (rate(a_total[1m]))') == {
        Labels(): pytest.approx(1.0)}
