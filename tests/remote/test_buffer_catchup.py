"""storage.remote's write path: the queue in front of the store with the local TSDB as its
buffer. A store outage longer than the queue holds loses nothing the buffer still has, and
sends nothing twice (checked by reading every raw sample back from a real VictoriaMetrics
and a real Prometheus, which refuses an older sample of a series with 400)."""

from __future__ import annotations

import time

import pytest

from tests.support.victoriametrics import running_prometheus_store, running_victoria_metrics
from tests.support.vigil_proc import eventually
from vigil.config.model import RemoteWriteConfig
from vigil.model import Labels
from vigil.remote.queue import QueueManager
from vigil.tsdb import DB

STORES = {"victoria-metrics": running_victoria_metrics, "prometheus": running_prometheus_store}
SERIES = 5


@pytest.fixture(params=sorted(STORES))
def store(request, tmp_path):
    with STORES[request.param](tmp_path / "store") as s:
        yield s


def _write(db, first_ms: int, count: int) -> list[int]:
    """``count`` scrapes 1 s apart of SERIES series (one commit each); their timestamps."""
    stamps = [first_ms + i * 1000 for i in range(count)]
    for ts in stamps:
        app = db.appender()
        for k in range(SERIES):
            app.append(Labels({"__name__": "catchup_test", "series": str(k)}), ts, ts / 1000 + k)
        app.commit()
    return stamps


def _raw(store, now_ms: int) -> dict[str, list[tuple[int, float]]]:
    """Every raw sample of the test's series in the store, by series."""
    out = {}
    for s in store.query("catchup_test[10m]", now_ms):
        out[s["metric"]["series"]] = [(round(float(t) * 1000), float(v)) for t, v in s["values"]]
    return out


def test_outage_longer_than_the_queue_is_caught_up_from_the_buffer(store, db):
    config = RemoteWriteConfig.model_validate({
        "url": store.write_url,
        "queue_config": {"capacity": 20, "max_samples_per_send": 10, "batch_send_deadline": "50ms",
                         "min_backoff": "50ms", "max_backoff": "200ms"}})
    queue = QueueManager(config, buffer=db, buffer_retention_ms=3_600_000)
    unsubscribe = db.subscribe(queue.append)
    queue.start()
    start = int(time.time() * 1000) // 1000 * 1000 - 120_000
    try:
        before = _write(db, start, 3)
        eventually(lambda: len(_raw(store, start + 200_000)) == SERIES, 30, what="first samples")
        store.stop()
        during = _write(db, before[-1] + 1000, 30)  # 150 samples: the queue holds 20
        assert queue.deferred > 0
        store.start()
        after = _write(db, during[-1] + 1000, 3)
        stamps = before + during + after
        eventually(lambda: all(len(v) == len(stamps) for v in _raw(store, start + 200_000).values()),
                   60, what="every sample in the store")
    finally:
        unsubscribe()
        queue.stop()
    raw = _raw(store, start + 200_000)
    assert sorted(raw) == [str(k) for k in range(SERIES)]
    for k in range(SERIES):
        assert raw[str(k)] == [(ts, ts / 1000 + k) for ts in stamps]  # none lost, none twice
    assert queue.caught_up > 0
    assert queue.failed == 0 and queue.dropped == 0


def test_catch_up_skips_what_was_sent_before_the_gap(tmp_path, db):
    # A series sent up to t, then a late sample of another series (older than t) starts the
    # skipped span: reading that span back must not send the first series' t again, which
    # Prometheus refuses (an older sample of a series: the whole request gets 400).
    with running_prometheus_store(tmp_path / "prom") as store:
        config = RemoteWriteConfig.model_validate({
            "url": store.write_url,
            "queue_config": {"capacity": 5, "max_samples_per_send": 5, "batch_send_deadline": "50ms",
                             "min_backoff": "50ms", "max_backoff": "200ms"}})
        queue = QueueManager(config, buffer=db, buffer_retention_ms=3_600_000)
        unsubscribe = db.subscribe(queue.append)
        queue.start()
        t = int(time.time() * 1000) // 1000 * 1000 - 60_000
        first, late = Labels({"__name__": "catchup_a"}), Labels({"__name__": "catchup_b"})

        def commit(labels: Labels, ts: int) -> None:
            app = db.appender()
            app.append(labels, ts, ts / 1000)
            app.commit()

        try:
            for ts in (t - 2000, t - 1000, t):
                commit(first, ts)
            eventually(lambda: queue.sent == 3, 30, what="the first series sent")
            store.stop()
            for k in range(1, 20):  # more than the queue (and the request under way) holds
                commit(first, t + k * 1000)
            commit(late, t - 5000)  # skipped, and older than what was sent
            assert queue.deferred > 0
            store.start()
            eventually(lambda: queue.sent == 3 + 19 + 1, 60, what="everything sent")
        finally:
            unsubscribe()
            queue.stop()
        assert queue.failed == 0
        values = store.query("catchup_a[5m]", t + 30_000)[0]["values"]
        assert [round(float(ts) * 1000) for ts, _ in values] == [t + k * 1000 for k in range(-2, 20)]
        assert store.query("catchup_b[5m]", t + 30_000)[0]["values"] == [[(t - 5000) / 1000, str((t - 5000) // 1000)]]


def test_a_restart_during_an_outage_sends_the_gap_at_the_next_start(tmp_path):
    # A clean stop while the store is down saves what was not sent; Vigil's next start
    # (the buffer reopened from its WAL) sends it, once, in order, to a real Prometheus.
    state = tmp_path / "unsent.json"
    t = int(time.time() * 1000) // 1000 * 1000 - 60_000
    with running_prometheus_store(tmp_path / "prom") as store:
        config = RemoteWriteConfig.model_validate({
            "url": store.write_url,
            "queue_config": {"capacity": 10, "max_samples_per_send": 5, "batch_send_deadline": "50ms",
                             "min_backoff": "50ms", "max_backoff": "200ms"}})

        def running(db):
            queue = QueueManager(config, buffer=db, buffer_retention_ms=3_600_000, state_file=str(state))
            return queue, db.subscribe(queue.append)

        db = DB.open(str(tmp_path / "buffer"), wal_fsync="always")
        queue, unsubscribe = running(db)
        queue.start()
        stamps = _write(db, t, 3)
        eventually(lambda: queue.sent == 3 * SERIES, 30, what="the first samples sent")
        store.stop()
        stamps += _write(db, stamps[-1] + 1000, 10)  # 50 samples: the queue holds 10
        unsubscribe()
        queue.stop()
        db.close()
        assert state.exists() and queue.failed == 0

        db = DB.open(str(tmp_path / "buffer"), wal_fsync="always")  # the WAL replayed
        queue, unsubscribe = running(db)
        queue.start()
        try:
            assert not state.exists()
            stamps += _write(db, stamps[-1] + 1000, 2)
            store.start()
            eventually(lambda: all(len(v) == len(stamps) for v in _raw(store, t + 100_000).values()),
                       60, what="every sample in the store")
        finally:
            unsubscribe()
            queue.stop()
            db.close()
        raw = _raw(store, t + 100_000)
        assert sorted(raw) == [str(k) for k in range(SERIES)]
        for k in range(SERIES):
            assert raw[str(k)] == [(ts, ts / 1000 + k) for ts in stamps]
        assert queue.failed == 0 and not state.exists()
