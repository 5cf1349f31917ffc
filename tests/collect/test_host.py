"""The host collector: exact node_exporter names and conversions on a fixture /proc tree,
and sane values on the real machine. Output is read back with our own parser."""

from __future__ import annotations

import sys
import time
from collections import defaultdict
from pathlib import Path

import pytest

from vigil.collect.exposition import parse_text
from vigil.collect.host import HostCollector
from vigil.collect.local import CollectorError
from vigil.config import HostCollectorConfig
from vigil.model.labels import Labels

from .host_fixtures import add_proc_sections

STAT = """\
cpu  300 10 200 5000 40 0 6 0 0 0
cpu0 100 5 100 2500 20 0 3 0 7 1
cpu1 200 5 100 2500 20 0 3 0 0 0
intr 123456 1 2 3
ctxt 987654
btime 1700000000
processes 4242
procs_running 3
procs_blocked 1
softirq 1 2 3
"""
MEMINFO = """\
MemTotal:       16000000 kB
MemFree:         2000000 kB
MemAvailable:    8000000 kB
Buffers:          100000 kB
Cached:          3000000 kB
Active(anon):    1000000 kB
HugePages_Total:       0
Hugepagesize:       2048 kB
"""
NETDEV = """\
Inter-|   Receive                                                |  Transmit
 face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed
    lo: 1000      10    0    0    0     0          0         0     1000      10    0    0    0     0       0          0
  eth0: 5000      50    1    2    0     0          0         3     7000      70    4    5    0     0       0          0
"""
DISKSTATS = """\
   7       0 loop0 1 0 2 0 0 0 0 0 0 0 0 0 0 0 0 0 0
   8       0 sda 100 5 2000 300 50 6 4000 700 0 1500 1000 0 0 0 0 10 20
   8       1 sda1 90 5 1800 290 40 6 3600 600 0 1400 900 0 0 0 0 0 0
"""


@pytest.fixture
def fake_proc(tmp_path: Path) -> Path:
    proc = tmp_path / "proc"
    (proc / "net").mkdir(parents=True)
    (proc / "self").mkdir()
    (proc / "sys" / "kernel").mkdir(parents=True)
    (proc / "stat").write_text(STAT)
    (proc / "meminfo").write_text(MEMINFO)
    (proc / "loadavg").write_text("0.50 1.25 2.00 1/234 5678\n")
    (proc / "net" / "dev").write_text(NETDEV)
    (proc / "diskstats").write_text(DISKSTATS)
    (proc / "sys" / "kernel" / "domainname").write_text("example\n")
    mnt = tmp_path / "data dir"
    mnt.mkdir()
    escaped = str(mnt).replace(" ", "\\040")
    (proc / "self" / "mountinfo").write_text(
        "22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw\n"
        f"23 22 8:2 / {escaped} ro,relatime - xfs /dev/sdb1 rw\n"
        "24 22 0:5 / /proc rw - proc proc rw\n"
        "25 22 0:6 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n"
        "26 22 0:7 / /mnt/ov rw - overlay overlay rw\n"
        "27 22 0:8 / /nonexistent/mount rw - ext4 /dev/sdc1 rw\n")
    add_proc_sections(proc)
    return proc


def collect(proc: Path) -> dict[str, dict[Labels, float]]:
    try:
        text = HostCollector(HostCollectorConfig(proc_path=str(proc))).collect()
    except CollectorError as e:  # a section failed: the page comes with the error
        assert e.page is not None
        text = e.page
    result = parse_text(text)
    out: dict[str, dict[Labels, float]] = defaultdict(dict)
    for s in result.samples:
        out[s.labels.name][s.labels.without_name()] = s.value
    types = {name: md.type for name, md in result.metadata.items()}
    out["__types__"] = types  # type: ignore[assignment]
    return out


def test_fixture_tree_gives_node_exporter_names_and_units(fake_proc: Path,
                                                         tmp_path: Path) -> None:
    m = collect(fake_proc)
    cpu = m["node_cpu_seconds_total"]
    assert cpu[Labels.of(cpu="0", mode="user")] == 1.0
    assert cpu[Labels.of(cpu="1", mode="idle")] == 25.0
    assert cpu[Labels.of(cpu="0", mode="softirq")] == 0.03
    assert len(cpu) == 16  # two CPUs x eight modes; the aggregate "cpu" line is not exported
    assert m["node_cpu_guest_seconds_total"][Labels.of(cpu="0", mode="user")] == 0.07
    assert m["node_memory_MemTotal_bytes"][Labels()] == 16_000_000 * 1024
    assert m["node_memory_Active_anon_bytes"][Labels()] == 1_000_000 * 1024
    assert m["node_memory_HugePages_Total"][Labels()] == 0
    assert m["node_load1"][Labels()] == 0.5 and m["node_load15"][Labels()] == 2.0
    assert m["node_context_switches_total"][Labels()] == 987654
    assert m["node_intr_total"][Labels()] == 123456
    assert m["node_forks_total"][Labels()] == 4242
    assert m["node_boot_time_seconds"][Labels()] == 1_700_000_000
    assert (m["node_procs_running"][Labels()], m["node_procs_blocked"][Labels()]) == (3, 1)
    eth0 = Labels.of(device="eth0")
    assert m["node_network_receive_bytes_total"][eth0] == 5000
    assert m["node_network_receive_errs_total"][eth0] == 1
    assert m["node_network_receive_drop_total"][eth0] == 2
    assert m["node_network_receive_multicast_total"][eth0] == 3
    assert m["node_network_transmit_packets_total"][eth0] == 70
    assert m["node_network_transmit_drop_total"][eth0] == 5
    assert Labels.of(device="lo") in m["node_network_transmit_bytes_total"]
    sda = Labels.of(device="sda")
    assert set(m["node_disk_reads_completed_total"]) == {sda}  # loop0, sda1 excluded
    assert m["node_disk_read_bytes_total"][sda] == 2000 * 512
    assert m["node_disk_written_bytes_total"][sda] == 4000 * 512
    assert m["node_disk_writes_completed_total"][sda] == 50
    assert m["node_disk_io_time_seconds_total"][sda] == 1.5
    assert m["node_disk_flush_requests_total"][sda] == 10
    data = Labels.of(device="/dev/sdb1", fstype="xfs", mountpoint=str(tmp_path / "data dir"))
    assert m["node_filesystem_size_bytes"][data] > 0
    assert m["node_filesystem_avail_bytes"][data] <= m["node_filesystem_free_bytes"][data]
    assert m["node_filesystem_files"][data] >= m["node_filesystem_files_free"][data]
    assert m["node_filesystem_readonly"][data] == 1
    assert m["node_filesystem_device_error"][data] == 0
    mounts = {lbl.get("mountpoint") for lbl in m["node_filesystem_readonly"]}
    assert mounts == {"/", str(tmp_path / "data dir"), "/nonexistent/mount"}  # excludes applied
    assert m["node_filesystem_device_error"][Labels.of(
        device="/dev/sdc1", fstype="ext4", mountpoint="/nonexistent/mount")] == 1
    (uname,) = m["node_uname_info"]
    assert uname.get("domainname") == "example" and uname.get("sysname")
    assert set(m["node_scrape_collector_success"].values()) == {1.0}
    assert m["vigil_collector_up"] == {Labels.of(collector="host"): 1.0}
    types = m["__types__"]
    assert types["node_cpu_seconds_total"] == "counter"
    assert types["node_memory_MemTotal_bytes"] == "gauge"
    assert types["node_filesystem_size_bytes"] == "gauge"
    assert types["node_disk_io_now"] == "gauge"


def test_missing_files_fail_only_their_collector(fake_proc: Path) -> None:
    (fake_proc / "diskstats").unlink()
    m = collect(fake_proc)
    success = {lbl.get("collector"): v for lbl, v in m["node_scrape_collector_success"].items()}
    assert success["diskstats"] == 0 and success["meminfo"] == 1
    assert m["vigil_collector_up"][Labels.of(collector="host")] == 0
    (error,) = m["vigil_collector_last_error_info"]
    assert error.get("error").startswith("host: diskstats: ") and "diskstats" in error.get("error")
    assert "node_disk_read_bytes_total" not in m
    assert "node_memory_MemTotal_bytes" in m


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="needs a real /proc")
def test_real_host_values_are_sane() -> None:
    first = collect(Path("/proc"))
    for family in ("node_cpu_seconds_total", "node_memory_MemTotal_bytes",
                   "node_memory_MemAvailable_bytes", "node_memory_MemFree_bytes",
                   "node_memory_Buffers_bytes", "node_memory_Cached_bytes",
                   "node_filesystem_size_bytes", "node_filesystem_avail_bytes",
                   "node_network_receive_bytes_total", "node_network_transmit_bytes_total",
                   "node_load1", "node_load5", "node_load15", "node_boot_time_seconds",
                   "node_time_seconds", "node_uname_info", "node_context_switches_total",
                   "node_intr_total", "node_forks_total", "node_procs_running",
                   "node_procs_blocked"):
        assert first.get(family), family
    total = first["node_memory_MemTotal_bytes"][Labels()]
    avail = first["node_memory_MemAvailable_bytes"][Labels()]
    assert total > avail > 0
    assert {lbl.names()[0] for lbl in first["node_cpu_seconds_total"]} == {"cpu"}
    assert {lbl.get("mode") for lbl in first["node_cpu_seconds_total"]} >= {"user", "idle"}
    for lbl in first["node_filesystem_size_bytes"]:
        assert set(lbl.names()) == {"device", "fstype", "mountpoint"}
        assert not lbl.get("mountpoint").startswith(("/proc", "/sys", "/dev/"))
    assert first["node_boot_time_seconds"][Labels()] < first["node_time_seconds"][Labels()]
    time.sleep(0.1)
    second = collect(Path("/proc"))
    assert sum(second["node_cpu_seconds_total"].values()) > sum(
        first["node_cpu_seconds_total"].values())
