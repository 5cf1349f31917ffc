"""IoT telemetry from a real mosquitto broker; offline detection with an injected clock."""

from __future__ import annotations

import gc
import json
import threading
import time
from collections.abc import Callable, Iterator

import paho.mqtt.client as paho
import pytest

from vigil.collect.exporters import CollectorError, MQTTCollector
from vigil.config.model import MQTTCollectorConfig

from .conftest import MQTTBroker, free_port
from .pages import values

ENV = "VIGIL_TEST_MQTT_PASSWORD"


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def publish(mqtt_broker: MQTTBroker) -> Iterator[Callable[[str, object], None]]:
    client = paho.Client(paho.CallbackAPIVersion.VERSION2, client_id="test-publisher")
    client.username_pw_set(mqtt_broker.user, mqtt_broker.password)
    client.connect("127.0.0.1", mqtt_broker.port)
    client.loop_start()

    def send(topic: str, payload: object) -> None:
        data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        client.publish(topic, data, qos=1).wait_for_publish(timeout=5)

    yield send
    client.disconnect()
    client.loop_stop()


@pytest.fixture
def collector(mqtt_broker: MQTTBroker, monkeypatch: pytest.MonkeyPatch
              ) -> Iterator[tuple[MQTTCollector, Clock]]:
    monkeypatch.setenv(ENV, mqtt_broker.password)
    clock = Clock()
    c = MQTTCollector(MQTTCollectorConfig(
        name="farm", address=mqtt_broker.address, username=mqtt_broker.user,
        password_env=ENV, topics=["farm/+/telemetry", "farm/+/milk_volume_liters"],
        offline_after=300), clock=clock)
    yield c, clock
    c.close()


def wait_for(collector: MQTTCollector, key: str) -> dict[str, float]:
    deadline = time.monotonic() + 10
    while True:
        v = values(collector.collect())
        if key in v:
            return v
        assert time.monotonic() < deadline, f"{key} never appeared"
        time.sleep(0.05)


def test_device_readings_and_offline(collector: tuple[MQTTCollector, Clock],
                                     publish: Callable[[str, object], None]) -> None:
    c, clock = collector
    assert values(c.collect())['vigil_collector_up{collector="farm"}'] == 1  # subscribes
    publish("farm/cow-1/telemetry", {"battery": 87, "signal": {"rssi": -71}, "status": "ok"})
    publish("farm/cow-2/telemetry", {"battery": 12.5, "charging": True})
    publish("farm/cow-1/milk_volume_liters", b"12.25")
    publish("farm/cow-1/telemetry", b"not json")
    wait_for(c, 'mqtt_milk_volume_liters{device="cow-1"}')
    v = wait_for(c, 'mqtt_charging{device="cow-2"}')
    assert v['mqtt_battery{device="cow-1"}'] == 87
    assert v['mqtt_signal_rssi{device="cow-1"}'] == -71
    assert v['mqtt_status_info{device="cow-1",value="ok"}'] == 1
    assert v['mqtt_battery{device="cow-2"}'] == 12.5
    assert v['mqtt_charging{device="cow-2"}'] == 1
    assert v['mqtt_milk_volume_liters{device="cow-1"}'] == 12.25
    assert v['mqtt_device_online{device="cow-1"}'] == 1
    assert v['mqtt_device_last_seen_timestamp_seconds{device="cow-2"}'] == clock.now
    v = wait_for(c, 'vigil_mqtt_messages_invalid_total{collector="farm"}')
    assert v['vigil_mqtt_messages_received_total{collector="farm"}'] >= 3

    # cow-1 keeps reporting, cow-2 falls silent for longer than offline_after.
    clock.now += 200
    publish("farm/cow-1/telemetry", {"battery": 86})
    deadline = time.monotonic() + 10
    while values(c.collect())['mqtt_battery{device="cow-1"}'] != 86:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    clock.now += 200
    v = values(c.collect())
    assert v['mqtt_device_online{device="cow-1"}'] == 1
    assert v['mqtt_device_online{device="cow-2"}'] == 0
    assert v['mqtt_battery{device="cow-2"}'] == 12.5  # the last reading stays visible


def test_wrong_password_is_a_clear_error(mqtt_broker: MQTTBroker,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ENV, "wrong")
    c = MQTTCollector(MQTTCollectorConfig(name="farm", address=mqtt_broker.address,
                                          username="vigil", password_env=ENV))
    try:
        with pytest.raises(CollectorError, match="broker refused the connection") as info:
            c.collect()
        assert mqtt_broker.address in str(info.value)
    finally:
        c.close()


def test_broker_down_is_a_clear_error() -> None:
    c = MQTTCollector(MQTTCollectorConfig(name="farm", address=f"127.0.0.1:{free_port()}",
                                          timeout=2))
    with pytest.raises(CollectorError, match="(?i)connection to .* failed: connection refused"):
        c.collect()
    c.close()


def test_close_stops_the_network_thread(collector: tuple[MQTTCollector, Clock]) -> None:
    c, _ = collector
    before = threading.active_count()
    c.collect()
    assert threading.active_count() == before + 1
    c.close()
    assert threading.active_count() == before


def test_a_dropped_collector_disconnects(mqtt_broker: MQTTBroker,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """After a reload the app drops old targets without closing them; the finalizer must."""
    monkeypatch.setenv(ENV, mqtt_broker.password)
    before = threading.active_count()
    c = MQTTCollector(MQTTCollectorConfig(name="farm", address=mqtt_broker.address,
                                          username=mqtt_broker.user, password_env=ENV))
    c.collect()
    assert threading.active_count() == before + 1
    del c
    gc.collect()
    assert threading.active_count() == before
