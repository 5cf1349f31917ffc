"""Slack incoming webhooks (Alertmanager's ``slack_configs``), as Block Kit messages.

A message is a header (status emoji and title), one section and one context block per
alert (labels and annotations; runbook and source links) and a top-level ``text`` that
Slack shows in notifications and where blocks cannot be rendered. No attachments are used.

Slack's documented limits are enforced when the message is built, so a large group is
truncated rather than rejected: header plain text <= 150 characters, section text <= 3,000,
at most 50 blocks (alerts that do not fit are counted in a last "N more alerts" section
linking to ``<externalURL>/alerts``) and top-level text <= 40,000. Cut text ends in "…".

Slack answers 200 ``ok``; 400 ``invalid_payload``/``no_text``/``invalid_blocks``, 403, 404
``channel_not_found`` and 410 ``channel_is_archived`` are not worth retrying; 429 (with
``Retry-After``) and 5xx are. The webhook URL is a secret and never appears in errors.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx

from vigil.alerting.notify.integration import (
    notification_headers,
    raise_for_status,
    read_secret_file,
    register_integration,
)
from vigil.alerting.notify.templates import (
    AlertView,
    Notification,
    NotifyTemplate,
    RenderedIntegration,
    default_title,
    maybe_template,
    render_or,
)
from vigil.config.model import SlackConfig
from vigil.errors import NotifyError
from vigil.gocompat.times import format_go_time

__all__ = ["MAX_BLOCKS", "MAX_HEADER", "MAX_SECTION_TEXT", "MAX_TEXT", "Slack", "severity_rank"]

MAX_BLOCKS = 50
MAX_HEADER = 150
MAX_SECTION_TEXT = 3000
MAX_TEXT = 40000

# Most to least urgent; anything else ranks after "info".
_SEVERITIES = ("critical", "error", "warning", "info")
_EMOJI = {"critical": ":rotating_light:", "error": ":red_circle:", "warning": ":warning:",
          "info": ":information_source:"}


def severity_rank(alert: AlertView) -> int:
    """0 for the most urgent ``severity`` label (critical) up to len(_SEVERITIES) for none."""
    sev = alert.labels.get("severity", "").lower()
    return _SEVERITIES.index(sev) if sev in _SEVERITIES else len(_SEVERITIES)


def cut(text: str, limit: int) -> str:
    """``text`` shortened to at most ``limit`` characters, ending in "…" when cut."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def mrkdwn_escape(text: str) -> str:
    """Slack's three control characters, escaped as Slack documents."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _link(url: str, text: str) -> str:
    return f"<{mrkdwn_escape(url)}|{mrkdwn_escape(text)}>"


def status_emoji(n: Notification) -> str:
    if n.status == "resolved":
        return ":white_check_mark:"
    worst = min(n.firing, key=severity_rank)
    return _EMOJI.get(worst.labels.get("severity", "").lower(), ":bell:")


@dataclass
class Slack(RenderedIntegration):
    """One entry of a receiver's ``slack_configs``. Safe to share between threads."""

    name: str
    config: SlackConfig
    # (file name, text) of template files the texts may call ({{template "x" .}}).
    library: Sequence[tuple[str, str]] = ()
    _title: NotifyTemplate | None = field(init=False)
    _text: NotifyTemplate | None = field(init=False)
    _extra: dict[str, NotifyTemplate] = field(init=False)

    def __post_init__(self) -> None:
        c = self.config
        self._title = maybe_template(c.title, f"{self.name}.title", library=self.library)
        self._text = maybe_template(c.text, f"{self.name}.text", library=self.library)
        self._extra = {k: NotifyTemplate(v, f"{self.name}.{k}", library=self.library) for k, v in
                       (("channel", c.channel), ("username", c.username),
                        ("icon_emoji", c.icon_emoji)) if v is not None}

    def render(self, n: Notification) -> dict[str, Any]:
        title = render_or(self._title, n, default_title)
        blocks: list[dict[str, Any]] = [{
            "type": "header",
            "text": {"type": "plain_text", "text": cut(f"{status_emoji(n)} {title}", MAX_HEADER),
                     "emoji": True},
        }]
        if self._text is not None:
            text = self._text.render(n)
            if text.strip():  # Slack refuses an empty section; the header still says it all
                blocks.append(_section(text))
            fallback = f"{title}\n{text}"
        else:
            ordered = n.firing + n.resolved
            # Two blocks per alert; keep one for the "more alerts" line if not all fit.
            room = (MAX_BLOCKS - len(blocks)) // 2
            if len(ordered) > room:
                room = (MAX_BLOCKS - len(blocks) - 1) // 2
            for alert in ordered[:room]:
                blocks += _alert_blocks(alert)
            left = len(ordered) - room
            if left > 0:
                more = f"_{left} more alert{'s' if left != 1 else ''}"
                if n.external_url:
                    more += f" — see {_link(n.alerts_url, n.alerts_url)}"
                blocks.append(_section(more + "_"))
            fallback = "\n".join([title] + [f"{a.status}: {a.summary}" for a in ordered])
        message: dict[str, Any] = {"text": cut(fallback, MAX_TEXT), "blocks": blocks}
        for key, tmpl in self._extra.items():
            value = tmpl.render(n).strip()
            if value:
                message[key] = value
        return message

    async def send(self, client: httpx.AsyncClient, payload: dict[str, Any], *,
                   notification_id: str = "") -> None:
        target = f"Slack webhook ({self.name})"
        url = self.config.api_url
        if url is None:
            assert self.config.api_url_file is not None  # the config demands one of the two
            url = read_secret_file(f"{self.name} api_url_file", self.config.api_url_file)
        try:
            resp = await client.post(url, json=payload, timeout=self.config.timeout,
                                     headers=notification_headers(notification_id))
        except httpx.HTTPError as exc:
            # str(exc) of httpx's transport errors does not include the URL.
            raise NotifyError(f"POST {target}: {type(exc).__name__}: {exc}",
                              recoverable=True) from None
        raise_for_status(resp, target=target)


def _section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": cut(text, MAX_SECTION_TEXT)}}


def _alert_blocks(a: AlertView) -> list[dict[str, Any]]:
    icon = ":white_check_mark:" if a.status == "resolved" else _EMOJI.get(
        a.labels.get("severity", "").lower(), ":bell:")
    lines = [f"{icon} *{mrkdwn_escape(a.summary)}*"]
    if a.annotations.get("description"):
        lines.append(mrkdwn_escape(a.annotations["description"]))
    for k, v in sorted(a.annotations.items()):
        if k not in ("summary", "description", "runbook_url"):
            lines.append(f"*{mrkdwn_escape(k)}:* {mrkdwn_escape(v)}")
    lines.append(" ".join(f"`{mrkdwn_escape(k)}={mrkdwn_escape(v)}`"
                          for k, v in sorted(a.labels.items())))
    context = [f"Started {format_go_time(a.starts_at)}"]
    if a.ends_at is not None:
        context.append(f"ended {format_go_time(a.ends_at)}")
    if a.annotations.get("runbook_url"):
        context.append(_link(a.annotations["runbook_url"], "Runbook"))
    if a.generator_url:
        context.append(_link(a.generator_url, "Source"))
    return [_section("\n".join(lines)),
            {"type": "context",
             "elements": [{"type": "mrkdwn", "text": cut(" · ".join(context), MAX_SECTION_TEXT)}]}]


register_integration("slack", "slack_configs", Slack)
