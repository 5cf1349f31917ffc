"""The demo's simulated sources, driven by an injected clock: the web app's incidents happen
on the script's cue and its page is valid exposition; the milk meters (simulated directly,
without a broker) report one meter offline on cue."""

from __future__ import annotations

from pathlib import Path

from vigil.collect import parse
from vigil.demo import scenario
from vigil.demo.milkmeters import DEVICES, MilkMeters
from vigil.demo.webapp import BUCKETS, WebApp


class Clock:
    def __init__(self, now: float = 1_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def series(text: str) -> dict[str, float]:
    out = {}
    for s in parse(text.encode(), "text/plain; version=0.0.4").samples:
        labels = s.labels.to_dict()
        name = labels.pop("__name__")
        out[name + "{" + ",".join(f'{k}="{v}"' for k, v in sorted(labels.items())) + "}"] = s.value
    return out


def error_ratio(before: dict[str, float], after: dict[str, float], handler: str,
                method: str) -> float:
    def delta(pred) -> float:
        return sum(after[k] - before.get(k, 0) for k in after
                   if k.startswith("http_requests_total{") and f'handler="{handler}"' in k
                   and f'method="{method}"' in k and pred(k))
    total = delta(lambda k: True)
    return delta(lambda k: 'code="5' in k) / total if total else 0.0


def test_web_app_errors_and_slowness_follow_the_script() -> None:
    clock = Clock()
    app = WebApp(clock)
    calm = series(app.collect())
    clock.now += scenario.ERRORS[0] - 1  # just before the error window
    before = series(app.collect())
    assert error_ratio(calm, before, "/api/orders", "POST") < 0.05
    clock.now += 60  # inside both the error and the slow window
    during = series(app.collect())
    assert error_ratio(before, during, "/api/orders", "POST") > 0.15
    assert error_ratio(before, during, "/", "GET") < 0.05

    # The histogram is cumulative, ends in +Inf == _count, and the slow endpoint's
    # requests mostly fall above 0.5 s while the others stay fast.
    for handler, method in (("/api/milk", "GET"), ("/", "GET")):
        key = f'handler="{handler}",le="%s",method="{method}"'
        buckets = [during["http_request_duration_seconds_bucket{" + key % repr(b) + "}"]
                   for b in BUCKETS]
        inf = during["http_request_duration_seconds_bucket{" + key % "+Inf" + "}"]
        assert buckets == sorted(buckets) and buckets[-1] <= inf
        count = during[f'http_request_duration_seconds_count{{handler="{handler}",method="{method}"}}']
        assert inf == count > 0
    def fast_share(handler: str, method: str) -> float:
        key = f'handler="{handler}",le="%s",method="{method}"'
        new = during["http_request_duration_seconds_bucket{" + key % "0.5" + "}"] - before[
            "http_request_duration_seconds_bucket{" + key % "0.5" + "}"]
        total = during["http_request_duration_seconds_bucket{" + key % "+Inf" + "}"] - before[
            "http_request_duration_seconds_bucket{" + key % "+Inf" + "}"]
        return new / total
    assert fast_share("/api/milk", "GET") < 0.5
    assert fast_share("/", "GET") > 0.95


def test_milk_meters_go_offline_on_cue_without_a_broker(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # no mosquitto on PATH
    monkeypatch.setattr("vigil.demo.milkmeters._mosquitto", lambda: None)
    clock = Clock()
    meters = MilkMeters(str(tmp_path / "mq"), clock)
    try:
        first = series(meters.collect())
        assert meters.source == "direct"
        online = {d for d in DEVICES if first.get(f'milkmeter_device_online{{device="{d}"}}') == 1}
        assert online == set(DEVICES)
        clock.now += scenario.METER_OFFLINE[0] + 20  # past offline_after of silence
        later = series(meters.collect())
        offline = {d for d in DEVICES if later[f'milkmeter_device_online{{device="{d}"}}'] == 0}
        assert offline == {scenario.OFFLINE_METER}
        assert later['vigil_collector_up{collector="farm"}'] == 1
        assert 0 < later['milkmeter_battery_pct{device="meter-01"}'] <= 100
    finally:
        meters.close()
