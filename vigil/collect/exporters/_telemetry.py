"""Device telemetry state for the MQTT collector: messages in, an exposition page out.

Thread-safe: the MQTT network thread calls :meth:`Telemetry.ingest`, the scrape thread
:meth:`Telemetry.render`. Times are unix seconds from the injected clock.
"""

from __future__ import annotations

import json
import math
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field

from vigil.collect.exporters._expfmt import Page
from vigil.config.model import MQTTCollectorConfig

__all__ = ["Telemetry"]

# Bounds, so a misbehaving publisher cannot grow Vigil's memory without limit.
MAX_DEVICES = 10_000
MAX_FIELDS = 100
MAX_DEPTH = 3
_INVALID = re.compile(r"[^a-zA-Z0-9_]")
_RESERVED = {"device_online", "device_last_seen_timestamp_seconds"}


@dataclass
class _Device:
    last_seen: float
    numbers: dict[str, float] = field(default_factory=dict)
    strings: dict[str, str] = field(default_factory=dict)


def _field_name(path: list[str]) -> str:
    return _INVALID.sub("_", "_".join(path)).strip("_").lower()


def _flatten(obj: object, path: list[str], out: dict[str, object]) -> None:
    if isinstance(obj, dict) and len(path) < MAX_DEPTH:
        for k, v in obj.items():
            _flatten(v, [*path, str(k)], out)
    elif path and isinstance(obj, bool | int | float | str):
        out[_field_name(path)] = obj


class Telemetry:
    """The latest reading of every field of every device seen on the subscribed topics."""

    def __init__(self, config: MQTTCollectorConfig, clock: Callable[[], float]) -> None:
        self._config = config
        self._clock = clock
        self._lock = threading.Lock()
        self._devices: dict[str, _Device] = {}
        self.received = 0
        self.invalid = 0
        self.dropped = 0

    def ingest(self, topic: str, payload: bytes) -> None:
        """Record one message: a JSON object of readings (nested objects flatten with ``_``),
        or a bare number named by the topic's last level. Anything else counts as invalid."""
        levels = topic.split("/")
        level = self._config.device_level
        fields: dict[str, object] = {}
        try:
            data = json.loads(payload.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            data = None
        if isinstance(data, dict):
            _flatten(data, [], fields)
        elif isinstance(data, int | float) and not isinstance(data, bool):
            fields[_field_name([levels[-1]])] = data
        with self._lock:
            self.received += 1
            if level >= len(levels) or not levels[level] or not fields:
                self.invalid += 1
                return
            device = self._devices.get(levels[level])
            if device is None:
                if len(self._devices) >= MAX_DEVICES:
                    self.dropped += 1
                    return
                device = self._devices[levels[level]] = _Device(self._clock())
            device.last_seen = self._clock()
            for name, value in fields.items():
                if not name or name in _RESERVED:
                    continue
                known = name in device.numbers or name in device.strings
                if not known and len(device.numbers) + len(device.strings) >= MAX_FIELDS:
                    self.dropped += 1
                    continue
                if isinstance(value, str):
                    device.numbers.pop(name, None)
                    device.strings[name] = value[:200]
                else:
                    device.strings.pop(name, None)
                    device.numbers[name] = float(value)

    def render(self, page: Page) -> None:
        """Add every device's series and the message counters to ``page``."""
        cfg = self._config
        prefix = cfg.metric_prefix
        now = self._clock()
        with self._lock:
            page.family(f"{prefix}device_online", "gauge",
                        f"1 if the device reported within {cfg.offline_after:g}s, else 0")
            page.family(f"{prefix}device_last_seen_timestamp_seconds", "gauge",
                        "When the device last reported, unix seconds")
            for device_id, device in sorted(self._devices.items()):
                labels = {"device": device_id}
                online = now - device.last_seen <= cfg.offline_after
                page.sample(f"{prefix}device_online", 1 if online else 0, labels)
                page.sample(f"{prefix}device_last_seen_timestamp_seconds", device.last_seen,
                            labels)
                for name, value in sorted(device.numbers.items()):
                    if math.isfinite(value):
                        page.sample(f"{prefix}{name}", value, labels,
                                    help_text=f"Latest {name} reported by the device")
                for name, text in sorted(device.strings.items()):
                    page.sample(f"{prefix}{name}_info", 1, {**labels, "value": text},
                                help_text=f"Latest {name} reported by the device")
            for what, count in (("received", self.received), ("invalid", self.invalid),
                                ("dropped", self.dropped)):
                page.sample(f"vigil_mqtt_messages_{what}_total", count,
                            {"collector": cfg.name}, kind="counter",
                            help_text=f"MQTT messages {what}")
