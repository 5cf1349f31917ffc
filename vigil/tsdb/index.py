"""In-memory inverted index: label name -> label value -> set of series refs.

Used by the head (:mod:`vigil.tsdb.head`) for its in-memory series; loaded blocks answer
from their columnar index instead (:mod:`vigil.tsdb.block_index`). Matcher semantics follow Prometheus: a matcher on a
label the series does not have sees the empty string, so a matcher that matches ``""``
(``a!="x"``, ``a=~"x|"``, ``a=""``) also selects series without label ``a``.

Not thread-safe: the owner (head or block) guards it.
"""

from __future__ import annotations

from collections.abc import Sequence

from vigil.model.labels import Labels
from vigil.model.matchers import Matcher, MatchType


class PostingsIndex:
    def __init__(self) -> None:
        self._postings: dict[str, dict[str, set[int]]] = {}
        self._all: set[int] = set()

    def add(self, ref: int, labels: Labels) -> None:
        self._all.add(ref)
        postings = self._postings
        for name, value in labels:
            # get before set: setdefault would build a dict and a set per pair each time
            # (most pairs exist already), and creating series is on the ingest path.
            values = postings.get(name)
            if values is None:
                values = postings[name] = {}
            refs = values.get(value)
            if refs is None:
                values[value] = {ref}
            else:
                refs.add(ref)

    def remove(self, ref: int, labels: Labels) -> None:
        self._all.discard(ref)
        for name, value in labels:
            values = self._postings.get(name)
            if values is None:
                continue
            refs = values.get(value)
            if refs is not None:
                refs.discard(ref)
                if not refs:
                    del values[value]
            if not values:
                del self._postings[name]

    def __len__(self) -> int:
        return len(self._all)

    def _matching(self, m: Matcher) -> set[int]:
        """Refs whose value for ``m.name`` is non-empty and matches (result may be shared)."""
        values = self._postings.get(m.name)
        if not values:
            return set()
        if m.type is MatchType.EQUAL:
            return values.get(m.value, set())
        out: set[int] = set()
        for value, refs in values.items():
            if m.matches(value):
                out |= refs
        return out

    def select(self, matchers: Sequence[Matcher]) -> set[int]:
        """Refs of series matching all ``matchers`` (all series when there are none)."""
        positive = [m for m in matchers if not m.matches_empty()]
        # Equality first: cheapest and usually the most selective.
        positive.sort(key=lambda m: m.type is not MatchType.EQUAL)
        result: set[int] | None = None
        for m in positive:
            refs = self._matching(m)
            result = set(refs) if result is None else result & refs
            if not result:
                return set()
        if result is None:
            result = set(self._all)
        for m in matchers:
            if not m.matches_empty():
                continue
            # Keeps series without the label; drops those whose value fails the matcher.
            for value, refs in self._postings.get(m.name, {}).items():
                if not m.matches(value):
                    result -= refs
        return result

    def label_names(self, refs: set[int] | None = None) -> set[str]:
        if refs is None:
            return set(self._postings)
        return {
            name for name, values in self._postings.items()
            if any(not refs.isdisjoint(s) for s in values.values())
        }

    def label_values(self, name: str, refs: set[int] | None = None) -> set[str]:
        values = self._postings.get(name, {})
        if refs is None:
            return set(values)
        return {v for v, s in values.items() if not refs.isdisjoint(s)}
