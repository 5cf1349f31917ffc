"""Notification texts: Alertmanager's template data, Go-template overrides and Vigil's defaults.

A flush becomes a :class:`Notification` (plain Python, used by the default texts) which
:meth:`Notification.template_data` turns into the value Alertmanager templates see:

    .Receiver .Status .Alerts .Alerts.Firing .Alerts.Resolved .GroupLabels .CommonLabels
    .CommonAnnotations .ExternalURL .GroupKey
    each alert: .Status .Labels .Annotations .StartsAt .EndsAt .GeneratorURL .Fingerprint

Overrides are Go ``text/template`` (:mod:`vigil.gocompat.template`, with Go's builtins) with
Alertmanager's functions ``toUpper toLower title trimSpace join match reReplaceAll safeHtml
stringSlice humanizeDuration`` registered. Label sets are maps (``.CommonLabels.severity``,
``range $k, $v := .CommonLabels``) that also have Alertmanager's methods ``.SortedPairs``,
``.Names``, ``.Values`` and ``.Remove`` (:class:`KV`). Named templates
(``{{define}}``/``{{template}}``/``{{block}}``) work; files given as ``library`` to
:class:`NotifyTemplate` supply them.
``.Alerts.Firing`` and ``.Alerts.Resolved`` are methods of a slice in Go, which the engine
cannot express, so the template text is rewritten to read two extra fields instead.

Rendering never raises: a template that fails renders as ``<error expanding template: ...>``
(as Prometheus does) so that the notification still goes out.
"""

from __future__ import annotations

import html
import logging
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from vigil.alerting.notify.payload import common_labels
from vigil.errors import ConfigError
from vigil.gocompat.template import GoStruct, Template, TemplateError
from vigil.gocompat.times import format_go_time
from vigil.model.alert import Alert
from vigil.model.labels import Labels
from vigil.rules.template import humanize_duration, re_replace_all, title

__all__ = ["AlertView", "Notification", "NotifyTemplate", "RenderedIntegration", "default_html", "default_text",
           "default_title", "load_template_files", "notification"]

log = logging.getLogger(__name__)

# `.Alerts.Firing` -> a field of the root; see the module docstring.
_UNDEFINED_TEMPLATE = re.compile(r': template "[^"]*" not defined$')
_ALERTS_METHOD = re.compile(r"\.Alerts\.(Firing|Resolved)\b")


@dataclass(frozen=True)
class AlertView:
    status: str  # "firing" or "resolved", as of the flush
    labels: dict[str, str]
    annotations: dict[str, str]
    starts_at: datetime
    ends_at: datetime | None  # None while firing
    generator_url: str
    fingerprint: str

    @property
    def summary(self) -> str:
        """One line: the ``summary`` annotation, else the alert name and its other labels."""
        if self.annotations.get("summary"):
            return self.annotations["summary"]
        name = self.labels.get("alertname", "alert")
        rest = " ".join(f"{k}={v}" for k, v in sorted(self.labels.items()) if k != "alertname")
        return f"{name} {rest}".strip()


@dataclass(frozen=True)
class Notification:
    """Everything a flush tells a receiver, before any wire format."""

    receiver: str
    status: str  # "firing" if any alert fires, else "resolved"
    alerts: list[AlertView]
    group_key: str
    group_labels: dict[str, str]
    common_labels: dict[str, str]
    common_annotations: dict[str, str]
    external_url: str
    now: datetime  # the flush time

    @property
    def firing(self) -> list[AlertView]:
        return [a for a in self.alerts if a.status == "firing"]

    @property
    def resolved(self) -> list[AlertView]:
        return [a for a in self.alerts if a.status == "resolved"]

    @property
    def alerts_url(self) -> str:
        return self.external_url.rstrip("/") + "/alerts"

    def template_data(self, escape: Callable[[str], str] = str) -> GoStruct:
        """The value Go templates run on; ``escape`` is applied to every string (HTML)."""

        def kv(d: dict[str, str]) -> KV:
            return KV({k: escape(v) for k, v in d.items()})

        def alert(a: AlertView) -> GoStruct:
            return _AlertData(Status=a.status, Labels=kv(a.labels), Annotations=kv(a.annotations),
                              StartsAt=format_go_time(a.starts_at), EndsAt=format_go_time(a.ends_at),
                              GeneratorURL=escape(a.generator_url), Fingerprint=a.fingerprint)

        return _Data(
            Receiver=escape(self.receiver), Status=self.status,
            Alerts=[alert(a) for a in self.alerts],
            Alerts_Firing=[alert(a) for a in self.firing],
            Alerts_Resolved=[alert(a) for a in self.resolved],
            GroupLabels=kv(self.group_labels), CommonLabels=kv(self.common_labels),
            CommonAnnotations=kv(self.common_annotations),
            ExternalURL=escape(self.external_url), GroupKey=escape(self.group_key),
        )


class _Pair(GoStruct):
    type_name = "template.Pair"


class Pairs(list):  # type: ignore[type-arg]
    """Alertmanager's ``template.Pairs``: a list of ``.Name``/``.Value`` with ``Names``/``Values``."""

    go_methods = {"Names": "names", "Values": "values"}

    def names(self) -> list[str]:
        return [p["Name"] for p in self]

    def values(self) -> list[str]:
        return [p["Value"] for p in self]


class KV(dict):  # type: ignore[type-arg]
    """Alertmanager's ``template.KV`` (a label set in templates): a map that also has the
    methods ``SortedPairs``, ``Names``, ``Values`` (sorted by name) and ``Remove``."""

    go_methods = {"SortedPairs": "sorted_pairs", "Names": "names", "Values": "values", "Remove": "remove"}

    def sorted_pairs(self) -> Pairs:
        return Pairs(_Pair(Name=k, Value=self[k]) for k in sorted(self))

    def names(self) -> list[str]:
        return sorted(self)

    def values(self) -> list[str]:
        return [self[k] for k in sorted(self)]

    def remove(self, keys: Any) -> KV:
        if not isinstance(keys, (list, tuple)):
            raise ValueError("Remove wants a list of names")
        drop = set(keys)
        return KV({k: v for k, v in self.items() if k not in drop})


class _Data(GoStruct):
    type_name = "*template.Data"


class _AlertData(GoStruct):
    type_name = "template.Alert"


def notification(*, receiver: str, group_key: str, group_labels: Labels, alerts: list[Alert],
                 now: datetime, external_url: str) -> Notification:
    """The notification for ``alerts`` as of ``now`` (which decides firing vs resolved)."""
    views = [
        AlertView(status="resolved" if a.resolved(now) else "firing", labels=a.labels.to_dict(),
                  annotations=a.annotations.to_dict(), starts_at=a.starts_at,
                  ends_at=a.ends_at if a.resolved(now) else None,
                  generator_url=a.generator_url, fingerprint=a.fingerprint())
        for a in alerts
    ]
    return Notification(
        receiver=receiver, status="firing" if any(v.status == "firing" for v in views) else "resolved",
        alerts=views, group_key=group_key, group_labels=group_labels.to_dict(),
        common_labels=common_labels([a.labels for a in alerts]),
        common_annotations=common_labels([a.annotations for a in alerts]),
        external_url=external_url, now=now)


def _join(sep: Any, items: Any) -> str:
    if not isinstance(sep, str) or not isinstance(items, (list, tuple)):
        raise ValueError("join wants a separator string and a list")
    return sep.join(str(i) for i in items)


def _funcs() -> dict[str, Callable[..., Any]]:
    def want_str(v: Any) -> str:
        if not isinstance(v, str):
            raise ValueError("expected a string")
        return v

    return {
        "toUpper": lambda s: want_str(s).upper(), "toLower": lambda s: want_str(s).lower(),
        "title": title, "trimSpace": lambda s: want_str(s).strip(), "join": _join,
        "match": lambda p, s: re.search(want_str(p), want_str(s)) is not None,
        "reReplaceAll": re_replace_all, "safeHtml": want_str,
        "stringSlice": lambda *s: list(s), "humanizeDuration": humanize_duration,
    }


class NotifyTemplate:
    """One overridable text (a Slack title, an e-mail body ...), parsed once at config time.

    ``name`` identifies it in error messages (``slack/0.title``). With ``html=True`` every
    string of the data is HTML-escaped before the template sees it (Alertmanager uses Go's
    ``html/template``; this engine does not escape by itself). Thread-safe.
    """

    def __init__(self, text: str, name: str, *, html: bool = False,
                 library: Sequence[tuple[str, str]] = ()) -> None:
        """``library`` is ``(file name, text)`` of template files whose ``{{define}}``-d
        templates ``{{template "name" .}}`` may call (Alertmanager's ``templates:``)."""
        self.source = text
        self.name = name
        self.html = html
        self._error: str | None = None
        self._tmpl: Template | None = None
        if "{{" in text:
            try:
                self._tmpl = Template(name, _ALERTS_METHOD.sub(r".Alerts_\1", text), _funcs())
                for file_name, file_text in library:
                    self._tmpl.add(file_name, _ALERTS_METHOD.sub(r".Alerts_\1", file_text))
            except TemplateError as exc:
                # Reported at every render rather than breaking the whole receiver.
                self._error = str(exc)
                log.error("notification template %s: %s", name, exc)

    def error_for(self, n: Notification) -> str | None:
        """The error rendering ``n`` would meet (a parse error, a missing field or function
        result), or None: for checking a template against sample data at load time."""
        if self._error is not None:
            return self._error
        if self._tmpl is None:
            return None
        try:
            self._tmpl.execute(n.template_data(html.escape if self.html else str))
        except TemplateError as exc:
            return str(exc)
        return None

    def render(self, n: Notification, fallback: Callable[[Notification], str] | None = None) -> str:
        """The text for ``n``. If the template calls a named template that no file defines,
        the error is logged and ``fallback(n)`` (the integration's default text) is used when
        given, so a missing/renamed template file does not garble the notification; other
        errors render as ``<error expanding template: ...>``."""
        if self._error is not None:
            return f"<error expanding template: {self._error}>"
        if self._tmpl is None:
            return self.source
        try:
            return self._tmpl.execute(n.template_data(html.escape if self.html else str))
        except TemplateError as exc:
            log.warning("notification template %s: %s", self.name, exc)
            if fallback is not None and _UNDEFINED_TEMPLATE.search(str(exc)):
                return fallback(n)
            return f"<error expanding template: {exc}>"


def render_or(tmpl: NotifyTemplate | None, n: Notification, default: Callable[[Notification], str]) -> str:
    """The override's text if configured, else ``default(n)``."""
    return tmpl.render(n, default) if tmpl is not None else default(n)


def maybe_template(text: str | None, name: str, *, html: bool = False,
                   library: Sequence[tuple[str, str]] = ()) -> NotifyTemplate | None:
    return None if text is None else NotifyTemplate(text, name, html=html, library=library)


def load_template_files(paths: Sequence[str]) -> list[tuple[str, str]]:
    """Read and check Alertmanager template files: ``(path, text)`` in the given order.

    Raises :class:`~vigil.errors.ConfigError` naming the file (``template: PATH:LINE:
    message``) if one cannot be read or does not parse, so a bad file fails config loading.
    """
    out: list[tuple[str, str]] = []
    for path in paths:
        try:
            with open(path, encoding="utf-8") as f:
                text = f.read()
            Template(path, "", _funcs()).add(path, _ALERTS_METHOD.sub(r".Alerts_\1", text))
        except OSError as exc:
            raise ConfigError(f"{path}: cannot read template file: {exc.strerror}") from None
        except TemplateError as exc:
            raise ConfigError(str(exc)) from None
        out.append((path, text))
    return out


# ---------------------------------------------------------------- defaults


def default_title(n: Notification) -> str:
    """Alertmanager's default title: ``[FIRING:2] HighCPU (warning)``: the group labels'
    values, then in parentheses the other common labels' values, each sorted by name."""
    status = f"FIRING:{len(n.firing)}" if n.status == "firing" else "RESOLVED"
    parts = [f"[{status}]", *(v for _, v in sorted(n.group_labels.items()))]
    if len(n.common_labels) > len(n.group_labels):
        rest = [v for k, v in sorted(n.common_labels.items()) if k not in n.group_labels]
        parts.append("(" + " ".join(rest) + ")")
    # Unlike Alertmanager's template, no double space when there are no group labels.
    return " ".join(parts)


def _pairs(d: dict[str, str]) -> str:
    return ", ".join(f"{k}={v}" for k, v in sorted(d.items()))


def default_text(n: Notification) -> str:
    """A plain-text body listing every alert with its labels, annotations and links."""
    lines = [default_title(n), ""]
    for heading, alerts in (("Firing", n.firing), ("Resolved", n.resolved)):
        if not alerts:
            continue
        lines.append(f"{heading} alerts ({len(alerts)}):")
        for a in alerts:
            lines.append(f"- {a.summary}")
            lines.append(f"  Labels: {_pairs(a.labels)}")
            for k, v in sorted(a.annotations.items()):
                if k != "summary":
                    lines.append(f"  {k}: {v}")
            lines.append(f"  Started: {format_go_time(a.starts_at)}")
            if a.ends_at is not None:
                lines.append(f"  Ended: {format_go_time(a.ends_at)}")
            if a.generator_url:
                lines.append(f"  Source: {a.generator_url}")
        lines.append("")
    if n.external_url:
        lines.append(f"All alerts: {n.alerts_url}")
    return "\n".join(lines).rstrip() + "\n"


def default_html(n: Notification) -> str:
    """An HTML body with the same content as :func:`default_text`; every value is escaped."""
    e = html.escape
    parts = ["<!DOCTYPE html>\n<html><body style=\"font-family:sans-serif\">",
             f"<h2>{e(default_title(n))}</h2>"]
    for heading, alerts, colour in (("Firing", n.firing, "#d00000"),
                                    ("Resolved", n.resolved, "#2a8a2a")):
        if not alerts:
            continue
        parts.append(f"<h3 style=\"color:{colour}\">{heading} alerts ({len(alerts)})</h3>")
        for a in alerts:
            parts.append(f"<h4>{e(a.summary)}</h4><table>")
            rows = [("Labels", _pairs(a.labels))]
            rows += [(k, v) for k, v in sorted(a.annotations.items()) if k != "summary"]
            rows.append(("Started", format_go_time(a.starts_at)))
            if a.ends_at is not None:
                rows.append(("Ended", format_go_time(a.ends_at)))
            parts += [f"<tr><th align=\"left\">{e(k)}</th><td>{e(v)}</td></tr>" for k, v in rows]
            parts.append("</table>")
            if a.generator_url:
                parts.append(f"<p><a href=\"{e(a.generator_url)}\">Source</a></p>")
    if n.external_url:
        parts.append(f"<p><a href=\"{e(n.alerts_url)}\">All alerts in Vigil</a></p>")
    parts.append("</body></html>\n")
    return "\n".join(parts)


class RenderedIntegration:
    """Base of the integrations whose payload is rendered from a :class:`Notification`
    (Slack, PagerDuty, e-mail): the flush becomes Alertmanager's template data once, and
    each subclass says only how to turn it into its wire format, in :meth:`render`."""

    config: Any  # has send_resolved

    @property
    def send_resolved(self) -> bool:
        return bool(self.config.send_resolved)

    def build(self, *, receiver: str, group_key: str, group_labels: Labels, alerts: list[Alert],
              now: datetime, external_url: str) -> dict[str, Any]:
        return self.render(notification(receiver=receiver, group_key=group_key,
                                        group_labels=group_labels, alerts=alerts, now=now,
                                        external_url=external_url))

    def render(self, n: Notification) -> dict[str, Any]:
        raise NotImplementedError
