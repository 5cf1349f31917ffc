"""The host collector against the real node_exporter (Debian's ``prometheus-node-exporter``,
1.5) with its default Linux collectors: every family node_exporter emits on this machine,
Vigil emits with the same type, label names and label values, except the ones listed in
LEFT_OUT with the reason; stable values (boot time, MTU, limits) agree too.

node_exporter runs with the same device and mount exclusions as Vigil, so even the label
*values* (which CPUs, devices, mounts) must agree. Where Debian's packaging changes
node_exporter's defaults (it excludes ``lo`` and ``/run``, ``/mnt``, ``/media``, and turns on
the systemd collector, which upstream leaves off) or Vigil follows a newer upstream default
(``zram`` disks excluded), the flags below pass Vigil's choices; docs/collectors.md lists
those differences.
"""

from __future__ import annotations

import os
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
# node_exporter's default Linux collectors Vigil does not implement, and why. node_exporter
# reports node_scrape_collector_success for each of them on every machine.
NOT_IMPLEMENTED = {
    "textfile": "no textfile directory: Vigil takes pushed metrics on its pushgateway API",
    "bcache": "hardware/feature absent here (no bcache devices); not implemented",
    "bonding": "no bonded interfaces here; not implemented",
    "btrfs": "no btrfs file systems here; not implemented",
    "dmi": "no /sys/class/dmi on this virtual machine; not implemented",
    "edac": "no EDAC memory controllers here; not implemented",
    "fibrechannel": "no Fibre Channel hosts here; not implemented",
    "hwmon": "no /sys/class/hwmon here (chip names need device paths to verify); "
             "not implemented",
    "infiniband": "no InfiniBand here; not implemented",
    "ipvs": "no IPVS here (needs the ip_vs module); not implemented",
    "mdadm": "no software RAID (/proc/mdstat) here; not implemented",
    "nfs": "no NFS client statistics here; not implemented",
    "nfsd": "no NFS server here; not implemented",
    "nvme": "no NVMe devices here; not implemented",
    "powersupplyclass": "no power supplies here; not implemented",
    "rapl": "no RAPL power capping (and it needs root) here; not implemented",
    "tapestats": "no tape drives here; not implemented",
    "xfs": "no XFS file systems here; not implemented",
    "zfs": "no ZFS here; not implemented",
}
# Families node_exporter emits here that Vigil leaves out (their collector is above).
LEFT_OUT = {"node_textfile_scrape_error"}
# Families Vigil adds to node_exporter 1.5's: netstat fields and softnet columns that later
# node_exporter releases added to their defaults (Node Exporter Full charts them).
NEWER_UPSTREAM = {"node_netstat_TcpExt_TCPOFOQueue", "node_netstat_TcpExt_TCPRcvQDrop",
                  "node_softnet_received_rps_total", "node_softnet_flow_limit_count_total",
                  "node_pressure_irq_stalled_seconds_total"}
# Values that do not move between two reads a moment apart.
STABLE_VALUES = ("node_boot_time_seconds", "node_memory_MemTotal_bytes",
                 "node_network_mtu_bytes", "node_network_speed_bytes",
                 "node_network_iface_id", "node_network_protocol_type",
                 "node_network_transmit_queue_length", "node_network_address_assign_type",
                 "node_filefd_maximum", "node_entropy_pool_size_bits",
                 "node_nf_conntrack_entries_limit", "node_os_version", "node_os_info",
                 "node_uname_info", "node_timex_tick_seconds", "node_timex_status",
                 "node_timex_sync_status", "node_selinux_enabled", "node_filesystem_size_bytes",
                 "node_filesystem_files", "node_filesystem_readonly", "node_disk_info",
                 "node_udp_queues")
SCRAPE_FAMILIES = ("node_scrape_collector_success", "node_scrape_collector_duration_seconds")
# node_exporter's own process and build metrics, and Vigil's collector health: not host
# metrics.
NOT_HOST = ("go_", "process_", "promhttp_", "node_exporter_", "vigil_collector_")

Families = dict[str, tuple[str, frozenset[tuple[tuple[str, str], ...]]]]
Values = dict[tuple[str, tuple[tuple[str, str], ...]], float]


@pytest.fixture(scope="module")
def node_exporter() -> Iterator[str]:
    if not NODE_EXPORTER.exists():
        pytest.fail("node_exporter is not installed: scripts/test installs "
                    "Debian's prometheus-node-exporter")
    port = free_port()
    args = [str(NODE_EXPORTER), f"--web.listen-address=127.0.0.1:{port}",
            "--no-collector.systemd",
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


def read_page(text: str, content_type: str = "text/plain; version=0.0.4"
              ) -> tuple[Families, Values, set[str]]:
    """(name -> (type, set of label sets), (name, labels) -> value, collector names) of the
    host families. Empty label values count as absent, as stored."""
    result = parse(text.encode(), content_type)
    labelsets: dict[str, set[tuple[tuple[str, str], ...]]] = {}
    values: Values = {}
    collectors: set[str] = set()
    for s in result.samples:
        labels = s.labels.to_dict()
        name = labels.pop("__name__")
        if name == "node_scrape_collector_success":
            collectors.add(labels["collector"])
        if name.startswith(NOT_HOST) or name in SCRAPE_FAMILIES:
            continue
        key = tuple(sorted(labels.items()))
        labelsets.setdefault(name, set()).add(key)
        values[(name, key)] = s.value
    fams = {name: (result.metadata[name].type, frozenset(sets))
            for name, sets in labelsets.items()}
    return fams, values, collectors


def both(url: str) -> tuple[tuple[Families, Values, set[str]], tuple[Families, Values, set[str]]]:
    resp = httpx.get(url, timeout=10)
    theirs = read_page(resp.text, resp.headers.get("content-type", "text/plain"))
    ours = read_page(HostCollector(HostCollectorConfig()).collect())
    return theirs, ours


def comparable(fams: Families) -> Families:
    return {n: f for n, f in fams.items() if n not in LEFT_OUT | NEWER_UPSTREAM}


def test_same_collectors_but_the_ones_listed(node_exporter: str) -> None:
    (_, _, theirs), (_, _, ours) = both(node_exporter)
    assert ours <= theirs, "Vigil reports collectors node_exporter does not have"
    assert theirs - ours == set(NOT_IMPLEMENTED)


def test_left_out_families_are_really_left_out(node_exporter: str) -> None:
    (theirs, _, _), (ours, _, _) = both(node_exporter)
    assert LEFT_OUT <= set(theirs), "a left-out family node_exporter does not emit here"
    assert not LEFT_OUT & set(ours)
    assert set(ours) - set(theirs) <= NEWER_UPSTREAM


def test_same_families_types_and_label_sets(node_exporter: str) -> None:
    # Mounts, interfaces or ARP entries can come and go between the two reads: retry.
    for _ in range(3):
        (theirs, _, _), (ours, _, _) = both(node_exporter)
        theirs, ours = comparable(theirs), comparable(ours)
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


def test_the_exporter_process_families_match(node_exporter: str) -> None:
    """process_*: node_exporter's page describes node_exporter, Vigil's the Vigil process that
    collects (the dashboards' "exporter" panels); same names and types."""
    resp = httpx.get(node_exporter, timeout=10)
    theirs = parse(resp.content, resp.headers.get("content-type", "text/plain"))
    ours = parse(HostCollector(HostCollectorConfig()).collect().encode(),
                 "text/plain; version=0.0.4")
    their_types = {n: m.type for n, m in theirs.metadata.items() if n.startswith("process_")}
    our_types = {n: m.type for n, m in ours.metadata.items() if n.startswith("process_")}
    assert our_types == their_types and len(our_types) == 7
    values = {s.labels.name: s.value for s in ours.samples
              if s.labels.name.startswith("process_")}
    assert values["process_open_fds"] <= values["process_max_fds"]
    assert 0 < values["process_resident_memory_bytes"] <= values["process_virtual_memory_bytes"]
    assert values["process_start_time_seconds"] <= time.time()


def test_stable_values_agree(node_exporter: str) -> None:
    for _ in range(3):
        (_, their_values, _), (_, our_values, _) = both(node_exporter)
        diff = {key: (their_values.get(key), our_values.get(key))
                for key in their_values.keys() | our_values.keys()
                if key[0] in STABLE_VALUES and their_values.get(key) != our_values.get(key)}
        if not diff:
            break
    assert diff == {}
    cpus = {dict(k)["cpu"] for n, k in our_values if n == "node_cpu_seconds_total"}
    assert len(cpus) == os.cpu_count()
    compared = {n for n, _ in their_values if n in STABLE_VALUES}
    assert len(compared) >= 15, compared  # most of them exist on any Linux machine


def test_the_key_families_are_there(node_exporter: str) -> None:
    """The families the runbook rule pack and community dashboards query."""
    (theirs, _, _), (ours, _, _) = both(node_exporter)
    for name, labels in (("node_cpu_seconds_total", ("cpu", "mode")),
                         ("node_memory_MemAvailable_bytes", ()),
                         ("node_filesystem_avail_bytes", ("device", "fstype", "mountpoint")),
                         ("node_network_receive_bytes_total", ("device",)),
                         ("node_load1", ()), ("node_boot_time_seconds", ()),
                         ("node_pressure_cpu_waiting_seconds_total", ()),
                         ("node_vmstat_pgmajfault", ()), ("node_timex_sync_status", ()),
                         ("node_entropy_available_bits", ()), ("node_filefd_allocated", ()),
                         ("node_network_carrier", ("device",)),
                         ("node_network_speed_bytes", ("device",)),
                         ("node_network_mtu_bytes", ("device",)),
                         ("node_sockstat_TCP_inuse", ()), ("node_netstat_Tcp_CurrEstab", ()),
                         ("node_nf_conntrack_entries", ()),
                         ("node_softnet_processed_total", ("cpu",)),
                         ("node_uname_info", ("domainname", "machine", "nodename", "release",
                                              "sysname", "version"))):
        assert name in theirs and name in ours, name
        assert {tuple(k for k, _ in ls) for ls in ours[name][1]} == {labels}, name
