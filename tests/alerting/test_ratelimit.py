"""Per-integration rate limits (A3): a token bucket; notifications over the limit wait in
the outbox (no attempt counted, nothing dropped) and go out as tokens come back."""

from __future__ import annotations

import pytest

from tests.alerting.harness import Harness, alert
from tests.support.webhook import WebhookReceiver
from vigil.alerting.notify.ratelimit import TokenBucket
from vigil.config import load_config_text
from vigil.errors import ConfigError


def test_token_bucket_bursts_then_refills():
    bucket = TokenBucket(rate=0.5, burst=2)  # one token every 2 s
    assert bucket.take(100.0) == 0 and bucket.take(100.0) == 0
    assert bucket.take(100.0) == pytest.approx(2.0)
    assert bucket.take(101.0) == pytest.approx(1.0)
    assert bucket.take(102.0) == 0
    assert bucket.take(1000.0) == 0 and bucket.take(1000.0) == 0  # never more than burst
    assert bucket.take(1000.0) > 0


def test_notifications_over_the_limit_wait_in_the_outbox(tmp_path):
    with WebhookReceiver() as hook:
        h = Harness(tmp_path, f'      webhook_configs: [{{url: "{hook.url}", '
                              'rate_limit: {limit: 1, per: 1m}}]')
        h.fire_and_flush([alert(n, "db-1", h.clock.now) for n in ("A", "B", "C")])
        assert len(hook.received) == 1
        waiting = [e for e in h.store.outbox_list() if e.status == "pending"]
        assert len(waiting) == 2 and {e.attempts for e in waiting} == {0}
        h.clock.advance(30)
        h.tick()
        assert len(hook.received) == 1
        h.clock.advance(31)
        h.tick()
        assert len(hook.received) == 2
        h.clock.advance(60)
        h.tick()
        names = sorted(n["groupLabels"]["alertname"] for n in hook.received)
        assert names == ["A", "B", "C"]
        assert hook.attempts == 3


def test_rate_limit_must_be_positive():
    with pytest.raises(ConfigError) as info:
        load_config_text("""
alerting:
  receivers:
    - name: r
      webhook_configs:
        - url: http://x/
          rate_limit: {limit: 0}
  route: {receiver: r}
""", "v.yml")
    assert str(info.value).startswith("v.yml:7:") and "limit" in str(info.value)


def test_with_replicas_only_the_primary_delivers_rate_limited_integrations(tmp_path):
    # The bucket lives in one process's memory; leaving these entries to the primary keeps
    # the limit for the whole cluster (a follower would have a full bucket of its own).
    with WebhookReceiver() as hook:
        h = Harness(tmp_path, f'      webhook_configs: [{{url: "{hook.url}", '
                              'rate_limit: {limit: 1, per: 1m}}]')
        primary = False
        h.worker.is_primary = lambda: primary
        h.fire_and_flush([alert("A", "db-1", h.clock.now)])
        assert hook.received == []
        [waiting] = h.store.outbox_list()
        assert (waiting.status, waiting.claimed_by) == ("pending", None)
        primary = True
        h.tick()
        assert [n["groupLabels"]["alertname"] for n in hook.received] == ["A"]
