"""Grafana field options to Perses plugin settings: units, decimals, colours, thresholds,
min/max and reducers (used by :mod:`vigil.dashboards.grafana_panels`).

Grafana keeps these in a panel's ``fieldConfig.defaults`` (schema 16+ panels since 7.0) or,
for the old ``graph`` and ``singlestat`` panels, in their own fields (``yaxes[].format``,
``format``, ``thresholds``, ``colors``). Everything here is a pure function of the Grafana
JSON; what cannot be carried over is said in the ``notes`` list passed in, so the import's
summary can show it.
"""

from __future__ import annotations

import re
from typing import Any

__all__ = ["CALCULATIONS", "color_hex", "format_spec", "graph_thresholds", "perses_calculation",
           "perses_unit", "singlestat_thresholds", "thresholds_spec"]

# Grafana unit id -> Perses format unit. Grafana's "percent" is 0..100 and "percentunit" 0..1,
# as Perses's "percent" and "percent-decimal".
_UNITS: dict[str, str] = {
    "short": "decimal", "none": "decimal", "": "decimal", "locale": "decimal", "sishort": "decimal",
    "percent": "percent", "percentunit": "percent-decimal",
    "bytes": "bytes", "decbytes": "decbytes", "kbytes": "kilobytes", "deckbytes": "kilobytes",
    "mbytes": "megabytes", "decmbytes": "megabytes", "gbytes": "gigabytes", "decgbytes": "gigabytes",
    "tbytes": "terabytes", "dectbytes": "terabytes", "pbytes": "petabytes", "decpbytes": "petabytes",
    "bits": "bits", "decbits": "decbits",
    "Bps": "bytes/sec", "binBps": "bytes/sec", "decBps": "decbytes/sec",
    "bps": "bits/sec", "binbps": "bits/sec", "decbps": "decbits/sec",
    "KBs": "kilobytes/sec", "MBs": "megabytes/sec", "GBs": "gigabytes/sec",
    "ns": "nanoseconds", "µs": "microseconds", "us": "microseconds", "ms": "milliseconds",
    "s": "seconds", "m": "minutes", "h": "hours", "d": "days",
    "dtdurations": "seconds", "dtdurationms": "milliseconds",
    "ops": "ops/sec", "opm": "ops/sec", "iops": "ops/sec", "reqps": "requests/sec",
    "rps": "reads/sec", "wps": "writes/sec", "pps": "packets/sec", "cps": "counts/sec",
    "eps": "events/sec", "mps": "messages/sec", "recps": "records/sec", "rowsps": "rows/sec",
    "celsius": "celsius", "fahrenheit": "fahrenheit",
    "currencyUSD": "usd", "currencyEUR": "eur", "currencyGBP": "gbp",
}
# Grafana units with a per-minute sense or no Perses twin are shown as plain numbers.
_AS_DECIMAL = {"hertz", "rotrpm", "bool", "bool_yes_no", "bool_on_off", "watt", "kwatt",
               "volt", "amp", "lengthm", "velocityms", "humidity", "pressurehpa", "ppm"}

# Grafana reducer id (reduceOptions.calcs, legend calcs, singlestat valueName) -> Perses calculation.
CALCULATIONS: dict[str, str] = {
    "lastNotNull": "last-number", "last": "last", "firstNotNull": "first-number", "first": "first",
    "mean": "mean", "avg": "mean", "sum": "sum", "total": "sum", "min": "min", "max": "max",
    "current": "last-number",
}

# Grafana's named palette colours (its visualisation colours), as hex.
_NAMED_COLORS: dict[str, str] = {}
for _hue, _shades in {
    "green": ("#37872D", "#56A64B", "#73BF69", "#96D98D", "#C8F2C2"),
    "yellow": ("#E0B400", "#F2CC0C", "#FADE2A", "#FFEE52", "#FFF899"),
    "red": ("#C4162A", "#E02F44", "#F2495C", "#FF7383", "#FFA6B0"),
    "blue": ("#1F60C4", "#3274D9", "#5794F2", "#8AB8FF", "#C0D8FF"),
    "orange": ("#FA6400", "#FF780A", "#FF9830", "#FFB357", "#FFCB7D"),
    "purple": ("#8F3BB8", "#A352CC", "#B877D9", "#CA95E5", "#DEB6F2"),
}.items():
    for _prefix, _hex in zip(("dark-", "semi-dark-", "", "light-", "super-light-"), _shades, strict=True):
        _NAMED_COLORS[_prefix + _hue] = _hex
_NAMED_COLORS.update({"white": "#FFFFFF", "black": "#000000", "text": "#CCCCDC", "transparent": "#00000000",
                      "gray": "#808080", "grey": "#808080"})
# The old graph panel's threshold colour modes.
_GRAPH_THRESHOLD_COLORS = {"critical": "#F2495C", "warning": "#FF9830", "ok": "#73BF69"}

_HEX = re.compile(r"#(?:[0-9a-fA-F]{3}|[0-9a-fA-F]{6}|[0-9a-fA-F]{8})")
_RGB = re.compile(r"rgba?\(\s*(\d{1,3})\s*,\s*(\d{1,3})\s*,\s*(\d{1,3})\s*(?:,\s*[\d.]+\s*)?\)")


def color_hex(color: Any) -> str | None:
    """A Grafana colour (palette name, ``#hex``, ``rgb()``/``rgba()``) as ``#RRGGBB`` (or the
    hex given); None when it is not a colour Vigil can read. ``rgba``'s alpha is dropped: Grafana
    dashboards use it for softer shades, and Vigil draws thresholds opaque."""
    if not isinstance(color, str):
        return None
    text = color.strip()
    if _HEX.fullmatch(text):
        return text
    if m := _RGB.fullmatch(text):
        r, g, b = (min(255, int(v)) for v in m.groups())
        return f"#{r:02X}{g:02X}{b:02X}"
    return _NAMED_COLORS.get(text.lower())


def perses_unit(unit: Any, notes: list[str], where: str) -> str | None:
    """The Perses unit for a Grafana unit id; None when the panel had none. A unit with no
    Perses twin becomes ``decimal`` with a note naming it."""
    if unit is None:
        return None
    if not isinstance(unit, str):
        notes.append(f"{where}: unit {unit!r} is not a string; shown as a plain number")
        return "decimal"
    if unit in _UNITS:
        return _UNITS[unit]
    if unit not in _AS_DECIMAL:
        notes.append(f"{where}: unit {unit!r} has no Vigil equivalent; shown as a plain number")
    return "decimal"


def format_spec(unit: Any, decimals: Any, notes: list[str], where: str) -> dict[str, Any] | None:
    """Perses ``format`` ({unit, decimalPlaces}) from a Grafana unit and decimals, or None when
    the panel sets neither."""
    spec: dict[str, Any] = {}
    perses = perses_unit(unit, notes, where)
    if perses is not None:
        spec["unit"] = perses
    if isinstance(decimals, int | float) and not isinstance(decimals, bool) and decimals >= 0:
        spec["decimalPlaces"] = int(decimals)
        spec.setdefault("unit", "decimal")
    return spec or None


def perses_calculation(calcs: Any, notes: list[str], where: str) -> str:
    """The Perses calculation for Grafana's reducers (the first one counts); ``last-number``
    (Grafana's default, lastNotNull) when there is none or it has no Perses twin."""
    first = calcs[0] if isinstance(calcs, list) and calcs else calcs
    if first in (None, ""):
        return "last-number"
    if isinstance(first, str) and first in CALCULATIONS:
        return CALCULATIONS[first]
    notes.append(f"{where}: reducer {first!r} is not supported; the last value is shown")
    return "last-number"


def thresholds_spec(thresholds: Any, notes: list[str], where: str) -> dict[str, Any] | None:
    """Perses thresholds from Grafana's ``{mode, steps: [{color, value}]}``: the base step
    (value null or absent) is the default colour, the others steps in ascending order."""
    if not isinstance(thresholds, dict):
        return None
    steps_in = thresholds.get("steps")
    if not isinstance(steps_in, list):
        return None
    spec: dict[str, Any] = {}
    if thresholds.get("mode") == "percentage":
        spec["mode"] = "percent"
    steps: list[dict[str, Any]] = []
    for step in steps_in:
        if not isinstance(step, dict):
            continue
        color = color_hex(step.get("color"))
        if step.get("color") is not None and color is None:
            notes.append(f"{where}: threshold colour {step.get('color')!r} not understood; default colour used")
        value = step.get("value")
        if value is None:
            if color is not None:
                spec["defaultColor"] = color
            continue
        if not isinstance(value, int | float) or isinstance(value, bool):
            notes.append(f"{where}: threshold value {value!r} is not a number; dropped")
            continue
        steps.append({"value": value} | ({"color": color} if color else {}))
    if not steps:
        return None  # a lone base colour draws no line and colours nothing Vigil shows
    spec["steps"] = sorted(steps, key=lambda s: s["value"])
    return spec


def singlestat_thresholds(text: Any, colors: Any, notes: list[str], where: str) -> dict[str, Any] | None:
    """Perses thresholds from the old singlestat/gauge fields: ``thresholds: "80,90"`` and
    ``colors: [base, above 80, above 90]``."""
    if isinstance(text, list):
        text = ",".join(str(v) for v in text)
    if not isinstance(text, str) or not text.strip():
        return None
    palette = [color_hex(c) for c in colors] if isinstance(colors, list) else []
    steps: list[dict[str, Any]] = []
    for i, part in enumerate(text.split(",")):
        try:
            value = float(part)
        except ValueError:
            notes.append(f"{where}: threshold {part.strip()!r} is not a number; dropped")
            continue
        color = palette[i + 1] if i + 1 < len(palette) else None
        steps.append({"value": int(value) if value.is_integer() else value} | ({"color": color} if color else {}))
    if not steps:
        return None
    spec: dict[str, Any] = {"steps": steps}
    if palette and palette[0]:
        spec["defaultColor"] = palette[0]
    return spec


def graph_thresholds(thresholds: Any, notes: list[str], where: str) -> dict[str, Any] | None:
    """Perses thresholds from the old graph panel's ``[{value, op, colorMode, lineColor}]``."""
    if not isinstance(thresholds, list):
        return None
    steps = []
    for t in thresholds:
        if not isinstance(t, dict) or not isinstance(t.get("value"), int | float):
            continue
        mode = t.get("colorMode")
        color = color_hex(t.get("lineColor")) if mode == "custom" else _GRAPH_THRESHOLD_COLORS.get(str(mode))
        if t.get("op") == "lt":
            notes.append(f"{where}: a 'below {t['value']}' threshold is drawn as a line at {t['value']}")
        steps.append({"value": t["value"]} | ({"color": color} if color else {}))
    return {"steps": sorted(steps, key=lambda s: s["value"])} if steps else None
