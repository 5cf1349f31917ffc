"""Rule evaluation cost: the shipped runbook pack over many hosts of node_exporter-like data,
Vigil and Prometheus 2.42 side by side on the same samples.

    .venv/bin/python bench/rules_eval.py --hosts 1000 --minutes 20 --cycles 4

Vigil: the data goes into a real TSDB; ``rules.Manager.evaluate_group`` runs every pack group
once per cycle in this process and the CPU time per cycle (``time.process_time``) is taken.
Prometheus: the same samples arrive by remote write (in time order, into its head, so that it
stores the rules' output as Vigil does); it starts without rules, its idle CPU is measured
for ``cycles`` intervals, then the pack is loaded with ``/-/reload`` and its CPU is measured
again for the same number of 15 s cycles; the difference is the rules' cost. Both then report
which alerts are active and which recorded series exist. The samples reach 15 minutes past "now" so that both
servers, evaluating at their own wall-clock times minutes apart, see the same windows.
"""

from __future__ import annotations

import argparse
import re
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import httpx
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.support.prometheus import remote_write, running_prometheus  # noqa: E402
from vigil.model import Labels  # noqa: E402
from vigil.promql import Engine  # noqa: E402
from vigil.promql.value import Vector  # noqa: E402
from vigil.remote.codec import encode_labels  # noqa: E402
from vigil.rules import Manager, default_rule_files, engine_query_func, load_rule_files  # noqa: E402
from vigil.selfmetrics import SelfMetrics  # noqa: E402
from vigil.tsdb import DB  # noqa: E402

STEP_MS = 15_000
MODES = ("idle", "user", "system", "iowait", "irq", "softirq", "steal", "nice")


# Samples run this far past "now": both servers evaluate at their own wall-clock time, minutes
# apart, and must see the same windows of these stationary series.
FUTURE_MS = 15 * 60_000


def host_series(hosts: int, minutes: int, now_ms: int):
    """(name, labels, samples) for every series; some hosts run hot so that alerts fire."""
    rng = np.random.default_rng(7)
    steps = (minutes * 60_000 + FUTURE_MS) // STEP_MS
    start = now_ms - minutes * 60_000
    ts = [start + i * STEP_MS + int(rng.integers(1, 40)) for i in range(steps + 1)]
    t = np.arange(steps + 1) * STEP_MS / 1000.0
    for h in range(hosts):
        base = {"job": "node", "instance": f"host-{h:04d}:9100"}
        busy = 0.9 if h < hosts * 0.05 else 0.75 if h < hosts * 0.10 else 0.2
        avail = 0.05 if hosts * 0.10 <= h < hosts * 0.15 else 0.5
        disk_avail = 0.08 if hosts * 0.15 <= h < hosts * 0.20 else 0.6
        for cpu in ("0", "1"):
            for mode in MODES:
                share = (1 - busy) if mode == "idle" else busy / (len(MODES) - 1)
                yield ("node_cpu_seconds_total", {**base, "cpu": cpu, "mode": mode},
                       list(zip(ts, np.round(1e5 + t * share, 2).tolist(), strict=True)))
        yield ("node_memory_MemTotal_bytes", base, [(x, 16e9) for x in ts])
        yield ("node_memory_MemAvailable_bytes", base, [(x, 16e9 * avail) for x in ts])
        for device, mount in (("/dev/sda1", "/"), ("/dev/sdb1", "/data")):
            fs = {**base, "device": device, "fstype": "ext4", "mountpoint": mount}
            yield ("node_filesystem_size_bytes", fs, [(x, 5e11) for x in ts])
            yield ("node_filesystem_avail_bytes", fs, [(x, 5e11 * disk_avail) for x in ts])
        for direction in ("receive", "transmit"):
            yield (f"node_network_{direction}_bytes_total", {**base, "device": "eth0"},
                   list(zip(ts, np.round(1e9 + t * 1.25e5, 0).tolist(), strict=True)))
        for name in ("node_load1", "node_load5", "node_load15"):
            yield (name, base, [(x, 1.5) for x in ts])
        yield ("node_boot_time_seconds", base, [(x, 1.7e9) for x in ts])
        yield ("up", base, [(x, 1.0) for x in ts])


def load_vigil(db: DB, series) -> int:
    count = 0
    by_ts: dict[int, list[tuple[Labels, float]]] = {}
    for name, labels, samples in series:
        key = Labels({**labels, "__name__": name})
        for ts, v in samples:
            by_ts.setdefault(ts, []).append((key, float(v)))
            count += 1
    for ts in sorted(by_ts):  # one commit per scrape time, as scrapes would
        app = db.appender()
        for key, v in by_ts[ts]:
            app.append(key, ts, v)
        app.commit()
    return count


def summarize(alerts: list[dict[str, str]], recorded: set[str]) -> str:
    states: dict[str, int] = {}
    for a in alerts:
        k = f"{a['alertname']}/{a['alertstate']}"
        states[k] = states.get(k, 0) + 1
    return f"{len(alerts)} active alerts {dict(sorted(states.items()))}; {len(recorded)} recorded series"


def run_vigil(series, cycles: int, work: Path, last_eval: dict[str, int], since_ms: int
              ) -> tuple[list[float], list[dict], set[str]]:
    """Evaluate every group at the instants Prometheus evaluated it: every 15 s from its first
    evaluation after ``since_ms`` (when the rules were loaded) to ``last_eval`` (group name ->
    ms), so that both see the same windows and build the same recorded history. The last
    ``cycles`` evaluations are timed."""
    with DB.open(work / "vigil-tsdb") as db:
        n = load_vigil(db, series)
        print(f"vigil: loaded {n} samples", flush=True)
        engine = Engine(db)
        manager = Manager(query=engine_query_func(engine), notify=lambda alerts: None, storage=db,
                          state_store=None, metrics=SelfMetrics())
        groups = load_rule_files(default_rule_files())
        manager.update(groups)
        per_cycle = []
        history = max((t - since_ms) // STEP_MS for t in last_eval.values())
        for back in range(history, -1, -1):
            started = time.process_time()
            for group in groups:
                at = last_eval[group.name] - back * STEP_MS
                if at >= since_ms:
                    manager.evaluate_group(group, at)
            if back < cycles:
                per_cycle.append(time.process_time() - started)
        last = max(last_eval.values())
        alerts = engine.instant_query("ALERTS", last).value
        recorded = engine.instant_query('{__name__=~".+:.+"}', last).value
        assert isinstance(alerts, Vector) and isinstance(recorded, Vector)
        return (per_cycle, [s.labels.to_dict() for s in alerts.samples],
                {str(s.labels) for s in recorded.samples})


def proc_cpu_s(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / 100.0  # utime + stime, USER_HZ = 100


def by_time(series) -> Iterator[list[tuple[bytes, int, float]]]:
    """Remote-write batches of 2,000 samples in time order."""
    by_ts: dict[int, list[tuple[bytes, float]]] = {}
    for name, labels, samples in series:
        encoded = encode_labels(sorted({**labels, "__name__": name}.items()))
        for ts, v in samples:
            by_ts.setdefault(ts, []).append((encoded, float(v)))
    for ts in sorted(by_ts):
        rows = by_ts[ts]
        for i in range(0, len(rows), 2000):
            yield [(lb, ts, v) for lb, v in rows[i:i + 2000]]


def run_prometheus(series, cycles: int, work: Path
                   ) -> tuple[float, float, list[dict], set[str], dict[str, int], int]:
    data = work / "prom-data"
    data.mkdir()
    rule_files = "\n".join(f"  - {f}" for f in default_rule_files())
    with_rules = f"global: {{evaluation_interval: 15s}}\nrule_files:\n{rule_files}\n"
    with running_prometheus(data, extra_args=["--web.enable-lifecycle",
                                              "--web.enable-remote-write-receiver"],
                            config_yaml="global: {evaluation_interval: 15s}\n") as prom:
        n = remote_write(f"{prom.url}/api/v1/write", by_time(series))
        print(f"prometheus: received {n} samples by remote write", flush=True)
        window = cycles * STEP_MS / 1000
        idle_start = proc_cpu_s(prom.pid)
        time.sleep(window)
        idle = proc_cpu_s(prom.pid) - idle_start
        (data.parent / "prometheus.yml").write_text(with_rules)
        since_ms = int(time.time() * 1000)
        reload = httpx.post(f"{prom.url}/-/reload", timeout=60)
        if reload.status_code != 200:
            raise RuntimeError(f"Prometheus rejected the pack: {reload.text}")
        time.sleep(STEP_MS / 1000 + 1)  # let the first, cold evaluation pass
        busy_start = proc_cpu_s(prom.pid)
        time.sleep(window)
        busy = proc_cpu_s(prom.pid) - busy_start
        groups = prom.api("rules")["data"]["groups"]
        last_wall = sum(g.get("evaluationTime", 0.0) for g in groups)
        alerts = [{**a["labels"], "alertstate": a["state"]}
                  for a in prom.api("alerts")["data"]["alerts"]]
        recorded = prom.api("query", query='{__name__=~".+:.+"}')["data"]["result"]
        rec = {_series_name(r["metric"]) for r in recorded}
        last_eval = {g["name"]: _rfc3339_ms(g["lastEvaluation"]) for g in groups}
        return (busy - idle) / cycles, last_wall, alerts, rec, last_eval, since_ms


def _rfc3339_ms(text: str) -> int:
    # Go prints up to nanoseconds; fromisoformat takes at most microseconds.
    text = re.sub(r"(\.\d{6})\d+", r"\1", text)
    return int(datetime.fromisoformat(text).timestamp() * 1000)


def _series_name(metric: dict[str, str]) -> str:
    return str(Labels(metric))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--hosts", type=int, default=1000)
    p.add_argument("--minutes", type=int, default=20, help="history loaded before evaluating")
    p.add_argument("--cycles", type=int, default=4)
    args = p.parse_args()
    now_ms = int(time.time() * 1000)
    with tempfile.TemporaryDirectory(prefix="vigil-rules-bench-") as tmp:
        work = Path(tmp)
        prom_cpu, prom_wall, prom_alerts, prom_rec, last_eval, since_ms = run_prometheus(
            host_series(args.hosts, args.minutes, now_ms), args.cycles, work)
        vigil_cycles, vigil_alerts, vigil_rec = run_vigil(
            host_series(args.hosts, args.minutes, now_ms), args.cycles, work, last_eval, since_ms)
    groups = load_rule_files(default_rule_files())
    rules = sum(len(g.rules) for g in groups)
    print(f"\n{args.hosts} hosts, {rules} rules in {len(groups)} groups, {args.cycles} cycles")
    print(f"vigil:      CPU s per cycle median {statistics.median(vigil_cycles):.3f} "
          f"(cycles: {', '.join(f'{c:.3f}' for c in vigil_cycles)})")
    print(f"prometheus: CPU s per cycle {prom_cpu:.3f} (process CPU with rules minus idle); "
          f"last cycle's evaluation time {prom_wall:.3f} s")
    print(f"vigil:      {summarize(vigil_alerts, vigil_rec)}")
    print(f"prometheus: {summarize(prom_alerts, prom_rec)}")
    same_alerts = ({(a['alertname'], a.get('instance', '')) for a in vigil_alerts}
                   == {(a['alertname'], a.get('instance', '')) for a in prom_alerts})
    print(f"same active alerts (name, instance): {same_alerts}")
    print(f"same recorded series: {vigil_rec == prom_rec} "
          f"({len(vigil_rec & prom_rec)} common, {len(vigil_rec - prom_rec)} only in vigil, "
          f"{len(prom_rec - vigil_rec)} only in prometheus)")
    only_vigil = sorted({a['alertname'] for a in vigil_alerts} - {a['alertname'] for a in prom_alerts})
    only_prom = sorted({a['alertname'] for a in prom_alerts} - {a['alertname'] for a in vigil_alerts})
    if not same_alerts:
        print(f"alert names only in vigil: {only_vigil}; only in prometheus: {only_prom}")


if __name__ == "__main__":
    main()
