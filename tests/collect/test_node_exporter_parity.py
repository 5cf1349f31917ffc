"""The host collector against the real node_exporter (Debian's ``prometheus-node-exporter``,
1.5): for the collectors Vigil implements, the same metric families, types and label sets.

node_exporter runs with the same device and mount exclusions as Vigil, so even the label
*values* (which CPUs, devices, mounts) must agree; only sample values may differ. Where
Debian's packaging changes node_exporter's defaults (it excludes ``lo`` and ``/run``,
``/mnt``, ``/media``) or Vigil follows a newer upstream default (``zram`` disks excluded),
the flags below pass Vigil's patterns; docs/collectors.md lists those differences.
"""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from vigil.collect import HostCollector, parse
from vigil.collect import host as host_module
from vigil.config import HostCollectorConfig

from ..support.ports import free_port

NODE_EXPORTER = Path("/usr/bin/prometheus-node-exporter")
COLLECTORS = ("cpu", "meminfo", "filesystem", "netdev", "loadavg", "diskstats", "stat", "time",
              "uname")
# node_exporter's own process and build metrics, and Vigil's collector health: not host
# metrics.
NOT_HOST = ("go_", "process_", "promhttp_", "node_exporter_", "vigil_collector_")

Families = dict[str, tuple[str, frozenset[tuple[tuple[str, str], ...]]]]


@pytest.fixture(scope="module")
def node_exporter() -> Iterator[str]:
    if not NODE_EXPORTER.exists():
        pytest.fail("node_exporter is not installed: scripts/test installs "
                    "Debian's prometheus-node-exporter")
    port = free_port()
    args = [str(NODE_EXPORTER), f"--web.listen-address=127.0.0.1:{port}",
            "--collector.disable-defaults", *(f"--collector.{c}" for c in COLLECTORS),
            "--collector.netdev.device-exclude=^$",
            f"--collector.filesystem.mount-points-exclude={host_module.MOUNT_POINTS_EXCLUDE.pattern}",
            f"--collector.filesystem.fs-types-exclude={host_module.FS_TYPES_EXCLUDE.pattern}",
            f"--collector.diskstats.device-exclude={host_module.DISK_DEVICES_EXCLUDE.pattern}"]
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    url = f"http://127.0.0.1:{port}/metrics"
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                if httpx.get(url, timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                err = proc.stderr.read().decode() if proc.stderr else ""
                pytest.fail(f"node_exporter did not start: {err[-2000:]}")
            time.sleep(0.05)
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def families(text: str, content_type: str = "text/plain; version=0.0.4") -> Families:
    """name -> (type, set of label sets). Empty label values count as absent, as stored."""
    result = parse(text.encode(), content_type)
    labelsets: dict[str, set[tuple[tuple[str, str], ...]]] = {}
    for s in result.samples:
        labels = s.labels.to_dict()
        name = labels.pop("__name__")
        if name.startswith(NOT_HOST):
            continue
        labelsets.setdefault(name, set()).add(tuple(sorted(labels.items())))
    return {name: (result.metadata[name].type, frozenset(sets))
            for name, sets in labelsets.items()}


def both(url: str) -> tuple[Families, Families]:
    resp = httpx.get(url, timeout=10)
    theirs = families(resp.text, resp.headers.get("content-type", "text/plain"))
    ours = families(HostCollector(HostCollectorConfig()).collect())
    return theirs, ours


def test_same_families_types_and_label_sets(node_exporter: str) -> None:
    # Mounts or interfaces can come and go between the two reads: retry a few times.
    for _ in range(3):
        theirs, ours = both(node_exporter)
        if theirs == ours:
            break
    assert sorted(set(theirs) - set(ours)) == [], "node_exporter has families Vigil lacks"
    assert sorted(set(ours) - set(theirs)) == [], "Vigil has families node_exporter lacks"
    type_diff = {n: (theirs[n][0], ours[n][0]) for n in theirs if theirs[n][0] != ours[n][0]}
    assert type_diff == {}
    label_names = {n: {tuple(k for k, _ in ls) for ls in sets} for n, (_, sets) in ours.items()}
    their_names = {n: {tuple(k for k, _ in ls) for ls in sets} for n, (_, sets) in theirs.items()}
    assert label_names == their_names
    value_diff = {n: (sorted(theirs[n][1] - ours[n][1])[:3], sorted(ours[n][1] - theirs[n][1])[:3])
                  for n in theirs if theirs[n][1] != ours[n][1]}
    assert value_diff == {}


def test_the_key_families_are_there(node_exporter: str) -> None:
    """The families the runbook rule pack and community dashboards query."""
    theirs, ours = both(node_exporter)
    for name, labels in (("node_cpu_seconds_total", ("cpu", "mode")),
                         ("node_memory_MemAvailable_bytes", ()),
                         ("node_filesystem_avail_bytes", ("device", "fstype", "mountpoint")),
                         ("node_network_receive_bytes_total", ("device",)),
                         ("node_load1", ()), ("node_boot_time_seconds", ()),
                         ("node_uname_info", ("domainname", "machine", "nodename", "release",
                                              "sysname", "version"))):
        assert name in theirs and name in ours, name
        assert {tuple(k for k, _ in ls) for ls in ours[name][1]} == {labels}, name
