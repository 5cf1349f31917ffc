"""IoT telemetry over MQTT (C6): devices' latest readings, and which devices went silent.

The collector keeps one subscription open from its first :meth:`MQTTCollector.collect` call
until :meth:`MQTTCollector.close` (or until it is garbage collected, when a reload drops its
target). paho-mqtt's network thread receives messages and reconnects with backoff; each
scrape renders the current state (see :mod:`._telemetry` for the message format):

    <prefix>device_online{device}                      1, or 0 after offline_after seconds
    <prefix>device_last_seen_timestamp_seconds{device} unix seconds
    <prefix><field>{device}                            each numeric reading, e.g. battery
    <prefix><field>_info{device,value}                 each string reading, e.g. status
    vigil_mqtt_messages_{received,invalid,dropped}_total{collector}

While the broker is unreachable or refuses the login, ``collect`` raises
:class:`CollectorError` (the scrape stores ``vigil_collector_up`` 0 and the target's last
error shows why).
"""

from __future__ import annotations

import os
import threading
import time
import weakref
from collections.abc import Callable
from typing import Any

import paho.mqtt.client as paho

from vigil.collect.exporters._expfmt import CollectorError, Page
from vigil.collect.exporters._secret import read_password
from vigil.collect.exporters._telemetry import Telemetry
from vigil.config.model import MQTTCollectorConfig

__all__ = ["MQTTCollector"]


class _Link:
    """Connection state written by paho's thread. Holds no reference to the collector, so
    the collector can be garbage collected (and its finalizer stop the client).

    ``settled`` is set once the broker answered: refused the login, or acknowledged the
    subscriptions (so messages published after the first scrape are not missed)."""

    def __init__(self, topics: list[str], telemetry: Telemetry) -> None:
        self.topics = topics
        self.telemetry = telemetry
        self.settled = threading.Event()
        self.connected = False
        self.refused = False
        self.error = ""

    def on_connect(self, client: paho.Client, userdata: Any, flags: Any, reason: Any,
                   properties: Any) -> None:
        if reason.is_failure:
            self.connected, self.refused = False, True
            self.error = f"broker refused the connection: {reason}"
            self.settled.set()
        else:
            self.connected, self.refused, self.error = True, False, ""
            # again after every reconnect: the session is clean
            client.subscribe([(topic, 1) for topic in self.topics])

    def on_subscribe(self, client: paho.Client, userdata: Any, mid: int, reasons: list[Any],
                     properties: Any) -> None:
        refused = [f"{topic} ({reason})" for topic, reason in zip(self.topics, reasons,
                                                                  strict=False)
                   if reason.is_failure]
        if refused:
            self.error = f"broker refused the subscription to {', '.join(refused)}"
        self.settled.set()

    def on_disconnect(self, client: paho.Client, userdata: Any, flags: Any, reason: Any,
                      properties: Any) -> None:
        self.connected = False
        if not self.refused:
            self.error = f"disconnected from broker: {reason}"

    def on_message(self, client: paho.Client, userdata: Any, message: paho.MQTTMessage) -> None:
        self.telemetry.ingest(message.topic, message.payload)


def _stop(client: paho.Client) -> None:
    client.disconnect()
    client.loop_stop()


class MQTTCollector:
    """Subscribes to one broker. ``clock`` returns unix seconds (injected by tests)."""

    def __init__(self, config: MQTTCollectorConfig, *,
                 clock: Callable[[], float] = time.time) -> None:
        self.config = config
        self._telemetry = Telemetry(config, clock)
        self._lock = threading.Lock()
        self._client: paho.Client | None = None
        self._link: _Link | None = None
        self._finalizer: weakref.finalize | None = None

    def collect(self) -> str:
        cfg = self.config
        with self._lock:
            if self._client is None:
                self._start()
            link = self._link
            assert link is not None
        link.settled.wait(cfg.timeout)  # only the first scrape after connecting waits
        if not link.connected or not link.settled.is_set() or link.error:
            if link.refused:  # stop hammering the broker; the next scrape re-reads secrets
                self.close()
            raise CollectorError(f"mqtt {cfg.name}: {cfg.address}: "
                                 f"{link.error or 'no answer from the broker'}")
        page = Page()
        self._telemetry.render(page)
        page.collector_health(cfg.name)
        return page.text()

    def close(self) -> None:
        """Disconnect and stop the network thread. ``collect`` reconnects."""
        with self._lock:
            if self._finalizer is not None:
                self._finalizer()
            self._client = self._link = self._finalizer = None

    def _start(self) -> None:
        cfg = self.config
        password = read_password(f"mqtt {cfg.name}", cfg.password_env, cfg.password_file)
        link = _Link(cfg.topics, self._telemetry)
        client = paho.Client(paho.CallbackAPIVersion.VERSION2,
                             client_id=cfg.client_id or f"vigil-{cfg.name}-{os.getpid()}")
        if cfg.username is not None or password is not None:
            client.username_pw_set(cfg.username, password)
        client.on_connect = link.on_connect
        client.on_disconnect = link.on_disconnect
        client.on_subscribe = link.on_subscribe
        client.on_message = link.on_message
        client.connect_timeout = cfg.timeout
        client.reconnect_delay_set(1, 30)
        host, _, port = cfg.address.rpartition(":")
        try:
            client.connect(host.strip("[]"), int(port), keepalive=60)
        except OSError as e:
            raise CollectorError(f"mqtt {cfg.name}: connection to {cfg.address} failed: "
                                 f"{e.strerror or e}") from None
        client.loop_start()
        self._client, self._link = client, link
        self._finalizer = weakref.finalize(self, _stop, client)
