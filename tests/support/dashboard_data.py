"""Known series for the dashboard page tests and benchmarks, written into a real TSDB.

:func:`write_hosts` writes three hosts (host-a, host-b, host-c; host-c is down) over the seven
hours before ``now_ms`` at 15 s, as the panels of tests/data/dashboards/browser-hosts.yaml
read them. :func:`write_node_fleet` writes ``hosts`` node_exporter-like hosts (the series an
infrastructure dashboard reads) for the load benchmark.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

from vigil.model.labels import Labels
from vigil.tsdb import DB

__all__ = ["GIB", "HOSTS", "STEP_MS", "write_hosts", "write_node_fleet"]

STEP_MS = 15_000
GIB = 1024**3
HOSTS = ("host-a", "host-b", "host-c")
# Per host: load (host-b stays above the 2.5 threshold), up, memory available, CPU busy %.
_LOAD = {"host-a": 1.0, "host-b": 3.0, "host-c": 0.5}
_UP = {"host-a": 1.0, "host-b": 1.0, "host-c": 0.0}
_MEMORY = {"host-a": 1.0 * GIB, "host-b": 0.5 * GIB, "host-c": 0.5 * GIB}
_CPU = {"host-a": 40.0, "host-b": 90.0, "host-c": 20.0}
_BUCKETS = {"0.1": 5.0, "0.5": 8.0, "1": 9.0, "+Inf": 10.0}  # cumulative requests per second


def _times(now_ms: int, hours: float) -> list[int]:
    first = now_ms - int(hours * 3600_000)
    first -= first % STEP_MS
    return list(range(first, now_ms + 1, STEP_MS))


def _append(db: DB, rows: Iterable[tuple[dict[str, str], list[tuple[int, float]]]]) -> None:
    app = db.appender()
    for labels, points in rows:
        lb = Labels(labels)
        for ts, v in points:
            app.append(lb, ts, v)
    app.commit()


def write_hosts(db: DB, now_ms: int) -> None:
    """The three test hosts' series over the seven hours before ``now_ms``."""
    times = _times(now_ms, 7)
    rows: list[tuple[dict[str, str], list[tuple[int, float]]]] = []
    for host in HOSTS:
        base = {"instance": host, "job": "node"}
        rows.append(({"__name__": "node_load1", **base},
                     [(t, _LOAD[host] + (0.25 * math.sin(i / 20) if host == "host-a" else 0.0))
                      for i, t in enumerate(times)]))
        rows.append(({"__name__": "up", **base}, [(t, _UP[host]) for t in times]))
        rows.append(({"__name__": "node_memory_MemAvailable_bytes", **base}, [(t, _MEMORY[host]) for t in times]))
        rows.append(({"__name__": "cpu_busy_percent", **base}, [(t, _CPU[host]) for t in times]))
        rate = {"host-a": 1.0, "host-b": 2.0, "host-c": 4.0}[host] * 1024**2
        rows.append(({"__name__": "node_disk_written_bytes_total", **base},
                     [(t, rate * i * STEP_MS / 1000) for i, t in enumerate(times)]))
    for le, per_s in _BUCKETS.items():
        rows.append(({"__name__": "http_request_duration_seconds_bucket", "job": "api", "le": le},
                     [(t, per_s * i * STEP_MS / 1000) for i, t in enumerate(times)]))
    _append(db, rows)


def write_node_fleet(db: DB, now_ms: int, hosts: int, *, hours: float = 6) -> None:
    """``hosts`` hosts (node-000:9100 ...) with the node_exporter series an infrastructure
    dashboard reads: up, uname, boot time, CPU seconds by mode (2 CPUs), load, memory,
    filesystem, network and disk counters, over ``hours`` before ``now_ms`` at 15 s. Every
    37th host is down."""
    times = _times(now_ms, hours)
    n = len(times)
    ramp = [i * STEP_MS / 1000 for i in range(n)]  # seconds since the first sample
    for h in range(hosts):
        instance = f"node-{h:03d}:9100"
        base = {"instance": instance, "job": "node"}
        wobble = [math.sin(i / 30 + h) for i in range(n)]
        gauges: list[tuple[dict[str, str], list[float]]] = [
            ({"__name__": "up"}, [0.0 if h % 37 == 36 else 1.0] * n),
            ({"__name__": "node_uname_info", "nodename": f"node-{h:03d}", "release": "6.1.0",
              "machine": "x86_64", "sysname": "Linux"}, [1.0] * n),
            ({"__name__": "node_boot_time_seconds"}, [now_ms / 1000 - 86400 * (1 + h % 30)] * n),
            ({"__name__": "node_load1"}, [1 + h % 4 + 0.5 * w for w in wobble]),
            ({"__name__": "node_load5"}, [1 + h % 4 + 0.3 * w for w in wobble]),
            ({"__name__": "node_load15"}, [1 + h % 4 + 0.1 * w for w in wobble]),
            ({"__name__": "node_memory_MemTotal_bytes"}, [16.0 * GIB] * n),
            ({"__name__": "node_memory_MemAvailable_bytes"}, [(6 + 2 * w) * GIB for w in wobble]),
            ({"__name__": "node_memory_Cached_bytes"}, [3.0 * GIB] * n),
            ({"__name__": "node_memory_Buffers_bytes"}, [0.5 * GIB] * n),
        ]
        fs = {"mountpoint": "/", "fstype": "ext4", "device": "/dev/sda1"}
        gauges.append(({"__name__": "node_filesystem_size_bytes", **fs}, [100.0 * GIB] * n))
        gauges.append(({"__name__": "node_filesystem_avail_bytes", **fs}, [(40.0 + h % 50) * GIB] * n))
        counters: list[tuple[dict[str, str], float]] = []
        for cpu in ("0", "1"):
            for mode, share in (("idle", 0.7), ("user", 0.2), ("system", 0.08), ("iowait", 0.02)):
                counters.append(({"__name__": "node_cpu_seconds_total", "cpu": cpu, "mode": mode}, share))
        for name, per_s in (("node_network_receive_bytes_total", 2e6 * (1 + h % 3)),
                            ("node_network_transmit_bytes_total", 1e6 * (1 + h % 3)),
                            ("node_network_receive_errs_total", 0.01), ("node_network_transmit_errs_total", 0.0),
                            ("node_network_receive_drop_total", 0.02), ("node_network_transmit_drop_total", 0.0)):
            counters.append(({"__name__": name, "device": "eth0"}, per_s))
        for name, per_s in (("node_disk_read_bytes_total", 5e5), ("node_disk_written_bytes_total", 8e5)):
            counters.append(({"__name__": name, "device": "sda"}, per_s))
        rows = [({**base, **labels}, list(zip(times, values, strict=True))) for labels, values in gauges]
        rows += [({**base, **labels}, [(t, per_s * r) for t, r in zip(times, ramp, strict=True)])
                 for labels, per_s in counters]
        _append(db, rows)
