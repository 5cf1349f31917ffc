"""The acknowledge and resolve links of a notification, put where each kind of receiver
shows them (issue 16): webhooks get a top-level ``vigil`` field beside Alertmanager's
fields (which stay as they are), Slack a section with two links, e-mail a paragraph in the
text and HTML bodies. Other kinds (PagerDuty) keep their payload: their own tools
acknowledge.

The links are made by the on-call layer and handed to the dispatcher as a function
(:data:`ActionLinks`); this module only places them.
"""

from __future__ import annotations

import html
from collections.abc import Callable
from typing import Any

from vigil.alerting.notify.slack import MAX_BLOCKS, mrkdwn_escape

__all__ = ["ActionLinks", "with_action_links"]

# (group key, receiver, integration name) -> {"episode", "ack_url", "resolve_url"}.
ActionLinks = Callable[[str, str, str], dict[str, str | None]]


def with_action_links(integration: str, payload: dict[str, Any],
                      links: dict[str, str | None]) -> dict[str, Any]:
    """``payload`` of ``integration`` (``webhook/0``, ``slack/1``...) with ``links`` added."""
    kind = integration.partition("/")[0]
    ack, resolve = links.get("ack_url"), links.get("resolve_url")
    if not ack or not resolve:
        return payload
    if kind == "webhook":
        return {**payload, "vigil": {"episode": links.get("episode"), "ack_url": ack,
                                     "resolve_url": resolve}}
    if kind == "slack":
        blocks = list(payload.get("blocks", []))
        line = (f"<{mrkdwn_escape(ack)}|Acknowledge> · <{mrkdwn_escape(resolve)}|Resolve>")
        section = {"type": "section", "text": {"type": "mrkdwn", "text": line}}
        if len(blocks) >= MAX_BLOCKS:
            blocks[-1] = section  # the links matter more than the last "more alerts" line
        else:
            blocks.append(section)
        return {**payload, "blocks": blocks}
    if kind == "email":
        text = f"{payload.get('text', '')}\n\nAcknowledge: {ack}\nResolve: {resolve}\n"
        links_html = (f'<p><a href="{html.escape(ack)}">Acknowledge</a> · '
                      f'<a href="{html.escape(resolve)}">Resolve</a></p>')
        body = str(payload.get("html", ""))
        at = body.lower().rfind("</body>")
        body = body[:at] + links_html + body[at:] if at >= 0 else body + links_html
        return {**payload, "text": text, "html": body}
    return payload
