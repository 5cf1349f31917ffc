"""E-mail through the real dispatcher and outbox to a real SMTP server (aiosmtpd) on loopback."""

from __future__ import annotations

import email
import email.policy
from datetime import timedelta
from email.message import EmailMessage

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from tests.alerting.harness import T0, Harness, alert
from tests.support.ports import free_port


class Mailbox:
    """aiosmtpd handler: keeps every accepted message; ``rcpt_replies``/``data_replies``
    script the next answers (e.g. ``"451 4.3.0 Try again later"``)."""

    def __init__(self) -> None:
        self.messages: list[tuple[str, list[str], EmailMessage]] = []
        self.rcpt_replies: list[str] = []
        self.data_replies: list[str] = []
        self.logins: list[tuple[bytes, bytes]] = []

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # noqa: N802
        if self.rcpt_replies:
            return self.rcpt_replies.pop(0)
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # noqa: N802
        if self.data_replies:
            return self.data_replies.pop(0)
        msg = email.message_from_bytes(envelope.content, policy=email.policy.default)
        self.messages.append((envelope.mail_from, list(envelope.rcpt_tos), msg))
        return "250 Message accepted for delivery"

    def authenticate(self, server, session, envelope, mechanism, auth_data) -> AuthResult:
        assert isinstance(auth_data, LoginPassword)
        self.logins.append((auth_data.login, auth_data.password))
        # handled=False: aiosmtpd then answers 535 itself on failure.
        return AuthResult(success=auth_data.password == b"s3cret", handled=False)


@pytest.fixture
def smtp():
    box = Mailbox()
    port = free_port()
    controller = Controller(box, hostname="127.0.0.1", port=port, authenticator=box.authenticate,
                            auth_require_tls=False)
    controller.start()
    box.port = port  # type: ignore[attr-defined]
    try:
        yield box
    finally:
        controller.stop()


def receiver(port: int, *lines: str, require_tls: bool = False) -> str:
    return "\n".join([
        "      email_configs:",
        "        - to: 'oncall@example.com, boss@example.com'",
        "          from: vigil@example.com",
        f"          smarthost: 127.0.0.1:{port}",
        f"          require_tls: {str(require_tls).lower()}",
        *(f"          {line}" for line in lines)])


def test_firing_group_is_a_multipart_mail(tmp_path, smtp):
    h = Harness(tmp_path, receiver(smtp.port, "headers: {X-Team: '{{ .CommonLabels.severity }}'}"))
    h.fire_and_flush([alert("HighCPU", "a", T0, runbook_url="https://runbooks/cpu",
                            description="load <b>high</b>"),
                      alert("HighCPU", "b", T0)])
    [(mail_from, rcpt, msg)] = smtp.messages
    assert mail_from == "vigil@example.com"
    assert rcpt == ["oncall@example.com", "boss@example.com"]
    assert msg["Subject"] == "[FIRING:2] HighCPU (warning)"
    assert msg["From"] == "vigil@example.com"
    assert msg["To"] == "oncall@example.com, boss@example.com"
    assert msg["X-Team"] == "warning"
    assert msg["Date"] == "Sun, 22 Nov 2026 08:00:31 +0000"
    assert msg["Message-ID"].endswith("@example.com>")
    assert msg.get_content_type() == "multipart/alternative"
    text_part, html_part = msg.iter_parts()
    assert text_part.get_content_type() == "text/plain"
    assert html_part.get_content_type() == "text/html"
    text = text_part.get_content()
    assert "Firing alerts (2):" in text and "- HighCPU on a" in text
    assert "runbook_url: https://runbooks/cpu" in text
    assert "Labels: alertname=HighCPU, instance=b, severity=warning" in text
    assert "All alerts: http://vigil.example:9494/alerts" in text
    html = html_part.get_content()
    assert "<h2>[FIRING:2] HighCPU (warning)</h2>" in html
    assert "load &lt;b&gt;high&lt;/b&gt;" in html  # values are escaped
    assert '<a href="http://vigil.example:9494/alerts">' in html


def test_overridden_templates_and_resolution(tmp_path, smtp):
    h = Harness(tmp_path, receiver(
        smtp.port, "send_resolved: true",
        "headers: {Subject: '{{ .Status }}: {{ .GroupLabels.alertname }}'}",
        'text: "{{ range .Alerts }}{{ .Status }} {{ .Annotations.summary }}\\n{{ end }}"',
        "html: '<p>{{ .CommonAnnotations.note }}</p>'"))
    h.fire_and_flush([alert("HighCPU", "a", T0, note="<script>")])
    h.dispatcher.put([alert("HighCPU", "a", T0, end=h.clock.now, note="<script>")])
    h.clock.advance(300)
    h.tick()
    assert [m["Subject"] for _, _, m in smtp.messages] == ["firing: HighCPU", "resolved: HighCPU"]
    text_part, html_part = smtp.messages[1][2].iter_parts()
    assert text_part.get_content().replace("\r\n", "\n") == "resolved HighCPU on a\n"
    assert html_part.get_content().strip() == "<p>&lt;script&gt;</p>"


def test_empty_html_template_sends_text_only(tmp_path, smtp):
    h = Harness(tmp_path, receiver(smtp.port, "html: ''"))
    h.fire_and_flush([alert("HighCPU", "a", T0)])
    [(_, _, msg)] = smtp.messages
    assert msg.get_content_type() == "text/plain"


def test_auth_with_password_file(tmp_path, smtp):
    secret = tmp_path / "smtp-password"
    secret.write_text("s3cret\n")
    h = Harness(tmp_path, receiver(smtp.port, "auth_username: vigil",
                                   f"auth_password_file: {secret}"))
    h.fire_and_flush([alert("HighCPU", "a", T0)])
    assert smtp.logins == [(b"vigil", b"s3cret")]
    assert len(smtp.messages) == 1


def test_wrong_password_is_dead_lettered(tmp_path, smtp):
    secret = tmp_path / "smtp-password"
    secret.write_text("wrong")
    h = Harness(tmp_path, receiver(smtp.port, "auth_username: vigil",
                                   f"auth_password_file: {secret}"))
    h.fire_and_flush([alert("HighCPU", "a", T0)])
    [entry] = h.store.outbox_list()
    assert entry.status == "dead" and "535" in entry.last_error
    assert "wrong" not in entry.last_error


def test_4xx_is_retried_and_delivered_once(tmp_path, smtp):
    smtp.data_replies = ["451 4.3.0 Try again later"]
    h = Harness(tmp_path, receiver(smtp.port))
    h.fire_and_flush([alert("HighCPU", "a", T0)])
    [entry] = h.store.outbox_list()
    assert entry.status == "pending" and "451" in entry.last_error
    assert entry.next_attempt_at == h.clock.now + timedelta(seconds=1)
    h.clock.advance(1)
    h.tick()
    assert len(smtp.messages) == 1 and h.store.outbox_list()[0].status == "sent"


def test_5xx_recipient_refused_is_dead_lettered(tmp_path, smtp):
    smtp.rcpt_replies = ["550 5.1.1 No such user", "550 5.1.1 No such user"]
    h = Harness(tmp_path, receiver(smtp.port))
    h.fire_and_flush([alert("HighCPU", "a", T0)])
    [entry] = h.store.outbox_list()
    assert entry.status == "dead" and "550 5.1.1 No such user" in entry.last_error
    assert smtp.messages == []


def test_connection_refused_is_retried(tmp_path):
    h = Harness(tmp_path, receiver(free_port()))
    h.fire_and_flush([alert("HighCPU", "a", T0)])
    [entry] = h.store.outbox_list()
    assert entry.status == "pending" and entry.attempts == 1


def test_require_tls_refuses_a_server_without_starttls(tmp_path, smtp):
    h = Harness(tmp_path, receiver(smtp.port, require_tls=True))
    h.fire_and_flush([alert("HighCPU", "a", T0)])
    [entry] = h.store.outbox_list()
    assert entry.status == "dead" and "STARTTLS" in entry.last_error
    assert smtp.messages == []
