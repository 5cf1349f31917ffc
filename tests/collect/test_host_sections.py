"""The host collector's node_exporter sections beyond the first nine (vigil.collect.host_net,
vigil.collect.host_sys) on a fixture tree: names, types, labels, units and which absences
are not failures. The real-machine comparison is tests/collect/test_node_exporter_parity.py."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest

from vigil.collect import host_net, host_sys
from vigil.collect._hostpage import HostFiles, PageWriter
from vigil.collect.exposition import parse_text
from vigil.collect.host import HostCollector
from vigil.config import HostCollectorConfig

from .host_fixtures import add_proc_sections, make_sys

Page = dict[str, dict[tuple[tuple[str, str], ...], float]]


@pytest.fixture
def files(tmp_path: Path) -> HostFiles:
    proc, sys_root = tmp_path / "proc", tmp_path / "sys"
    add_proc_sections(proc)
    make_sys(sys_root)
    return HostFiles(str(proc), str(sys_root))


def run(section: Callable[[HostFiles, PageWriter], None], files: HostFiles
        ) -> tuple[Page, dict[str, str]]:
    w = PageWriter()
    section(files, w)
    result = parse_text(w.render())
    page: Page = {}
    for s in result.samples:
        labels = tuple(sorted(s.labels.without_name().to_dict().items()))
        page.setdefault(s.labels.name, {})[labels] = s.value
    return page, {name: md.type for name, md in result.metadata.items()}


def test_netstat_default_fields_only(files: HostFiles) -> None:
    page, types = run(host_net.netstat, files)
    assert set(page) == {
        "node_netstat_TcpExt_SyncookiesSent", "node_netstat_TcpExt_SyncookiesRecv",
        "node_netstat_TcpExt_ListenOverflows", "node_netstat_TcpExt_ListenDrops",
        "node_netstat_TcpExt_TCPTimeouts", "node_netstat_TcpExt_TCPOFOQueue",
        "node_netstat_IpExt_InOctets", "node_netstat_IpExt_OutOctets",
        "node_netstat_Ip_Forwarding", "node_netstat_Tcp_ActiveOpens",
        "node_netstat_Tcp_PassiveOpens", "node_netstat_Tcp_InErrs", "node_netstat_Tcp_CurrEstab",
        "node_netstat_Udp_InDatagrams", "node_netstat_Udp_NoPorts", "node_netstat_Udp_InErrors",
        "node_netstat_Udp_OutDatagrams", "node_netstat_Udp_RcvbufErrors",
        "node_netstat_Udp_SndbufErrors", "node_netstat_Ip6_InOctets",
        "node_netstat_Icmp6_InMsgs", "node_netstat_Udp6_InDatagrams",
        "node_netstat_UdpLite6_InErrors"}
    assert page["node_netstat_Tcp_CurrEstab"][()] == 7
    assert page["node_netstat_IpExt_OutOctets"][()] == 2000
    assert page["node_netstat_Ip6_InOctets"][()] == 3000
    assert set(types.values()) == {"untyped"}


def test_sockstat_mem_in_pages_and_bytes(files: HostFiles) -> None:
    page, types = run(host_net.sockstat, files)
    assert page["node_sockstat_sockets_used"][()] == 45
    assert page["node_sockstat_TCP_tw"][()] == 239
    assert page["node_sockstat_TCP_mem"][()] == 3
    assert page["node_sockstat_TCP_mem_bytes"][()] == 3 * os.sysconf("SC_PAGE_SIZE")
    assert page["node_sockstat_FRAG_memory"][()] == 0 and "node_sockstat_FRAG_memory_bytes" \
        not in page
    assert page["node_sockstat_TCP6_inuse"][()] == 5
    assert set(types.values()) == {"gauge"}


def test_softnet_udp_arp_conntrack_hex_and_sums(files: HostFiles) -> None:
    page, types = run(host_net.softnet, files)
    assert page["node_softnet_processed_total"] == {(("cpu", "0"),): 10, (("cpu", "1"),): 255}
    assert page["node_softnet_times_squeezed_total"][(("cpu", "1"),)] == 16
    assert page["node_softnet_received_rps_total"] == {(("cpu", "0"),): 5}
    assert page["node_softnet_flow_limit_count_total"] == {(("cpu", "0"),): 3}
    assert types["node_softnet_dropped_total"] == "counter"
    page, _ = run(host_net.udp_queues, files)  # no udp6 file: v4 only
    assert page["node_udp_queues"] == {(("ip", "v4"), ("queue", "tx")): 17,
                                       (("ip", "v4"), ("queue", "rx")): 513}
    page, _ = run(host_net.arp, files)
    assert page["node_arp_entries"] == {(("device", "eth0"),): 2, (("device", "wlan0"),): 1}
    page, types = run(host_net.conntrack, files)
    assert page["node_nf_conntrack_entries"][()] == 12
    assert page["node_nf_conntrack_entries_limit"][()] == 262144
    assert page["node_nf_conntrack_stat_found"][()] == 3
    assert page["node_nf_conntrack_stat_invalid"][()] == 26
    assert page["node_nf_conntrack_stat_drop"][()] == 3
    assert page["node_nf_conntrack_stat_search_restart"][()] == 1
    assert "node_nf_conntrack_stat_entries" not in page
    assert set(types.values()) == {"gauge"}


def test_netclass_reads_what_each_device_has(files: HostFiles) -> None:
    page, types = run(host_net.netclass, files)
    eth0, ifb0 = (("device", "eth0"),), (("device", "ifb0"),)
    assert page["node_network_speed_bytes"] == {eth0: 125_000_000}  # 1000 Mbit/s
    assert page["node_network_carrier"] == {eth0: 1}  # sysfs refuses it for a down link
    assert page["node_network_mtu_bytes"] == {eth0: 1500, ifb0: 1500}
    assert page["node_network_flags"][eth0] == 0x1003
    assert page["node_network_up"] == {eth0: 1, ifb0: 0}
    assert page["node_network_carrier_changes_total"] == {eth0: 4}
    assert types["node_network_carrier_changes_total"] == "counter"
    assert types["node_network_mtu_bytes"] == "gauge"
    (info,) = (dict(k) for k in page["node_network_info"] if dict(k)["device"] == "eth0")
    assert info == {"address": "02:00:00:00:00:01", "broadcast": "ff:ff:ff:ff:ff:ff",
                    "device": "eth0", "duplex": "full", "ifalias": "uplink",
                    "operstate": "up"}
    assert {dict(k)["device"] for k in page["node_network_info"]} == {"eth0", "ifb0"}


def test_pressure_vmstat_and_counts(files: HostFiles) -> None:
    page, types = run(host_sys.pressure, files)
    assert page == {"node_pressure_cpu_waiting_seconds_total": {(): 5.0},
                    "node_pressure_io_waiting_seconds_total": {(): 1.5},
                    "node_pressure_io_stalled_seconds_total": {(): 0.25},
                    "node_pressure_memory_waiting_seconds_total": {(): 0.0},
                    "node_pressure_memory_stalled_seconds_total": {(): 0.0},
                    "node_pressure_irq_stalled_seconds_total": {(): 3e-5}}
    assert set(types.values()) == {"counter"}
    page, types = run(host_sys.vmstat, files)
    assert {n: v[()] for n, v in page.items()} == {
        "node_vmstat_pgpgin": 10, "node_vmstat_pgpgout": 20, "node_vmstat_pswpin": 1,
        "node_vmstat_pswpout": 2, "node_vmstat_pgfault": 300, "node_vmstat_pgmajfault": 4,
        "node_vmstat_oom_kill": 1}
    assert set(types.values()) == {"untyped"}
    page, _ = run(host_sys.entropy, files)
    assert page["node_entropy_pool_size_bits"][()] == 4096
    page, _ = run(host_sys.filefd, files)
    assert (page["node_filefd_allocated"][()], page["node_filefd_maximum"][()]) == (2155,
                                                                                    2471007)


def test_os_schedstat_cpufreq_thermal(files: HostFiles) -> None:
    page, _ = run(host_sys.os_release, files)
    (info,) = page["node_os_info"]
    assert dict(info)["pretty_name"] == "Debian GNU/Linux 12 (bookworm)"
    assert dict(info)["id"] == "debian" and len(info) == 4  # empty labels are no labels
    assert page["node_os_version"] == {(("id", "debian"), ("name", "Debian GNU/Linux")): 12}
    page, types = run(host_sys.schedstat, files)
    assert page["node_schedstat_running_seconds_total"] == {(("cpu", "0"),): 2.0,
                                                           (("cpu", "1"),): 1.0}
    assert page["node_schedstat_waiting_seconds_total"][(("cpu", "0"),)] == 0.5
    assert page["node_schedstat_timeslices_total"][(("cpu", "0"),)] == 42
    page, _ = run(host_sys.cpufreq, files)
    assert page == {"node_cpu_scaling_frequency_hertz": {(("cpu", "0"),): 2.4e9},
                    "node_cpu_scaling_frequency_max_hertz": {(("cpu", "0"),): 3e9},
                    "node_cpu_frequency_min_hertz": {(("cpu", "0"),): 8e8}}
    page, _ = run(host_sys.thermal_zone, files)
    assert page["node_thermal_zone_temp"] == {(("type", "x86_pkg_temp"), ("zone", "0")): 45.5}
    assert page["node_cooling_device_max_state"] == {(("name", "0"), ("type", "Processor")): 10}


def test_timex_reads_the_kernel_clock(files: HostFiles) -> None:
    page, types = run(host_sys.timex, files)
    assert page["node_timex_sync_status"][()] in (0.0, 1.0)
    assert 0 < page["node_timex_tick_seconds"][()] <= 0.02  # USER_HZ ticks: 10 ms here
    assert 0.99 < page["node_timex_frequency_adjustment_ratio"][()] < 1.01
    assert types["node_timex_pps_error_total"] == "counter"
    assert types["node_timex_offset_seconds"] == "gauge"
    assert len(page) == 17


def test_absent_features_are_not_failures(tmp_path: Path) -> None:
    """A kernel without PSI, conntrack or schedstat and a machine without cpufreq or thermal
    sensors: nothing to report, and the host collector stays up."""
    files = HostFiles(str(tmp_path / "proc"), str(tmp_path / "sys"))
    for section in (host_sys.pressure, host_sys.schedstat, host_sys.cpufreq,
                    host_sys.thermal_zone, host_net.conntrack, host_net.netclass):
        assert run(section, files)[0] == {}
    page, _ = run(host_sys.selinux, files)
    assert page == {"node_selinux_enabled": {(): 0.0}}
    with pytest.raises(OSError):
        run(host_sys.vmstat, files)  # a core /proc file missing is a failure


def test_a_failing_section_is_reported_by_name(tmp_path: Path) -> None:
    proc = tmp_path / "proc"
    add_proc_sections(proc)
    (proc / "net" / "sockstat").unlink()
    text = HostCollector(HostCollectorConfig(proc_path=str(proc),
                                             sys_path=str(tmp_path / "sys"))).render()
    assert 'node_scrape_collector_success{collector="sockstat"} 0' in text
    assert 'node_scrape_collector_success{collector="netstat"} 1' in text
    assert "node_netstat_Tcp_CurrEstab 7" in text
