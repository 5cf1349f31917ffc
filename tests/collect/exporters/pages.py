"""Reading collector pages in tests, through the real exposition parser."""

from __future__ import annotations

from vigil.collect import parse


def values(text: str) -> dict[str, float]:
    """``name{a="x",b="y"}`` (labels sorted, no spaces) -> value."""
    out: dict[str, float] = {}
    for s in parse(text.encode(), "text/plain").samples:
        labels = s.labels.to_dict()
        name = labels.pop("__name__")
        inner = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
        out[f"{name}{{{inner}}}" if inner else name] = s.value
    return out
