"""Inhibition: a firing source alert mutes targets with equal labels, also after a restart."""

from __future__ import annotations

from datetime import timedelta

from tests.alerting.harness import T0, webhook_harness
from tests.support.webhook import WebhookReceiver
from vigil.alerting.inhibit import Inhibitor
from vigil.config import load_config_text
from vigil.model import Alert, Labels

RULES = load_config_text("""
alerting:
  inhibit_rules:
    - source_matchers: ['severity="critical"']
      target_matchers: ['severity="warning"']
      equal: [alertname, instance]
    - source_match: {alertname: NodeDown}
      target_match_re: {alertname: ".+"}
      equal: [instance]
""").alerting.inhibit_rules


def mk(name, severity, instance, ends=None):
    return Alert(Labels({"alertname": name, "severity": severity, "instance": instance}), Labels(), T0, ends)


def test_inhibition_table():
    inhibitor = Inhibitor(RULES)
    critical = mk("HighCPU", "critical", "a")
    down = mk("NodeDown", "critical", "b")
    inhibitor.refresh([critical, down, mk("HighCPU", "warning", "a")], T0)
    assert inhibitor.inhibited_by(mk("HighCPU", "warning", "a").labels, T0) == [critical.fingerprint()]
    assert inhibitor.inhibited_by(mk("HighCPU", "warning", "c").labels, T0) == []  # other instance
    assert inhibitor.inhibited_by(mk("DiskFull", "warning", "a").labels, T0) == []  # other alertname
    assert inhibitor.inhibited_by(mk("Anything", "info", "b").labels, T0) == [down.fingerprint()]
    # The source does not inhibit itself although it matches the second rule's target side.
    assert inhibitor.inhibited_by(down.labels, T0) == []


def test_resolved_source_no_longer_inhibits():
    inhibitor = Inhibitor(RULES)
    inhibitor.refresh([mk("HighCPU", "critical", "a", ends=T0 + timedelta(minutes=1))], T0)
    target = mk("HighCPU", "warning", "a").labels
    assert inhibitor.mutes(target, T0)
    assert not inhibitor.mutes(target, T0 + timedelta(minutes=2))


def harness(tmp_path, url):
    h = webhook_harness(tmp_path, url)
    h.cfg = h.cfg.model_copy(update={"inhibit_rules": RULES})
    h.restart()
    return h


def test_inhibited_warning_is_not_sent_even_right_after_restart(tmp_path):
    with WebhookReceiver() as hook:
        h = harness(tmp_path, hook.url)
        h.dispatcher.put([mk("HighCPU", "critical", "a")])
        h.clock.advance(31)
        h.tick()
        assert len(hook.received) == 1
        h.restart()  # the critical alert comes back from the store before anything flushes
        h.dispatcher.put([mk("HighCPU", "warning", "a")])
        for _ in range(3):
            h.clock.advance(300)
            h.tick()
        sent = [a["labels"]["severity"] for b in hook.received for a in b["alerts"]]
        assert "warning" not in sent
