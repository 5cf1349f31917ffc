"""One shared :class:`Labels` object per distinct series across the head and every block.

A series that lives in the head and in twenty blocks would otherwise be held as twenty-one
equal tuples (about 500 bytes each for a node_exporter-like series); through the pool each
holder keeps an 8-byte reference to the same object.

Entries nobody else refers to any more (their blocks deleted by retention, their head
series garbage-collected) are dropped by :meth:`LabelsPool.sweep`, which the DB runs after
it deletes blocks or truncates the head. Python tuples cannot be weakly referenced, so the
sweep reads the interpreter's reference count instead; the count of an unused entry is
measured once, at import, rather than assumed.
"""

from __future__ import annotations

import sys

from vigil.model.labels import Labels


def _unused_refcount() -> int:
    """The reference count :meth:`LabelsPool.sweep` sees for an entry only the pool holds."""
    probe: dict[Labels, Labels] = {}
    key = Labels.of(a="1")
    probe[key] = key
    del key
    for k in list(probe):
        return sys.getrefcount(k)
    raise AssertionError("unreachable")


class LabelsPool:
    """Thread-safe for :meth:`intern` (a dict operation under the GIL); a concurrent
    :meth:`sweep` may at worst drop an entry that was just handed out, which costs a second
    copy of those labels later, never a wrong answer."""

    _UNUSED = _unused_refcount()

    def __init__(self) -> None:
        self._by_value: dict[Labels, Labels] = {}

    def intern(self, labels: Labels) -> Labels:
        return self._by_value.setdefault(labels, labels)

    def __len__(self) -> int:
        return len(self._by_value)

    def sweep(self) -> int:
        """Drop entries no series refers to; returns how many were dropped."""
        unused = self._UNUSED
        pool = self._by_value
        dropped = 0
        # The loop below must hold references exactly as _unused_refcount's loop does.
        for k in list(pool):
            if sys.getrefcount(k) <= unused:
                pool.pop(k, None)
                dropped += 1
        return dropped
