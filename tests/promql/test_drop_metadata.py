"""drop_metadata: the name-less label set is the same whether built (both ways: the slice
for the usual layout, ``without`` otherwise) or found in the cache of earlier answers."""

from __future__ import annotations

import pytest

from vigil.model.labels import Labels
from vigil.promql import _block
from vigil.promql._block import METADATA_LABELS, drop_metadata

CASES = [
    {"__name__": "y", "instance": "h-1", "mode": "idle"},  # the usual layout: a slice
    {"__name__": "y"},
    {"__name__": "y", "__type__": "counter", "a": "b"},  # metadata after the name
    {"__name__": "y", "__unit__": "seconds"},
    {"__name__": "y", "__other": "kept"},  # a "__" label that is not metadata
    {"A": "upper", "__name__": "y", "a": "b"},  # the name does not sort first
    {"a": "b"},
    {},
]


@pytest.mark.parametrize("pairs", CASES, ids=[",".join(c) or "empty" for c in CASES])
def test_built_and_cached_answers_match_without(pairs: dict[str, str]) -> None:
    want = Labels(pairs).without(*METADATA_LABELS)
    _block._NAMELESS.clear()
    built = drop_metadata(Labels(pairs))
    cached = drop_metadata(Labels(pairs))
    assert (built, cached) == (want, want)
    assert type(built) is Labels and type(cached) is Labels
    assert list(built) == list(want)  # same pairs in the same order


def test_cache_is_emptied_when_full(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_block, "_NAMELESS_MAX", 3)
    _block._NAMELESS.clear()
    for i in range(5):
        assert drop_metadata(Labels({"__name__": "y", "i": str(i)})) == Labels({"i": str(i)})
    assert 0 < len(_block._NAMELESS) <= 3
