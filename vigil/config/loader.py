"""Reading a configuration file into a :class:`Config`, with located errors.

Reading files is loading, not validation: a main config whose alerting section is
``alertmanager_config: alertmanager.yml`` has that file read here, before the model is
validated, so the model's validators never touch the file system.
"""

from __future__ import annotations

import os
from typing import Any

from pydantic import ValidationError

from vigil.config.amconfig import load_alertmanager_config
from vigil.config.located import validation_error
from vigil.config.model import AlertingConfig, Config
from vigil.config.yamlmarks import Marks, format_path, load_yaml, load_yaml_file


def _alertmanager_file(data: dict[str, Any], marks: Marks) -> dict[str, Any]:
    """``alerting: {alertmanager_config: alertmanager.yml}`` reads the alerting section
    from an Alertmanager file (relative to this file); its errors point into it."""
    alerting = data.get("alerting")
    if not isinstance(alerting, dict) or alerting.get("alertmanager_config") is None:
        return data
    others = sorted(set(alerting) - {"alertmanager_config", "resend_delay"})
    if others:
        raise marks.error("alertmanager_config replaces the alerting section; "
                          f"move {others[0]} into the Alertmanager file", ("alerting", others[0]))
    path = str(alerting["alertmanager_config"])
    if not os.path.isabs(path) and not marks.file.startswith("<"):
        path = os.path.join(os.path.dirname(os.path.abspath(marks.file)), path)
    loaded = load_alertmanager_config(path)
    if "resend_delay" in alerting:
        try:
            delay = AlertingConfig.model_validate({"resend_delay": alerting["resend_delay"]})
        except ValidationError as exc:
            raise validation_error(exc, marks, ("alerting",)) from None
        loaded = loaded.model_copy(update={"resend_delay": delay.resend_delay})
    return {**data, "alerting": loaded}


def parse_config(data: object, marks: Marks) -> Config:
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise marks.error("the configuration must be a YAML mapping")
    data = _alertmanager_file({**data, "source_file": marks.file}, marks)
    try:
        return Config.model_validate(data)
    except ValidationError as exc:
        raise validation_error(exc, marks) from None


def load_config(filename: str | None) -> Config:
    """The config in ``filename``, or the embedded default when it is None."""
    if filename is None:
        return parse_config({}, Marks("<default>"))
    data, marks = load_yaml_file(filename)
    return parse_config(data, marks)


def load_config_text(text: str, filename: str = "<string>") -> Config:
    data, marks = load_yaml(text, filename)
    return parse_config(data, marks)


def resolve_path(config: Config, path: str) -> str:
    """``path`` made absolute against the directory of the config file that named it."""
    if os.path.isabs(path) or not config.source_file or config.source_file.startswith("<"):
        return os.path.abspath(path)
    return os.path.join(os.path.dirname(os.path.abspath(config.source_file)), path)


__all__ = ["load_config", "load_config_text", "parse_config", "resolve_path", "format_path"]
