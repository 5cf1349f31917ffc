"""``write_relabel_configs``: Prometheus relabelling of a series' labels before sending.

Supported actions: ``replace``, ``keep``, ``drop``, ``labeldrop``, ``labelkeep`` (the ones
remote-write configurations use). Semantics as Prometheus's ``relabel.Process``: steps run
in order; ``keep``/``drop`` end processing with a verdict; ``replace`` sets ``target_label``
to the expanded ``replacement`` only when the regex matches, and an empty result deletes the
label. Regexes are fully anchored, Go-style ``$1``/``${name}`` references are supported.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from vigil.config.model import WriteRelabelConfig
from vigil.model.labels import Labels

__all__ = ["Relabeller"]

_REF = re.compile(r"\$(?:\{(\w+)\}|(\w+))")


class Relabeller:
    """Applies a list of steps; caches results per label set (bounded). Thread-safe enough
    for one sender thread plus the committing threads: the cache is a plain dict."""

    def __init__(self, configs: Sequence[WriteRelabelConfig], cache_size: int = 100_000) -> None:
        self._steps = [(c, re.compile(f"(?:{c.regex})\\Z")) for c in configs]
        self._cache: dict[Labels, Labels | None] = {}
        self._cache_size = cache_size

    def __bool__(self) -> bool:
        return bool(self._steps)

    def process(self, labels: Labels) -> Labels | None:
        """The relabelled labels, or None if the series is dropped."""
        if not self._steps:
            return labels
        hit = self._cache.get(labels, False)
        if hit is not False:
            return hit
        out = self._process(labels)
        if len(self._cache) >= self._cache_size:
            self._cache.clear()
        self._cache[labels] = out
        return out

    def _process(self, labels: Labels) -> Labels | None:
        lbs = labels.to_dict()
        for c, rx in self._steps:
            value = c.separator.join(lbs.get(n, "") for n in c.source_labels)
            if c.action == "keep" and not rx.match(value):
                return None
            if c.action == "drop" and rx.match(value):
                return None
            if c.action == "labeldrop":
                lbs = {k: v for k, v in lbs.items() if not rx.match(k)}
            elif c.action == "labelkeep":
                lbs = {k: v for k, v in lbs.items() if rx.match(k)}
            elif c.action == "replace" and c.target_label:
                m = rx.match(value)
                if m is None:
                    continue
                target = _expand(c.target_label, m)
                result = _expand(c.replacement, m)
                if result:
                    lbs[target] = result
                else:
                    lbs.pop(target, None)
        return Labels(lbs) if lbs else None


def _expand(template: str, m: re.Match[str]) -> str:
    def ref(r: re.Match[str]) -> str:
        key = r.group(1) or r.group(2)
        try:
            return m.group(int(key) if key.isdigit() else key) or ""
        except IndexError:  # no such group: empty, as Go's Expand
            return ""
    return _REF.sub(ref, template)

