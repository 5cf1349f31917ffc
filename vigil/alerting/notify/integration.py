"""Integrations: one configured way of telling a receiver (a webhook URL, Slack, PagerDuty,
e-mail). Each builds its payload from a flush and sends a stored payload.

This module is below the integrations: it holds what they share (the protocol, HTTP status
rules, secret files) and a registry. Each integration module registers its kind with
:func:`register_integration`; the package (:mod:`vigil.alerting.notify`) imports them all, so
:func:`build_integrations` finds every kind without importing the modules that import it."""

from __future__ import annotations

import email.utils
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from typing import Any, Protocol, TypeVar

import httpx
from pydantic import BaseModel

from vigil.alerting.notify.payload import webhook_payload
from vigil.config import secret_files
from vigil.config.model import Receiver, WebhookConfig
from vigil.errors import NotifyError
from vigil.model.alert import Alert
from vigil.model.labels import Labels

_C = TypeVar("_C", bound=BaseModel)


class Integration(Protocol):
    name: str  # unique within the receiver: "webhook/0"
    send_resolved: bool

    def build(self, *, receiver: str, group_key: str, group_labels: Labels, alerts: list[Alert],
              now: datetime, external_url: str) -> dict[str, Any]: ...

    async def send(self, client: httpx.AsyncClient, payload: dict[str, Any], *,
                   notification_id: str = "") -> None:
        """Deliver; raise :class:`NotifyError` saying whether a retry may help.
        ``notification_id`` is the same for every attempt of one notification, on any
        replica: sent as an idempotency key where the receiver's format has a place."""
        ...


@dataclass
class Webhook:
    name: str
    config: WebhookConfig

    @property
    def send_resolved(self) -> bool:
        return self.config.send_resolved

    def build(self, *, receiver: str, group_key: str, group_labels: Labels, alerts: list[Alert],
              now: datetime, external_url: str) -> dict[str, Any]:
        return webhook_payload(receiver=receiver, group_key=group_key, group_labels=group_labels,
                               alerts=alerts, now=now, external_url=external_url,
                               max_alerts=self.config.max_alerts)

    async def send(self, client: httpx.AsyncClient, payload: dict[str, Any], *,
                   notification_id: str = "") -> None:
        # The body stays Alertmanager's; the idempotency key goes in a header.
        try:
            resp = await client.post(self.config.url, json=payload, timeout=self.config.timeout,
                                     headers=notification_headers(notification_id))
        except httpx.HTTPError as exc:
            raise NotifyError(f"POST {self.config.url}: {type(exc).__name__}: {exc}", recoverable=True) from None
        raise_for_status(resp)


def notification_headers(notification_id: str) -> dict[str, str]:
    """HTTP headers of a delivery: the user agent and, if known, the notification id."""
    headers = {"User-Agent": "Vigil"}
    if notification_id:
        headers[NOTIFICATION_ID_HEADER] = notification_id
    return headers


# Same value on every attempt of one notification, from any replica: receivers may use it
# to drop a re-send.
NOTIFICATION_ID_HEADER = "X-Vigil-Notification-Id"


def raise_for_status(resp: httpx.Response, *, target: str | None = None) -> None:
    """Alertmanager's rule: 5xx and 429 are worth retrying, other 4xx are not.

    ``target`` names the receiver in the error instead of its URL, for URLs that are
    themselves secrets (a Slack webhook)."""
    if resp.status_code < 300:
        return
    body = resp.text[:200]
    where = target if target is not None else str(resp.request.url)
    message = f"{resp.request.method} {where}: HTTP {resp.status_code}: {body}"
    recoverable = resp.status_code >= 500 or resp.status_code == 429
    raise NotifyError(message, recoverable=recoverable, retry_after_s=_retry_after(resp))


def _retry_after(resp: httpx.Response) -> float | None:
    value = resp.headers.get("Retry-After")
    if not value:
        return None
    if value.strip().isdigit():
        return float(value)
    when = email.utils.parsedate_to_datetime(value)
    return max(0.0, when.timestamp() - time.time()) if when else None


def read_secret_file(what: str, path: str) -> str:
    """The content of a secret file, without its trailing newline. Read at every send so a
    rotated secret needs no reload; a missing file is retried (it may be mid-rotation).
    The error names the file, never its content."""
    return secret_files.read_secret_file(path, partial(NotifyError, recoverable=True),
                                         f"{what}: cannot read {path}")


_SECRET_FILES = ("api_url_file", "routing_key_file", "auth_password_file")


def _with_base_dir(cfg: _C, base_dir: str | None) -> _C:
    """``cfg`` with its relative secret-file paths made absolute against ``base_dir``."""
    if base_dir is None:
        return cfg
    update = {name: os.path.join(base_dir, path) for name in _SECRET_FILES
              if isinstance(path := getattr(cfg, name, None), str) and not os.path.isabs(path)}
    return cfg.model_copy(update=update) if update else cfg


# Makes one integration from its name ("slack/0"), its config entry and the template library.
IntegrationFactory = Callable[[str, Any, Sequence[tuple[str, str]]], Integration]


@dataclass(frozen=True)
class IntegrationKind:
    """How one ``<kind>_configs`` list of a receiver becomes integrations."""

    kind: str  # names the integrations: "slack" -> slack/0, slack/1, ...
    configs_field: str  # the Receiver field holding its config entries: "slack_configs"
    factory: IntegrationFactory


_KINDS: dict[str, IntegrationKind] = {}


def register_integration(kind: str, configs_field: str, factory: IntegrationFactory) -> None:
    """Make ``configs_field`` entries of a receiver buildable as ``kind`` integrations."""
    if configs_field not in Receiver.model_fields:
        raise ValueError(f"Receiver has no field {configs_field!r}")
    _KINDS[configs_field] = IntegrationKind(kind, configs_field, factory)


def registered_integrations() -> dict[str, IntegrationKind]:
    """The registered kinds by their Receiver field."""
    return dict(_KINDS)


def build_integrations(receiver: Receiver, *, base_dir: str | None = None,
                       library: Sequence[tuple[str, str]] = ()) -> list[Integration]:
    """The receiver's integrations, named ``<kind>/<index>`` (``slack/0``), in the order of
    the Receiver's fields, then of the entries.

    ``library`` is ``(file name, text)`` of Alertmanager template files (see
    :func:`vigil.alerting.notify.templates.load_template_files`) whose named templates the
    integrations' texts may call.

    Relative ``*_file`` paths resolve against ``base_dir`` (the config file's directory);
    None leaves them relative to the working directory."""
    integrations: list[Integration] = []
    for field in Receiver.model_fields:
        configs = getattr(receiver, field)
        if not field.endswith("_configs") or not configs:
            continue
        kind = _KINDS.get(field)
        if kind is None:
            raise LookupError(f"no integration is registered for {field}")
        integrations += [kind.factory(f"{kind.kind}/{i}", _with_base_dir(cfg, base_dir), library)
                         for i, cfg in enumerate(configs)]
    return integrations


register_integration("webhook", "webhook_configs", lambda name, cfg, _library: Webhook(name, cfg))
