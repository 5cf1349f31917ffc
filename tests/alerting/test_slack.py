"""Slack incoming webhooks, through the real dispatcher and outbox, against a fake Slack that
checks messages against Slack's documented Block Kit limits and answers as Slack does."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from tests.alerting.harness import T0, FakeService, Harness, alert

SECRET_PATH = "/services/T0001/B0001/XXXXSECRETXXXX"


def slack_problem(body: Any) -> tuple[int, str] | None:
    """Slack's answer to a body it refuses (https://api.slack.com/messaging/webhooks and the
    Block Kit reference), or None if it would post it."""
    if not isinstance(body, dict):
        return 400, "invalid_payload"
    if "attachments" in body:
        return 400, "unexpected attachments (Vigil sends Block Kit only)"
    text, blocks = body.get("text"), body.get("blocks")
    if not text and not blocks:
        return 400, "no_text"
    if text is not None and (not isinstance(text, str) or len(text) > 40000):
        return 400, "invalid_payload"
    if blocks is None:
        return None
    if not isinstance(blocks, list) or not 1 <= len(blocks) <= 50:
        return 400, "invalid_blocks"
    for block in blocks:
        kind = block.get("type")
        if kind == "header":
            t = block.get("text", {})
            if t.get("type") != "plain_text" or not 1 <= len(t.get("text", "")) <= 150:
                return 400, "invalid_blocks"
        elif kind == "section":
            t = block.get("text", {})
            if t.get("type") not in ("mrkdwn", "plain_text") or not 1 <= len(t.get("text", "")) <= 3000:
                return 400, "invalid_blocks"
        elif kind == "context":
            elements = block.get("elements", [])
            if not 1 <= len(elements) <= 10:
                return 400, "invalid_blocks"
            for e in elements:
                if e.get("type") not in ("mrkdwn", "plain_text") or not 1 <= len(e.get("text", "")) <= 3000:
                    return 400, "invalid_blocks"
        elif kind != "divider":
            return 400, "invalid_blocks"
    for key in ("channel", "username", "icon_emoji"):
        if key in body and not isinstance(body[key], str):
            return 400, "invalid_payload"
    return None


@pytest.fixture
def slack():
    with FakeService(slack_problem, (200, "ok", "text/plain")) as service:
        yield service


def receiver(url: str, **extra: str) -> str:
    lines = ["      slack_configs:", f"        - api_url: {url}"]
    lines += [f"          {k}: {v}" for k, v in extra.items()]
    return "\n".join(lines)


def texts(body: dict[str, Any], kind: str) -> list[str]:
    out = []
    for b in body["blocks"]:
        if b["type"] == kind:
            out += [b["text"]["text"]] if "text" in b else [e["text"] for e in b["elements"]]
    return out


def test_firing_group_is_one_block_kit_message(tmp_path, slack):
    h = Harness(tmp_path, receiver(slack.base + SECRET_PATH))
    h.fire_and_flush([
        alert("HighCPU", "a", T0, severity="critical", runbook_url="https://runbooks/cpu",
              description="CPU > 90% for <5m> & rising"),
        alert("HighCPU", "b", T0, severity="critical"),
    ])
    assert slack.rejected == []
    [body] = slack.received
    header = body["blocks"][0]
    assert header["type"] == "header"
    assert header["text"]["text"] == ":rotating_light: [FIRING:2] HighCPU (critical)"
    sections = texts(body, "section")
    assert len(sections) == 2
    assert "*HighCPU on a*" in sections[0]
    assert "CPU &gt; 90% for &lt;5m&gt; &amp; rising" in sections[0]  # Slack's escaping
    assert "`instance=a`" in sections[0] and "`severity=critical`" in sections[0]
    contexts = texts(body, "context")
    assert "<https://runbooks/cpu|Runbook>" in contexts[0]
    assert "<http://vigil/graph?g0.expr=up|Source>" in contexts[0]
    assert "Started 2026-11-22 08:00:00 +0000 UTC" in contexts[0]
    assert "Runbook" not in contexts[1]
    assert body["text"].startswith("[FIRING:2] HighCPU (critical)\nfiring: HighCPU on a")
    assert "attachments" not in body and "channel" not in body


def test_200_alert_group_is_truncated_to_slack_limits(tmp_path, slack):
    h = Harness(tmp_path, receiver(slack.base + SECRET_PATH, title="'" + "T" * 300 + "'"))
    h.fire_and_flush([alert("DiskFull", f"host-{i:03d}", T0, description="x" * 4000)
                      for i in range(200)])
    assert slack.rejected == []  # the fake enforces Slack's limits
    [body] = slack.received
    blocks = body["blocks"]
    assert len(blocks) == 50
    assert len(blocks[0]["text"]["text"]) == 150 and blocks[0]["text"]["text"].endswith("…")
    assert len(blocks[1]["text"]["text"]) == 3000 and blocks[1]["text"]["text"].endswith("…")
    assert blocks[-1]["text"]["text"] == (
        "_176 more alerts — see <http://vigil.example:9494/alerts|http://vigil.example:9494/alerts>_")
    assert len(texts(body, "section")) == 25  # 24 alerts and the "more" line
    assert "host-023" in blocks[-3]["text"]["text"]
    assert len(body["text"]) <= 40000


def test_429_is_retried_after_retry_after(tmp_path, slack):
    slack.responses = [(429, {"Retry-After": "30"}, "rate_limited")]
    h = Harness(tmp_path, receiver(slack.base + SECRET_PATH))
    h.fire_and_flush([alert("HighCPU", "a", T0)])
    [entry] = h.store.outbox_list()
    assert entry.status == "pending" and "HTTP 429: rate_limited" in entry.last_error
    assert entry.next_attempt_at == h.clock.now + timedelta(seconds=30)
    h.clock.advance(29)
    h.tick()
    assert slack.attempts == 1
    h.clock.advance(1)
    h.tick()
    assert len(slack.received) == 1 and h.store.outbox_list()[0].status == "sent"


@pytest.mark.parametrize("status,answer,recoverable", [
    (400, "invalid_payload", False),
    (400, "no_text", False),
    (403, "action_prohibited", False),
    (404, "channel_not_found", False),
    (410, "channel_is_archived", False),
    (500, "rollup_error", True),
    (503, "service unavailable", True),
])
def test_slack_errors_map_to_retry_or_dead_letter(tmp_path, slack, status, answer, recoverable):
    slack.responses = [(status, {}, answer)]
    h = Harness(tmp_path, receiver(slack.base + SECRET_PATH))
    h.fire_and_flush([alert("HighCPU", "a", T0)])
    [entry] = h.store.outbox_list()
    assert entry.status == ("pending" if recoverable else "dead")
    assert f"HTTP {status}: {answer}" in entry.last_error
    assert "Slack webhook (slack/0)" in entry.last_error
    assert "SECRET" not in entry.last_error  # the webhook URL is a credential


def test_templates_url_file_and_resolution(tmp_path, slack):
    url_file = tmp_path / "slack-url"
    url_file.write_text(slack.base + SECRET_PATH + "\n")
    h = Harness(tmp_path, "\n".join([
        "      slack_configs:",
        f"        - api_url_file: {url_file}",
        "          send_resolved: true",
        "          channel: '#ops-{{ .CommonLabels.severity }}'",
        "          username: vigil",
        "          title: '{{ .Status | toUpper }} {{ len .Alerts.Firing }}/{{ len .Alerts }}'",
        "          text: '{{ range .Alerts }}{{ .Labels.instance }}: {{ .Annotations.summary }};"
        " {{ end }}via {{ .Receiver }}'",
    ]))
    h.fire_and_flush([alert("HighCPU", "a", T0), alert("HighCPU", "b", T0)])
    [body] = slack.received
    assert body["channel"] == "#ops-warning" and body["username"] == "vigil"
    assert body["blocks"][0]["text"]["text"] == ":warning: FIRING 2/2"
    assert texts(body, "section") == ["a: HighCPU on a; b: HighCPU on b; via r"]
    h.dispatcher.put([alert("HighCPU", "a", T0, end=h.clock.now),
                      alert("HighCPU", "b", T0, end=h.clock.now)])
    h.clock.advance(300)
    h.tick()
    resolved = slack.received[1]
    assert resolved["blocks"][0]["text"]["text"] == ":white_check_mark: RESOLVED 0/2"


def test_broken_template_still_notifies_with_the_error(tmp_path, slack):
    h = Harness(tmp_path, receiver(slack.base + SECRET_PATH, text="'{{ .Nope.x }}'"))
    h.fire_and_flush([alert("HighCPU", "a", T0)])
    [body] = slack.received
    assert texts(body, "section")[0].startswith("<error expanding template: template: slack/0.text")


def test_empty_text_template_leaves_a_valid_message(tmp_path, slack):
    h = Harness(tmp_path, receiver(slack.base + SECRET_PATH, text="'{{ .CommonLabels.nope }}'"))
    h.fire_and_flush([alert("HighCPU", "a", T0)])
    assert slack.rejected == []
    [body] = slack.received
    assert [b["type"] for b in body["blocks"]] == ["header"]
    assert body["text"].startswith("[FIRING:1] HighCPU")
