"""Report e-mails: an outbox integration (receiver ``@reports``, integration ``email``) that
sends a queued report e-mail with the run's renderings attached, read from the archive when
sent (the outbox payload stays small).

The outbox gives the e-mails their claims, retries and takeover (a restart neither drops nor
doubles one); the Message-ID is fixed when the run is archived, so the one re-send that
follows a crash between the server's acceptance and the outbox's record is the same message.
SMTP settings: ``reports.smtp``, else the first receiver's ``email_configs`` (as pages use).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Any

import aiosmtplib
import httpx

from vigil.alerting.notify.email import smtp_error
from vigil.alerting.notify.integration import Integration, read_secret_file
from vigil.config.model import Config
from vigil.errors import NotifyError
from vigil.oncall.escalation_send import smtp_source
from vigil.state.report_store import REPORTS_RECEIVER, ReportStore, ReportStoreError

__all__ = ["ReportEmail", "SmtpSettings", "report_integrations", "smtp_settings"]

_MIME = {"pdf": ("application", "pdf"), "html": ("text", "html"), "json": ("application", "json")}


@dataclass(frozen=True)
class SmtpSettings:
    from_: str
    smarthost: str
    hello: str = "localhost"
    auth_username: str | None = None
    auth_password_file: str | None = None
    require_tls: bool = True
    timeout: float = 30.0


def smtp_settings(config: Config) -> SmtpSettings | None:
    """Where report e-mails go through: ``reports.smtp``, else the first ``email_configs``."""
    own = config.reports.smtp
    if own is not None:
        return SmtpSettings(own.from_, own.smarthost, own.hello, own.auth_username, own.auth_password_file,
                            own.require_tls, own.timeout)
    source = smtp_source(config)
    if source is None:
        return None
    c = source.config
    return SmtpSettings(c.from_, c.smarthost, c.hello, c.auth_username, c.auth_password_file, c.require_tls, c.timeout)


@dataclass
class ReportEmail:
    """Sends a queued report e-mail with its attachments from the archive."""

    smtp: SmtpSettings
    store: ReportStore
    name: str = "email"
    send_resolved: bool = False

    def build(self, **_: Any) -> dict[str, Any]:
        raise NotImplementedError("report e-mails are queued by vigil.reports.runner")

    def message(self, payload: dict[str, Any]) -> EmailMessage:
        msg = EmailMessage()
        msg["From"] = self.smtp.from_
        msg["To"] = ", ".join(payload["to"])
        msg["Subject"] = payload["subject"]
        msg["Date"] = payload["date"]
        msg["Message-ID"] = payload["message_id"]
        text = payload["text"]
        missing = []
        attachments = []
        for fmt in payload["attach"]:
            try:
                attachments.append((fmt, self.store.content(payload["run_id"], fmt)))
            except ReportStoreError as exc:
                missing.append(str(exc))
        if missing:
            # The PDF could not be printed: say so, and send the HTML instead when not already.
            text += "\n" + "\n".join(missing) + "\n"
            if not any(f == "html" for f, _ in attachments):
                attachments.append(("html", self.store.content(payload["run_id"], "html")))
        msg.set_content(text)
        for fmt, data in attachments:
            maintype, subtype = _MIME[fmt]
            msg.add_attachment(data, maintype=maintype, subtype=subtype, filename=f"{payload['filename']}.{fmt}")
        return msg

    async def send(self, client: httpx.AsyncClient, payload: dict[str, Any], *, notification_id: str = "") -> None:
        s = self.smtp
        try:
            message = await asyncio.to_thread(self.message, payload)
        except ReportStoreError as exc:  # the run left the archive (retention) before it was sent
            raise NotifyError(f"report e-mail: {exc}", recoverable=False) from None
        host, _, port_text = s.smarthost.rpartition(":")
        port = int(port_text)
        password = None
        if s.auth_password_file is not None:
            password = read_secret_file("reports smtp auth_password_file", s.auth_password_file)
        implicit_tls = port == 465
        try:
            await aiosmtplib.send(message, hostname=host.strip("[]"), port=port, local_hostname=s.hello,
                                  username=s.auth_username, password=password, use_tls=implicit_tls,
                                  start_tls=False if implicit_tls else s.require_tls, timeout=s.timeout)
        except aiosmtplib.SMTPException as exc:
            raise smtp_error(f"SMTP {s.smarthost}", exc) from None
        except OSError as exc:
            raise NotifyError(f"SMTP {s.smarthost}: {exc}", recoverable=True) from None


def report_integrations(config: Config, store: ReportStore) -> dict[tuple[str, str], Integration]:
    """The outbox integration of report e-mails, for :meth:`OutboxWorker.set_integrations`
    (none without SMTP settings: queued e-mails then wait, and fail when tried)."""
    smtp = smtp_settings(config)
    return {} if smtp is None else {(REPORTS_RECEIVER, "email"): ReportEmail(smtp, store)}  # type: ignore[dict-item]
