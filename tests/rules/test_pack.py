"""The shipped runbook rule pack (infrastructure part), over the real PromQL engine.

Synthetic node_exporter series are written at a 15 s scrape interval; the group is evaluated
every minute. Each alert must go pending as soon as its threshold is crossed, fire after its
5 minutes, not fire below its threshold, and resolve when usage drops.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from tests.rules.harness import MIN, T0, Harness
from tests.support.tsdb_store import TempTSDB
from vigil.model.alert import Alert
from vigil.rules import default_rule_files, load_rule_files

STEP = 15_000
START = T0 - 10 * MIN
DROP = T0 + 8 * MIN  # usage falls to 10% here
END = T0 + 16 * MIN
GIB = 1024.0**3


def usage_at(ts: int, high: float) -> float:
    return high if ts < DROP else 0.10


def write_cpu(h: Harness, high: float, instance: str = "node1:9100") -> None:
    for cpu in ("0", "1"):
        idle = user = 1000.0
        for ts in range(START, END + 1, STEP):
            u = usage_at(ts, high)
            idle += (1 - u) * STEP / 1000
            user += u * STEP / 1000
            for mode, v in (("idle", idle), ("user", user)):
                h.store.add({"__name__": "node_cpu_seconds_total", "instance": instance,
                             "job": "node", "cpu": cpu, "mode": mode}, [(ts, v)])


def write_memory(h: Harness, high: float, instance: str = "node1:9100") -> None:
    base = {"instance": instance, "job": "node"}
    total = 16 * GIB
    for ts in range(START, END + 1, STEP):
        h.store.add({"__name__": "node_memory_MemTotal_bytes", **base}, [(ts, total)])
        h.store.add({"__name__": "node_memory_MemAvailable_bytes", **base},
                    [(ts, total * (1 - usage_at(ts, high)))])


def write_disk(h: Harness, high: float, instance: str = "node1:9100") -> None:
    size = 100 * GIB
    filesystems = [
        ({"device": "/dev/sda1", "fstype": "ext4", "mountpoint": "/"}, high),
        # Always nearly full, but pseudo filesystems must never alert.
        ({"device": "tmpfs", "fstype": "tmpfs", "mountpoint": "/run"}, 0.99),
        ({"device": "overlay", "fstype": "overlay", "mountpoint": "/var/lib/docker/x"}, 0.99),
    ]
    for fs, level in filesystems:
        base = {"instance": instance, "job": "node", **fs}
        for ts in range(START, END + 1, STEP):
            used = usage_at(ts, level) if level == high else level
            h.store.add({"__name__": "node_filesystem_size_bytes", **base}, [(ts, size)])
            h.store.add({"__name__": "node_filesystem_avail_bytes", **base},
                        [(ts, size * (1 - used))])


KINDS: dict[str, tuple[str, Callable[[Harness, float], None], float, float]] = {
    # kind: (alertname, writer, warning threshold, critical threshold)
    "cpu": ("NodeHighCPUUsage", write_cpu, 0.70, 0.85),
    "memory": ("NodeHighMemoryUsage", write_memory, 0.80, 0.90),
    "disk": ("NodeHighDiskUsage", write_disk, 0.80, 0.90),
}


def pack_harness(store: TempTSDB) -> Harness:
    path = next(f for f in default_rule_files() if f.endswith("infrastructure.yml"))
    return Harness(store, Path(path).read_text(encoding="utf-8"), engine=True)


def run(store: TempTSDB, kind: str, high: float) -> tuple[Harness, dict[int, list[Alert]], dict[int, dict[str, str]]]:
    h = pack_harness(store)
    KINDS[kind][1](h, high)
    sent: dict[int, list[Alert]] = {}
    states: dict[int, dict[str, str]] = {}
    for m in range(0, (END - T0) // MIN + 1):
        sent[m] = h.eval(T0 + m * MIN)
        states[m] = {a.labels.get("severity"): a.state for a in h.manager.alerts()}
        errors = [(r.name, r.last_error) for r in h.manager.groups()[0].rules if r.health != "ok"]
        assert not errors
    return h, sent, states


def test_pack_is_shipped_and_valid() -> None:
    files = [f for f in default_rule_files() if f.endswith("infrastructure.yml")]
    assert len(files) == 1  # the whole pack is checked in test_pack_unittests.py
    (group,) = load_rule_files(files)
    assert len(group.rules) == 6
    for rule in group.rules:
        labels = dict(rule.labels)
        annotations = dict(rule.annotations)
        assert labels["severity"] in ("warning", "critical")
        assert labels["priority"] == {"warning": "P3", "critical": "P2"}[labels["severity"]]
        assert annotations["runbook_url"] == f"/runbooks/{rule.alert}"
        assert {"summary", "description"} <= annotations.keys()
        assert rule.for_s == 300.0


@pytest.mark.parametrize("kind", sorted(KINDS))
@pytest.mark.parametrize("level", ["below", "warning", "critical"])
def test_thresholds_for_and_resolve(kind: str, level: str, tsdb_store: TempTSDB) -> None:
    alertname, _, warn, crit = KINDS[kind]
    high = {"below": warn - 0.05, "warning": (warn + crit) / 2, "critical": crit + 0.05}[level]
    expected = {"below": set(), "warning": {"warning"}, "critical": {"warning", "critical"}}[level]
    h, sent, states = run(tsdb_store, kind, high)

    if not expected:
        assert all(not s for s in states.values())
        assert all(not batch for batch in sent.values())
        return
    for m in range(0, 5):  # the threshold is crossed from the start: pending for 5 minutes
        assert states[m] == dict.fromkeys(expected, "pending"), m
        assert sent[m] == []
    assert states[5] == dict.fromkeys(expected, "firing")
    fired = {a.labels.get("severity"): a for a in sent[5]}
    assert fired.keys() == expected
    for sev, a in fired.items():
        assert a.name == alertname
        assert a.labels.get("instance") == "node1:9100"
        assert a.labels.get("priority") == {"warning": "P3", "critical": "P2"}[sev]
        assert a.annotations.get("runbook_url") == f"/runbooks/{alertname}"
        assert "node1:9100" in a.annotations.get("description")
        assert f"{high * 100:.4g}%" in a.annotations.get("description")
        if kind == "disk":
            assert a.labels.get("mountpoint") == "/"
    # Usage drops at 8m: every alert is resolved and sent as such, nothing stays active.
    resolved = {a.labels.get("severity") for m in range(8, 12) for a in sent[m] if a.resolved()}
    assert resolved == expected
    assert states[(END - T0) // MIN] == {}


def test_pack_ignores_other_instances_below_threshold(tsdb_store: TempTSDB) -> None:
    h = pack_harness(tsdb_store)
    write_cpu(h, 0.95, instance="busy:9100")
    write_cpu(h, 0.20, instance="idle:9100")
    for m in range(6):
        h.eval(T0 + m * MIN)
    assert {a.labels.get("instance") for a in h.manager.alerts()} == {"busy:9100"}
