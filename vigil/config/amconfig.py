"""Alertmanager configuration files (A1): ``alertmanager.yml`` read into Vigil's
:class:`~vigil.config.model.AlertingConfig`.

``route``, ``inhibit_rules``, ``time_intervals`` and ``mute_time_intervals`` have the same
shape in both, so they pass through and keep their line numbers. ``global`` becomes the
defaults of the receivers' integrations (``smtp_*`` for e-mail, ``slack_api_url`` for Slack,
``pagerduty_url`` for PagerDuty) and ``resolve_timeout``. Alertmanager features Vigil does not
implement (``opsgenie_configs``, ``http_config``, ...) are errors saying
"not supported yet" rather than being silently ignored. Errors read ``file:line:col: path:
message`` and point into the Alertmanager file. ``templates`` globs are expanded against the
file's directory into :attr:`AlertingConfig.templates`; the alerting stage parses them.
"""

from __future__ import annotations

import os
from glob import glob as expand_glob
from typing import Any

from pydantic import ValidationError

from vigil.config.located import validation_error
from vigil.config.model import AlertingConfig
from vigil.config.yamlmarks import Marks, load_yaml, load_yaml_file

__all__ = ["alerting_from_alertmanager", "load_alertmanager_config", "load_alertmanager_text",
           "looks_like_alertmanager"]

_TOP = {"global", "route", "receivers", "inhibit_rules", "time_intervals", "mute_time_intervals",
        "templates"}
# global key -> (integration list, field) it is the default of; None: Vigil-wide setting.
_GLOBAL_DEFAULTS: dict[str, tuple[str, str] | None] = {
    "resolve_timeout": None,
    "smtp_from": ("email_configs", "from"),
    "smtp_hello": ("email_configs", "hello"),
    "smtp_smarthost": ("email_configs", "smarthost"),
    "smtp_auth_username": ("email_configs", "auth_username"),
    "smtp_auth_password_file": ("email_configs", "auth_password_file"),
    "smtp_require_tls": ("email_configs", "require_tls"),
    "slack_api_url": ("slack_configs", "api_url"),
    "slack_api_url_file": ("slack_configs", "api_url_file"),
    "pagerduty_url": ("pagerduty_configs", "url"),
}
_GLOBAL_UNSUPPORTED = {
    "http_config", "smtp_auth_password", "smtp_auth_secret", "smtp_auth_identity",
    "victorops_api_key", "victorops_api_key_file", "victorops_api_url", "opsgenie_api_key",
    "opsgenie_api_key_file", "opsgenie_api_url", "wechat_api_url", "wechat_api_secret",
    "wechat_api_corp_id", "telegram_api_url", "webex_api_url",
}
_INTEGRATIONS = {"webhook_configs", "slack_configs", "pagerduty_configs", "email_configs"}
_INTEGRATIONS_UNSUPPORTED = {
    "opsgenie_configs", "wechat_configs", "pushover_configs", "victorops_configs", "sns_configs",
    "telegram_configs", "webex_configs", "discord_configs", "msteams_configs",
}
# Fields of supported integrations that Alertmanager has and Vigil does not (yet).
_FIELDS_UNSUPPORTED = {
    "webhook_configs": {"http_config", "url_file"},
    "slack_configs": {"http_config", "callback_id", "fallback", "footer", "icon_url", "image_url",
                      "link_names", "mrkdwn_in", "pretext", "short_fields", "thumb_url",
                      "title_link", "actions", "fields"},
    "pagerduty_configs": {"http_config", "service_key", "service_key_file", "images", "links"},
    "email_configs": {"auth_password", "auth_secret", "auth_identity", "tls_config"},
}
# Secrets the Alertmanager file may hold inline but Vigil only takes from a file.
_HINTS = {"smtp_auth_password": "use smtp_auth_password_file",
          "auth_password": "use auth_password_file",
          "service_key": "use routing_key or routing_key_file (Events API v2)"}


def _unsupported(marks: Marks, path: tuple[str | int, ...], name: str):
    hint = _HINTS.get(name)
    return marks.error(f"{name} is not supported yet{f'; {hint}' if hint else ''}", path)


def looks_like_alertmanager(data: Any) -> bool:
    """Whether parsed YAML is an Alertmanager file rather than a Vigil config."""
    return isinstance(data, dict) and "route" in data and "alerting" not in data


def alerting_from_alertmanager(data: Any, marks: Marks) -> AlertingConfig:
    """Convert and validate parsed Alertmanager YAML. Raises ``ConfigError``."""
    if not isinstance(data, dict):
        raise marks.error("an Alertmanager configuration must be a YAML mapping")
    for key in data:
        if key not in _TOP:
            raise marks.error("unknown field", (key,))
    templates = data.get("templates") or []
    if not isinstance(templates, list) or not all(isinstance(t, str) for t in templates):
        raise marks.error("must be a list of file globs", ("templates",))
    glob = data.get("global") or {}
    if not isinstance(glob, dict):
        raise marks.error("must be a mapping", ("global",))
    out: dict[str, Any] = {k: data[k] for k in ("route", "inhibit_rules", "time_intervals",
                                                "mute_time_intervals") if data.get(k) is not None}
    out["templates"] = _template_paths(templates, marks)
    defaults: dict[str, dict[str, Any]] = {}
    for key, value in glob.items():
        if key in _GLOBAL_UNSUPPORTED:
            raise _unsupported(marks, ("global", key), key)
        if key not in _GLOBAL_DEFAULTS:
            raise marks.error("unknown field", ("global", key))
        target = _GLOBAL_DEFAULTS[key]
        if target is None:
            out[key] = value
            if ("global", key) in marks.positions:
                marks.positions[(key,)] = marks.positions[("global", key)]
        else:
            defaults.setdefault(target[0], {})[target[1]] = value
    receivers = data.get("receivers")
    if receivers is not None:
        if not isinstance(receivers, list):
            raise marks.error("must be a list", ("receivers",))
        out["receivers"] = [_receiver(r, i, defaults, marks) for i, r in enumerate(receivers)]
    try:
        return AlertingConfig.model_validate(out)
    except ValidationError as exc:
        raise validation_error(exc, marks) from None


def _template_paths(globs: list[str], marks: Marks) -> list[str]:
    """Alertmanager's ``templates:``: globs relative to the config file's directory, expanded
    to sorted absolute paths (a glob that matches nothing is allowed, as in Alertmanager)."""
    base = os.path.dirname(os.path.abspath(marks.file)) if not marks.file.startswith("<") else os.getcwd()
    paths: list[str] = []
    for pattern in globs:
        full = pattern if os.path.isabs(pattern) else os.path.join(base, pattern)
        paths += sorted(expand_glob(full))
    return paths


def _receiver(receiver: Any, index: int, defaults: dict[str, dict[str, Any]], marks: Marks) -> Any:
    if not isinstance(receiver, dict):
        return receiver  # pydantic reports it with its line
    converted: dict[str, Any] = {}
    for key, value in receiver.items():
        path: tuple[str | int, ...] = ("receivers", index, key)
        if key in _INTEGRATIONS_UNSUPPORTED:
            raise _unsupported(marks, path, key)
        if key in _INTEGRATIONS and isinstance(value, list):
            items = []
            for j, item in enumerate(value):
                if isinstance(item, dict):
                    for field in item:
                        if field in _FIELDS_UNSUPPORTED[key]:
                            raise _unsupported(marks, (*path, j, field), field)
                    item = {**_defaults_for(key, item, defaults), **item}
                items.append(item)
            value = items
        converted[key] = value
    return converted


def _defaults_for(kind: str, item: dict[str, Any], defaults: dict[str, dict[str, Any]]) -> dict[str, Any]:
    found = dict(defaults.get(kind, {}))
    # A receiver's own api_url_file wins over the global api_url (and the reverse).
    if kind == "slack_configs" and ({"api_url", "api_url_file"} & item.keys()):
        found.pop("api_url", None)
        found.pop("api_url_file", None)
    return found


def load_alertmanager_text(text: str, filename: str = "<string>") -> AlertingConfig:
    data, marks = load_yaml(text, filename)
    return alerting_from_alertmanager(data, marks)


def load_alertmanager_config(path: str) -> AlertingConfig:
    """The Alertmanager file at ``path``, as Vigil's alerting section; its
    ``alertmanager_config`` field records the (absolute) path."""
    data, marks = load_yaml_file(path)
    config = alerting_from_alertmanager(data, marks)
    return config.model_copy(update={"alertmanager_config": os.path.abspath(path)})
