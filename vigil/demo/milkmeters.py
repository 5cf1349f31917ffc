"""Simulated milk meters: IoT devices reporting milk flow, temperature, conductivity and
battery, one of which goes silent on cue (:mod:`vigil.demo.scenario`).

With mosquitto installed (``/usr/sbin/mosquitto`` or on ``PATH``) the demo starts a private
broker on a free loopback port, the devices publish JSON to ``farm/<device>/telemetry`` every
:data:`PUBLISH_EVERY_S` seconds from a thread, and Vigil's real MQTT collector subscribes —
the whole path a real farm uses. Without mosquitto the readings go straight into the MQTT
collector's telemetry table on each scrape (no network), so the metrics look the same.
"""

from __future__ import annotations

import json
import logging
import math
import os
import pwd
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Callable
from pathlib import Path

import paho.mqtt.client as paho

from vigil.collect.exporters._expfmt import Page
from vigil.collect.exporters._telemetry import Telemetry
from vigil.collect.exporters.mqtt import MQTTCollector
from vigil.config.model import MQTTCollectorConfig
from vigil.demo import scenario

__all__ = ["DEVICES", "MilkMeters", "TOPIC"]

log = logging.getLogger(__name__)

DEVICES = tuple(f"meter-{i:02d}" for i in range(1, 9))
TOPIC = "farm/{device}/telemetry"
PUBLISH_EVERY_S = 2.0
OFFLINE_AFTER_S = 15.0


def reading(device: str, elapsed_s: float) -> dict[str, float]:
    """One device's readings ``elapsed_s`` into the demo: smooth, plausible, per device."""
    k = DEVICES.index(device) if device in DEVICES else 0
    phase = elapsed_s / 90.0 + k
    return {
        "flow_l_per_min": round(max(0.0, 6 + 5 * math.sin(phase)), 2),
        "milk_temperature_c": round(36.8 + 0.4 * math.sin(phase / 3), 2),
        "conductivity_ms_cm": round(4.8 + 0.3 * math.cos(phase / 2) + 0.05 * k, 2),
        "battery_pct": round(max(5.0, 95 - 3 * k - elapsed_s / 600), 1),
    }


def _online(device: str, elapsed_s: float) -> bool:
    return not (device == scenario.OFFLINE_METER
                and scenario.active(scenario.METER_OFFLINE, elapsed_s))


def _mosquitto() -> str | None:
    found = shutil.which("mosquitto")
    if found:
        return found
    return "/usr/sbin/mosquitto" if os.access("/usr/sbin/mosquitto", os.X_OK) else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class MilkMeters:
    """The simulated devices and the collector that reads them.

    ``collect`` is the demo target's collector; it starts the broker and the devices on its
    first call (so building the demo does no I/O) and is safe from one thread at a time.
    :meth:`close` stops everything it started.
    """

    def __init__(self, work_dir: str, clock: Callable[[], float] = time.time) -> None:
        self._work = Path(work_dir)
        self._clock = clock
        self._start = clock()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._broker: subprocess.Popen[bytes] | None = None
        self._publisher: threading.Thread | None = None
        self._collector: MQTTCollector | None = None
        self._telemetry: Telemetry | None = None
        self._started = False
        self.source = "mosquitto" if _mosquitto() else "direct"

    def config(self, address: str = "127.0.0.1:1883") -> MQTTCollectorConfig:
        return MQTTCollectorConfig(name="farm", address=address, topics=["farm/+/telemetry"],
                                   device_level=1, offline_after=OFFLINE_AFTER_S,
                                   metric_prefix="milkmeter_", timeout=3.0)

    def collect(self) -> str:
        with self._lock:
            if not self._started:
                self._started = True
                self._begin()
        if self._collector is not None:
            return self._collector.collect()
        assert self._telemetry is not None
        elapsed = self._clock() - self._start
        for device in DEVICES:
            if _online(device, elapsed):
                self._telemetry.ingest(TOPIC.format(device=device),
                                       json.dumps(reading(device, elapsed)).encode())
        page = Page()
        self._telemetry.render(page)
        page.sample("vigil_collector_up", 1, {"collector": "farm"},
                    help_text="Whether the collector could collect")
        return page.text()

    def _begin(self) -> None:
        binary = _mosquitto()
        if binary is not None:
            try:
                port = self._start_broker(binary)
            except OSError as e:
                log.warning("demo: mosquitto did not start (%s); simulating meters directly", e)
            else:
                self.source = "mosquitto"
                self._collector = MQTTCollector(self.config(f"127.0.0.1:{port}"))
                self._publisher = threading.Thread(target=self._publish, args=(port,),
                                                   name="demo milk meters", daemon=True)
                self._publisher.start()
                log.info("demo: milk meters publish to mosquitto on 127.0.0.1:%d", port)
                return
        self.source = "direct"
        self._telemetry = Telemetry(self.config(), self._clock)
        log.info("demo: mosquitto not installed; milk meters are simulated directly")

    def _start_broker(self, binary: str) -> int:
        self._work.mkdir(parents=True, exist_ok=True)
        port = _free_port()
        conf = self._work / "mosquitto.conf"
        # As root mosquitto would switch to the "mosquitto" user; stay who we are instead.
        conf.write_text(f"listener {port} 127.0.0.1\nallow_anonymous true\npersistence false\n"
                        f"user {pwd.getpwuid(os.geteuid()).pw_name}\n")
        self._broker = subprocess.Popen([binary, "-c", str(conf)], stdout=subprocess.DEVNULL,
                                        stderr=subprocess.DEVNULL, cwd=self._work)
        deadline = time.monotonic() + 5
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                return port
            except OSError:
                if self._broker.poll() is not None or time.monotonic() > deadline:
                    self._stop_broker()
                    raise OSError(f"mosquitto not listening on 127.0.0.1:{port}") from None
                time.sleep(0.05)

    def _publish(self, port: int) -> None:
        client = paho.Client(paho.CallbackAPIVersion.VERSION2, client_id="vigil-demo-meters")
        client.reconnect_delay_set(1, 5)
        try:
            client.connect("127.0.0.1", port, keepalive=30)
        except OSError as e:
            log.warning("demo: meters cannot reach the broker: %s", e)
            return
        client.loop_start()
        try:
            while not self._stop.is_set():
                elapsed = self._clock() - self._start
                for device in DEVICES:
                    if _online(device, elapsed):
                        client.publish(TOPIC.format(device=device),
                                       json.dumps(reading(device, elapsed)), qos=0)
                self._stop.wait(PUBLISH_EVERY_S)
        finally:
            client.loop_stop()
            client.disconnect()

    def _stop_broker(self) -> None:
        broker, self._broker = self._broker, None
        if broker is not None and broker.poll() is None:
            broker.terminate()
            try:
                broker.wait(timeout=5)
            except subprocess.TimeoutExpired:
                broker.kill()
                broker.wait()

    def close(self) -> None:
        self._stop.set()
        if self._publisher is not None:
            self._publisher.join(timeout=5)
        if self._collector is not None:
            self._collector.close()
        self._stop_broker()
