"""Configuration: one validated model, built from YAML with located errors."""

from vigil.config.durations import Duration
from vigil.config.loader import load_config, load_config_text, resolve_path
from vigil.config.model import (
    DEFAULT_LISTEN,
    AlertingConfig,
    Config,
    HostCollectorConfig,
    Receiver,
    Route,
    ScrapeConfig,
    WebhookConfig,
)
from vigil.config.yamlmarks import Marks, load_yaml, load_yaml_file

__all__ = [
    "DEFAULT_LISTEN", "AlertingConfig", "Config", "Duration", "HostCollectorConfig", "Marks",
    "Receiver", "Route", "ScrapeConfig", "WebhookConfig", "load_config",
    "load_config_text", "load_yaml", "load_yaml_file", "resolve_path",
]
