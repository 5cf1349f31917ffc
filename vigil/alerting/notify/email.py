"""E-mail over SMTP (Alertmanager's ``email_configs``).

The stored payload is the rendered message: sender, recipients, subject, extra headers,
plain-text and HTML bodies, and the ``Date`` and ``Message-ID`` fixed at build time, so a
re-send after a crash carries the same Message-ID and mail clients can fold duplicates.
:meth:`Email.send` only assembles the MIME message (multipart/alternative: text, then
HTML) and hands it to the smarthost with :mod:`aiosmtplib`.

Transport security follows Alertmanager: port 465 is implicit TLS; otherwise
``require_tls`` (default true) demands STARTTLS and fails if the server does not offer it.

Errors: connection failures, timeouts and 4xx replies are retried; 5xx replies (bad
recipient, authentication refused, message rejected) and a missing STARTTLS are not.
"""

from __future__ import annotations

import email.utils
from collections.abc import Sequence
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Any

import aiosmtplib
import httpx

from vigil.alerting.notify.integration import read_secret_file, register_integration
from vigil.alerting.notify.templates import (
    Notification,
    NotifyTemplate,
    RenderedIntegration,
    default_html,
    default_text,
    default_title,
    maybe_template,
    render_or,
)
from vigil.config.model import EmailConfig
from vigil.errors import NotifyError

__all__ = ["Email", "smtp_error"]

# Set from the payload; a configured header of the same name would be ambiguous.
_RESERVED = {"from", "to", "date", "message-id", "mime-version", "content-type",
             "content-transfer-encoding"}


@dataclass
class Email(RenderedIntegration):
    """One entry of a receiver's ``email_configs``. Safe to share between threads."""

    name: str
    config: EmailConfig
    # (file name, text) of template files the texts may call ({{template "x" .}}).
    library: Sequence[tuple[str, str]] = ()
    _headers: dict[str, NotifyTemplate] = field(init=False)
    _html: NotifyTemplate | None = field(init=False)
    _text: NotifyTemplate | None = field(init=False)

    def __post_init__(self) -> None:
        c = self.config
        self._headers = {k: NotifyTemplate(v, f"{self.name}.headers.{k}", library=self.library) for k, v in c.headers.items()
                         if k.lower() not in _RESERVED}
        self._html = maybe_template(c.html, f"{self.name}.html", html=True, library=self.library)
        self._text = maybe_template(c.text, f"{self.name}.text", library=self.library)

    def render(self, n: Notification) -> dict[str, Any]:
        headers = {k: _one_line(t.render(n)) for k, t in self._headers.items()}
        subject = next((headers.pop(k) for k in list(headers) if k.lower() == "subject"), None)
        domain = self.config.from_.rpartition("@")[2].strip(" >") or "vigil"
        return {
            "from": self.config.from_,
            "to": [a.strip() for a in self.config.to.split(",") if a.strip()],
            "subject": subject if subject is not None else _one_line(default_title(n)),
            "headers": headers,
            "date": email.utils.format_datetime(n.now),
            "message_id": email.utils.make_msgid(domain=domain),
            "text": render_or(self._text, n, default_text),
            "html": render_or(self._html, n, default_html),
        }

    async def send(self, client: httpx.AsyncClient, payload: dict[str, Any], *,
                   notification_id: str = "") -> None:
        """Deliver through the smarthost; ``client`` (HTTP) is unused. The idempotency key
        is the payload's Message-ID, fixed when the notification was queued."""
        c = self.config
        host, _, port_text = c.smarthost.rpartition(":")
        port = int(port_text)
        password = None
        if c.auth_password_file is not None:
            password = read_secret_file(f"{self.name} auth_password_file", c.auth_password_file)
        implicit_tls = port == 465
        try:
            await aiosmtplib.send(
                _message(payload), hostname=host.strip("[]"), port=port,
                local_hostname=c.hello, username=c.auth_username, password=password,
                use_tls=implicit_tls, start_tls=False if implicit_tls else c.require_tls,
                timeout=c.timeout)
        except aiosmtplib.SMTPException as exc:
            raise smtp_error(f"SMTP {c.smarthost}", exc) from None
        except OSError as exc:
            raise NotifyError(f"SMTP {c.smarthost}: {exc}", recoverable=True) from None


def smtp_error(where: str, exc: aiosmtplib.SMTPException) -> NotifyError:
    """The :class:`NotifyError` for an SMTP failure: 4xx and connection trouble are
    transient, 5xx and protocol refusals (no STARTTLS) are not."""
    if isinstance(exc, aiosmtplib.SMTPRecipientsRefused):
        codes = [r.code for r in exc.recipients]
        detail = "; ".join(f"{r.recipient}: {r.code} {r.message}" for r in exc.recipients)
        return NotifyError(f"{where}: recipients refused: {detail}",
                           recoverable=all(400 <= code < 500 for code in codes))
    if isinstance(exc, aiosmtplib.SMTPResponseException):
        return NotifyError(f"{where}: {exc.code} {exc.message}",
                           recoverable=400 <= exc.code < 500)
    transient = (aiosmtplib.SMTPConnectError, aiosmtplib.SMTPTimeoutError,
                 aiosmtplib.SMTPServerDisconnected)
    return NotifyError(f"{where}: {type(exc).__name__}: {exc}", recoverable=isinstance(exc, transient))


def _one_line(value: str) -> str:
    # A header value is one line: a label value with a newline must not break the message.
    return " ".join(value.split())


def _message(payload: dict[str, Any]) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = payload["from"]
    msg["To"] = ", ".join(payload["to"])
    msg["Subject"] = payload["subject"]
    msg["Date"] = payload["date"]
    msg["Message-ID"] = payload["message_id"]
    for k, v in payload["headers"].items():
        msg[k] = v
    text, html = payload["text"], payload["html"]
    # Alertmanager drops a body whose template is set to the empty string.
    if text:
        msg.set_content(text)
        if html:
            msg.add_alternative(html, subtype="html")
    else:
        msg.set_content(html, subtype="html")
    return msg


register_integration("email", "email_configs", Email)
