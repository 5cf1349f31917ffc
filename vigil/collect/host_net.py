"""Host collector sections about networking, under node_exporter's names, types and labels.

Each function takes the :class:`~vigil.collect._hostpage.HostFiles` of the host and a
:class:`~vigil.collect._hostpage.PageWriter`, following the node_exporter (1.5) Linux
collector of the same name: ``netclass`` (/sys/class/net: carrier, speed, MTU, up, info),
``netstat`` (/proc/net/{netstat,snmp,snmp6}, node_exporter's default field set), ``sockstat``,
``softnet``, ``udp_queues``, ``arp`` and ``conntrack`` (only while the nf_conntrack module is
loaded). Counters in /proc/net/softnet_stat, /proc/net/stat/nf_conntrack and the UDP queue
columns are hexadecimal.
"""

from __future__ import annotations

import os
import re
from collections import Counter

from vigil.collect._hostpage import HostFiles, PageWriter

__all__ = ["arp", "conntrack", "netclass", "netstat", "sockstat", "softnet", "udp_queues"]

# node_exporter's --collector.netstat.fields default, with TcpExt's TCPOFOQueue and
# TCPRcvQDrop that node_exporter added to it after 1.5 (dashboards chart them).
NETSTAT_FIELDS = re.compile(
    r"^(.*_(InErrors|InErrs)|Ip_Forwarding|Ip(6|Ext)_(InOctets|OutOctets)|Icmp6?_(InMsgs|OutMsgs)"
    r"|TcpExt_(Listen.*|Syncookies.*|TCPSynRetrans|TCPTimeouts|TCPOFOQueue|TCPRcvQDrop)"
    r"|Tcp_(ActiveOpens|InSegs|OutSegs|OutRsts|PassiveOpens|RetransSegs|CurrEstab)"
    r"|Udp6?_(InDatagrams|OutDatagrams|NoPorts|RcvbufErrors|SndbufErrors))$")

# /sys/class/net/<dev>/<attribute> -> (metric suffix, type); flags and dev_id are hex.
_NETCLASS_NUMBERS = (
    ("addr_assign_type", "address_assign_type", "gauge"),
    ("carrier", "carrier", "gauge"),
    ("carrier_changes", "carrier_changes_total", "counter"),
    ("carrier_up_count", "carrier_up_changes_total", "counter"),
    ("carrier_down_count", "carrier_down_changes_total", "counter"),
    ("dev_id", "device_id", "gauge"),
    ("dormant", "dormant", "gauge"),
    ("flags", "flags", "gauge"),
    ("ifindex", "iface_id", "gauge"),
    ("iflink", "iface_link", "gauge"),
    ("link_mode", "iface_link_mode", "gauge"),
    ("mtu", "mtu_bytes", "gauge"),
    ("name_assign_type", "name_assign_type", "gauge"),
    ("netdev_group", "net_dev_group", "gauge"),
    ("type", "protocol_type", "gauge"),
    ("tx_queue_len", "transmit_queue_length", "gauge"),
)
_MBIT_BYTES = 125_000  # /sys speed is in Mbit/s; node_exporter reports bytes/s


def _int(raw: str | None) -> int | None:
    if raw is None:
        return None
    try:
        return int(raw, 0)
    except ValueError:
        return None


def netclass(files: HostFiles, w: PageWriter) -> None:
    """One series per readable attribute: sysfs refuses (EINVAL) e.g. carrier and speed of a
    link that is down, and those are left out, as node_exporter does."""
    for device in files.sys_dir("class", "net"):
        base = ("class", "net", device)
        if files.sys(*base, "operstate") is None:
            continue  # not an interface directory (bonding_masters, say)
        labels = {"device": device}
        for attr, name, type_ in _NETCLASS_NUMBERS:
            value = _int(files.sys(*base, attr))
            if value is not None:
                w.add(f"node_network_{name}", f"Network device property: {name}", type_,
                      float(value), labels)
        speed = _int(files.sys(*base, "speed"))
        if speed is not None:
            w.add("node_network_speed_bytes", "Network device property: speed_bytes", "gauge",
                  float(speed * _MBIT_BYTES), labels)
        operstate = files.sys(*base, "operstate") or ""
        w.add("node_network_up", "Value is 1 if operstate is 'up', 0 otherwise.", "gauge",
              1.0 if operstate == "up" else 0.0, labels)
        w.add("node_network_info", "Non-numeric data from /sys/class/net/<iface>, value is "
              "always 1.", "gauge", 1.0,
              {"address": files.sys(*base, "address") or "",
               "broadcast": files.sys(*base, "broadcast") or "", "device": device,
               "duplex": files.sys(*base, "duplex") or "",
               "ifalias": files.sys(*base, "ifalias") or "", "operstate": operstate})


def _netstat_pairs(text: str) -> dict[str, str]:
    """/proc/net/netstat and /proc/net/snmp: a header line and a value line per protocol."""
    out: dict[str, str] = {}
    lines = text.splitlines()
    for header, values in zip(lines[::2], lines[1::2], strict=False):
        names, nums = header.split(), values.split()
        if not names or names[0] != nums[0]:
            continue
        proto = names[0].rstrip(":")
        out.update((f"{proto}_{n}", v) for n, v in zip(names[1:], nums[1:], strict=False))
    return out


def netstat(files: HostFiles, w: PageWriter) -> None:
    fields = _netstat_pairs(files.proc("net", "netstat"))
    fields.update(_netstat_pairs(files.proc("net", "snmp")))
    snmp6 = files.optional("net", "snmp6")  # absent when IPv6 is disabled
    for line in (snmp6 or "").splitlines():
        parts = line.split()
        if len(parts) == 2 and "6" in parts[0]:
            proto, _, name = parts[0].partition("6")
            fields[f"{proto}6_{name}"] = parts[1]
    for key in sorted(fields):
        if NETSTAT_FIELDS.match(key):
            w.add(f"node_netstat_{key}", f"Statistic {key.replace('_', '')}.", "untyped",
                  float(fields[key]))


def sockstat(files: HostFiles, w: PageWriter) -> None:
    """Sockets in use per protocol; ``mem`` is in pages, also given as ``mem_bytes``."""
    page = os.sysconf("SC_PAGE_SIZE")
    texts = [files.proc("net", "sockstat"), files.optional("net", "sockstat6") or ""]
    for text in texts:
        for line in text.splitlines():
            proto, sep, rest = line.partition(":")
            parts = rest.split()
            if not sep or len(parts) % 2:
                continue
            for key, value in zip(parts[::2], parts[1::2], strict=False):
                name = f"node_sockstat_{proto}_{key}"
                w.add(name, f"Number of {proto} sockets in state {key}.", "gauge", float(value))
                if key == "mem":
                    w.add(f"{name}_bytes", f"Number of {proto} sockets in state mem_bytes.",
                          "gauge", float(value) * page)


def softnet(files: HostFiles, w: PageWriter) -> None:
    """/proc/net/softnet_stat: one line per CPU, in CPU order; columns 9 and 10 (RPS
    wake-ups, flow limit hits) exist since Linux 2.6.39 / 3.11."""
    for cpu, line in enumerate(files.proc("net", "softnet_stat").splitlines()):
        cols = line.split()
        if len(cols) < 3:
            continue
        labels = {"cpu": str(cpu)}
        w.add("node_softnet_processed_total", "Number of processed packets", "counter",
              float(int(cols[0], 16)), labels)
        w.add("node_softnet_dropped_total", "Number of dropped packets", "counter",
              float(int(cols[1], 16)), labels)
        w.add("node_softnet_times_squeezed_total",
              "Number of times processing packets ran out of quota", "counter",
              float(int(cols[2], 16)), labels)
        if len(cols) >= 11:  # node_exporter 1.6+ also reports these two columns
            w.add("node_softnet_received_rps_total", "Number of times cpu woken up "
                  "received_rps", "counter", float(int(cols[9], 16)), labels)
            w.add("node_softnet_flow_limit_count_total", "Number of times flow limit has "
                  "been reached", "counter", float(int(cols[10], 16)), labels)


def udp_queues(files: HostFiles, w: PageWriter) -> None:
    """Bytes queued on all UDP sockets, summed (the tx_queue:rx_queue column, hex)."""
    for ip, name in (("v4", "udp"), ("v6", "udp6")):
        text = files.proc("net", name) if ip == "v4" else files.optional("net", name)
        if text is None:
            continue
        tx = rx = 0
        for line in text.splitlines()[1:]:
            cols = line.split()
            if len(cols) > 4 and ":" in cols[4]:
                t, r = cols[4].split(":")
                tx, rx = tx + int(t, 16), rx + int(r, 16)
        for queue, value in (("tx", tx), ("rx", rx)):
            w.add("node_udp_queues", "Number of allocated memory in the kernel for UDP "
                  "datagrams in bytes.", "gauge", float(value), {"ip": ip, "queue": queue})


def arp(files: HostFiles, w: PageWriter) -> None:
    entries: Counter[str] = Counter()
    for line in files.proc("net", "arp").splitlines()[1:]:
        cols = line.split()
        if len(cols) >= 6:
            entries[cols[5]] += 1
    for device in sorted(entries):
        w.add("node_arp_entries", "ARP entries by device", "gauge", float(entries[device]),
              {"device": device})


_CONNTRACK_STATS = ("found", "invalid", "ignore", "insert", "insert_failed", "drop",
                    "early_drop", "search_restart")


def conntrack(files: HostFiles, w: PageWriter) -> None:
    count = files.optional("sys", "net", "netfilter", "nf_conntrack_count")
    limit = files.optional("sys", "net", "netfilter", "nf_conntrack_max")
    if count is None or limit is None:
        return  # nf_conntrack not loaded: nothing tracked, nothing to report
    w.add("node_nf_conntrack_entries", "Number of currently allocated flow entries for "
          "connection tracking.", "gauge", float(count))
    w.add("node_nf_conntrack_entries_limit", "Maximum size of connection tracking table.",
          "gauge", float(limit))
    stat = files.optional("net", "stat", "nf_conntrack")
    if stat is None:
        return
    lines = stat.splitlines()
    header = lines[0].split() if lines else []
    totals: Counter[str] = Counter()
    for line in lines[1:]:  # one line per CPU, hexadecimal, columns named by the header
        for name, raw in zip(header, line.split(), strict=False):
            totals[name] += int(raw, 16)
    for name in _CONNTRACK_STATS:
        if name in header:
            w.add(f"node_nf_conntrack_stat_{name}", f"Number of conntrack {name} events "
                  "(summed over CPUs).", "gauge", float(totals[name]))
