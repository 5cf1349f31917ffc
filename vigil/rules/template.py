"""Prometheus alert templates: Go ``text/template`` syntax with Prometheus's functions.

An alerting rule's label and annotation values are templates, expanded once per alert and
evaluation with ``$labels`` (the series' labels), ``$value`` (its float value),
``$externalLabels`` and ``$externalURL`` (also reachable as ``.Labels``, ``.Value``,
``.ExternalLabels``, ``.ExternalURL``). Functions are Prometheus's (``template/template.go``):
``humanize humanize1024 humanizeDuration humanizePercentage humanizeTimestamp title toUpper
toLower reReplaceAll match stripPort stripDomain query first label value strvalue sortByLabel
args safeHtml parseDuration graphLink tableLink externalURL pathPrefix`` plus the Go
builtins (``printf``, ``eq``/``lt``/..., ``and``/``or``/``not``, ``len``, ``index``).

:func:`expand_alert_text` never raises: like Prometheus, a template that fails expands to
``<error expanding template: ...>`` so the alert is still sent.
"""

from __future__ import annotations

import math
import re
import threading
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta, timezone
from typing import Any
from urllib.parse import quote_plus, urlsplit

from vigil.gocompat.durations import parse_duration_ms
from vigil.gocompat.floats import format_float, format_float_v
from vigil.gocompat.quote import quote
from vigil.gocompat.template import GoStruct, Template, TemplateError, go_type
from vigil.gocompat.times import format_go_time
from vigil.model.labels import Labels

__all__ = ["AlertTemplate", "TemplateError", "TemplateQuery", "check_alert_template",
           "humanize_duration", "re_replace_all", "title"]

TemplateQuery = Callable[[str], list[tuple[Labels, float]]]
"""Runs an instant PromQL query (text) for the ``query`` template function: returns each
sample's labels and value. Raises on a bad query; the template shows the error."""

# Prometheus prepends these so users can write $labels instead of .Labels.
_DEFS = ("{{$labels := .Labels}}{{$externalLabels := .ExternalLabels}}"
         "{{$externalURL := .ExternalURL}}{{$value := .Value}}")


class _Sample(GoStruct):
    type_name = "*template.sample"


class _Data(GoStruct):
    type_name = ("struct { Labels map[string]string; ExternalLabels map[string]string; "
                 "ExternalURL string; Value interface {} }")


_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


def _g4(x: float) -> str:
    """Go's ``%.4g``, the precision every humanize function prints with."""
    return format_float(x, "g", 4)


def _to_float(v: Any) -> float:
    """Prometheus ``convertToFloat``: floats, ints and numeric strings."""
    if isinstance(v, bool):
        raise ValueError("can't convert bool to float")
    if isinstance(v, (int, float)):
        return float(v)
    if isinstance(v, str):
        if v != v.strip() or not v:
            raise ValueError(f"strconv.ParseFloat: parsing {quote(v)}: invalid syntax")
        try:
            return float(v.replace("_", "") if "_" in v and v.lower().startswith("0x") else v)
        except ValueError:
            raise ValueError(f"strconv.ParseFloat: parsing {quote(v)}: invalid syntax") from None
    raise ValueError(f"can't convert {go_type(v)} to float")


def _want_str(v: Any) -> str:
    if not isinstance(v, str):
        raise ValueError(f"wrong type for value; expected string; got {go_type(v)}")
    return v


def humanize(v: Any) -> str:
    """SI prefixes, 4 significant digits: ``1234567`` -> ``1.235M``, ``0.001`` -> ``1m``."""
    x = _to_float(v)
    if x == 0 or math.isnan(x) or math.isinf(x):
        return _g4(x)
    prefix = ""
    if abs(x) >= 1:
        for p in ("k", "M", "G", "T", "P", "E", "Z", "Y"):
            if abs(x) < 1000:
                break
            prefix, x = p, x / 1000
        return _g4(x) + prefix
    for p in ("m", "u", "n", "p", "f", "a", "z", "y"):
        if abs(x) >= 1:
            break
        prefix, x = p, x * 1000
    return _g4(x) + prefix


def humanize1024(v: Any) -> str:
    """Binary prefixes: ``1048576`` -> ``1Mi``."""
    x = _to_float(v)
    if abs(x) <= 1 or math.isnan(x) or math.isinf(x):
        return _g4(x)
    prefix = ""
    for p in ("ki", "Mi", "Gi", "Ti", "Pi", "Ei", "Zi", "Yi"):
        if abs(x) < 1024:
            break
        prefix, x = p, x / 1024
    return _g4(x) + prefix


def humanize_duration(v: Any) -> str:
    """Seconds as ``1d 2h 3m 4s`` (whole seconds from a minute up), ``1.5s``, ``20ms``."""
    x = _to_float(v)
    if math.isnan(x) or math.isinf(x):
        return _g4(x)
    if x == 0:
        return _g4(x) + "s"
    if abs(x) >= 1:
        sign = "-" if x < 0 else ""
        x = abs(x)
        d = int(x)
        secs, mins, hours, days = d % 60, (d // 60) % 60, (d // 3600) % 24, d // 86400
        if days:
            return f"{sign}{days}d {hours}h {mins}m {secs}s"
        if hours:
            return f"{sign}{hours}h {mins}m {secs}s"
        if mins:
            return f"{sign}{mins}m {secs}s"
        return f"{sign}{_g4(x)}s"
    prefix = ""
    for p in ("m", "u", "n", "p", "f", "a", "z", "y"):
        if abs(x) >= 1:
            break
        prefix, x = p, x * 1000
    return f"{_g4(x)}{prefix}s"


def humanize_percentage(v: Any) -> str:
    """A ratio as a percentage: ``0.1234`` -> ``12.34%``."""
    return _g4(_to_float(v) * 100) + "%"


def humanize_timestamp(v: Any) -> str:
    """Unix seconds as Go prints a UTC ``time.Time``: ``1970-01-01 00:00:01 +0000 UTC``.
    Prometheus's ``floatToTime`` keeps milliseconds (``model.TimeFromUnixNano``)."""
    x = _to_float(v)
    if math.isnan(x) or math.isinf(x):
        return _g4(x)
    ns = x * 1e9
    if ns > float(2**63 - 1) or ns < -float(2**63):
        raise ValueError(f"{format_float_v(x)} cannot be represented as a nanoseconds timestamp "
                         "since it overflows int64")
    whole_ns = int(ns)
    ms = abs(whole_ns) // 1_000_000 * (1 if whole_ns >= 0 else -1)  # Go divides toward zero
    return format_go_time(_EPOCH + timedelta(milliseconds=ms))


def title(v: Any) -> str:
    # Go strings.Title: upper-case letters that start a word; the rest is left alone.
    s, out, prev = _want_str(v), [], " "
    for ch in s:
        out.append(ch.upper() if not (prev.isalnum() or prev == "_") else ch)
        prev = ch
    return "".join(out)


def _go_expand(m: re.Match[str], repl: str) -> str:
    """Go ``Regexp.Expand``: ``$1``, ``${1}``, ``$name``, ``${name}``, ``$$``."""
    out, i = [], 0
    while i < len(repl):
        c = repl[i]
        if c != "$" or i + 1 >= len(repl):
            out.append(c)
            i += 1
            continue
        if repl[i + 1] == "$":
            out.append("$")
            i += 2
            continue
        br = re.match(r"\{([A-Za-z0-9_]+)\}", repl[i + 1:]) or re.match(r"([A-Za-z0-9_]+)", repl[i + 1:])
        if not br:
            out.append("$")
            i += 1
            continue
        name = br.group(1)
        i += 1 + br.end()
        if name.isdigit():
            idx = int(name)
            out.append((m.group(idx) or "") if idx <= (m.re.groups) else "")
        else:
            out.append(m.groupdict().get(name) or "")
    return "".join(out)


def re_replace_all(pattern: Any, repl: Any, text: Any) -> str:
    rx = re.compile(_want_str(pattern))
    r = _want_str(repl)
    return rx.sub(lambda m: _go_expand(m, r), _want_str(text))


def _first(v: Any) -> Any:
    if not isinstance(v, list) or not v:
        raise ValueError("first() called on vector with no elements")
    return v[0]


def _sample(v: Any) -> _Sample:
    if not isinstance(v, _Sample):
        raise ValueError(f"wrong type for value; expected *template.sample; got {go_type(v)}")
    return v


def _strip_port(v: Any) -> str:
    s = _want_str(v)
    m = re.fullmatch(r"\[([^\]]*)\]:\d*|([^:]*):\d*", s)
    if m:
        return m.group(1) if m.group(1) is not None else m.group(2)
    return s


def _strip_domain(v: Any) -> str:
    s = _want_str(v)
    port = ""
    m = re.fullmatch(r"(.*?)(:\d+)", s)
    if m and not s.startswith("["):
        s, port = m.group(1), m.group(2)
    if re.fullmatch(r"[\d.]+|\[.*\]", s):
        return s + port
    return s.split(".", 1)[0] + port


class AlertTemplate:
    """One label or annotation template of an alerting rule, parsed once.

    ``name`` is the template name in error messages (Prometheus uses ``__alert_<alertname>``).
    Construction raises :class:`TemplateError` when the text does not parse. Thread-safe:
    concurrent expansions of one template are serialised.
    """

    def __init__(self, text: str, name: str) -> None:
        self.source = text
        self.name = name
        self._static = "{{" not in text
        self._query: TemplateQuery | None = None
        self._external_url = ""
        self._lock = threading.Lock()
        if not self._static:
            self._tmpl = Template(name, _DEFS + text, self._funcs())

    def _funcs(self) -> dict[str, Callable[..., Any]]:
        def query(q: Any) -> list[_Sample]:
            if self._query is None:
                raise ValueError("query is not available here")
            return [_Sample(Labels=ls.to_dict(), Value=v) for ls, v in self._query(_want_str(q))]

        def sort_by_label(label: Any, v: Any) -> list[Any]:
            name = _want_str(label)
            return sorted(v, key=lambda s: _sample(s)["Labels"].get(name, ""))

        return {
            "humanize": humanize, "humanize1024": humanize1024,
            "humanizeDuration": humanize_duration, "humanizePercentage": humanize_percentage,
            "humanizeTimestamp": humanize_timestamp,
            "title": title, "toUpper": lambda s: _want_str(s).upper(),
            "toLower": lambda s: _want_str(s).lower(),
            "reReplaceAll": re_replace_all,
            "match": lambda p, s: re.search(_want_str(p), _want_str(s)) is not None,
            "stripPort": _strip_port, "stripDomain": _strip_domain,
            "safeHtml": _want_str,
            "query": query, "first": _first,
            "label": lambda name, s: _sample(s)["Labels"].get(_want_str(name), ""),
            "value": lambda s: _sample(s)["Value"],
            "strvalue": lambda s: _sample(s)["Labels"].get("__value__", ""),
            "sortByLabel": sort_by_label,
            "args": lambda *a: {f"arg{i}": x for i, x in enumerate(a)},
            "parseDuration": lambda s: parse_duration_ms(_want_str(s)) / 1000.0,
            "graphLink": lambda e: f"{self._external_url}/graph?g0.expr={quote_plus(_want_str(e), safe='')}&g0.tab=0",
            "tableLink": lambda e: f"{self._external_url}/graph?g0.expr={quote_plus(_want_str(e), safe='')}&g0.tab=1",
            "externalURL": lambda: self._external_url,
            "pathPrefix": lambda: urlsplit(self._external_url).path,
        }

    def expand(
        self,
        labels: Labels,
        value: float,
        *,
        external_labels: Mapping[str, str] | None = None,
        external_url: str = "",
        query: TemplateQuery | None = None,
    ) -> str:
        """The expanded text. Raises :class:`TemplateError` when execution fails."""
        if self._static:
            return self.source
        # The functions read the query and URL of the current call from self: one at a time.
        with self._lock:
            self._query, self._external_url = query, external_url
            try:
                data = _Data(Labels=labels.to_dict(), ExternalLabels=dict(external_labels or {}),
                             ExternalURL=external_url, Value=float(value))
                return self._tmpl.execute(data)
            finally:
                self._query = None


def expand_alert_text(tmpl: AlertTemplate, labels: Labels, value: float, **kw: Any) -> str:
    """Like :meth:`AlertTemplate.expand`, but a failure becomes Prometheus's error text."""
    try:
        return tmpl.expand(labels, value, **kw)
    except TemplateError as exc:
        return f"<error expanding template: error executing template {tmpl.name}: {exc}>"


def check_alert_template(text: str, name: str) -> None:
    """Raise :class:`TemplateError` if ``text`` does not parse as an alert template."""
    AlertTemplate(text, name)
