"""Writing Prometheus text format 0.0.4, and the error collectors raise.

Collectors build their page with :class:`Page`: one ``# HELP``/``# TYPE`` header per metric
family, then its samples, label values escaped as the format requires.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

from vigil.collect.local import CollectorError

__all__ = ["CollectorError", "Page"]


def _escape_label(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _escape_help(text: str) -> str:
    return text.replace("\\", "\\\\").replace("\n", "\\n")


def format_value(value: float) -> str:
    value = float(value)  # drivers hand back Decimal and int too
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    if float(value).is_integer() and abs(value) < 1e15:
        return str(int(value))
    return repr(float(value))


MAX_ERROR_LEN = 500


class Page:
    """An exposition page under construction. Not thread-safe; one per ``collect()``.

    Samples are grouped by family when the page is rendered, so callers may add them in
    any order; the first :meth:`family` or :meth:`sample` call fixes a family's type and help.
    """

    def __init__(self) -> None:
        self._families: dict[str, tuple[str, str, list[str]]] = {}

    def family(self, name: str, kind: str, help_text: str) -> None:
        self._families.setdefault(name, (kind, help_text, []))

    def sample(self, name: str, value: float, labels: Mapping[str, str] | None = None, *,
               kind: str = "gauge", help_text: str = "") -> None:
        self.family(name, kind, help_text or name)
        lines = self._families[name][2]
        if labels:
            inner = ",".join(f'{k}="{_escape_label(str(v))}"' for k, v in labels.items())
            lines.append(f"{name}{{{inner}}} {format_value(value)}")
        else:
            lines.append(f"{name} {format_value(value)}")

    def collector_health(self, name: str, errors: Sequence[str] = ()) -> None:
        """``vigil_collector_up`` for collector ``name`` (0 when anything failed) and, when
        something did, ``vigil_collector_last_error_info`` with the reasons."""
        self.sample("vigil_collector_up", 0 if errors else 1, {"collector": name},
                    help_text="Whether the collector could collect everything")
        if errors:
            self.sample("vigil_collector_last_error_info", 1,
                        {"collector": name, "error": "; ".join(errors)[:MAX_ERROR_LEN]},
                        help_text="Why the last collection failed")

    def text(self) -> str:
        out: list[str] = []
        for name, (kind, help_text, lines) in self._families.items():
            if not lines:
                continue
            out.append(f"# HELP {name} {_escape_help(help_text)}")
            out.append(f"# TYPE {name} {kind}")
            out.extend(lines)
        return "\n".join(out) + "\n"
