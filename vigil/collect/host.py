"""Host metrics of the machine Vigil runs on, named exactly as node_exporter names them (C1).

:meth:`HostCollector.collect` reads ``/proc`` and ``/sys`` (paths from
:class:`~vigil.config.HostCollectorConfig`, so tests can point it at fixture trees) plus
``os.statvfs`` for filesystems, and returns Prometheus text format 0.0.4. Metric names,
label names, types, units and default exclusions follow node_exporter's Linux collectors
(cpu, meminfo, filesystem, netdev, loadavg, diskstats, stat, time, uname here; netclass,
netstat, sockstat, softnet, udp_queues, arp, conntrack in :mod:`vigil.collect.host_net`;
pressure, vmstat, timex, entropy, filefd, os, selinux, schedstat, cpufreq, thermal_zone in
:mod:`vigil.collect.host_sys`), so community rules and dashboards work unchanged. Each section that fails (a missing file, say) is
reported through ``node_scrape_collector_success{collector}`` = 0 instead of failing the
whole scrape, as node_exporter does. Like every built-in collector the page also has
``vigil_collector_up{collector="host"}``; when a section failed that is 0, the page carries
``vigil_collector_last_error_info`` and :meth:`HostCollector.collect` raises
:class:`~vigil.collect.local.CollectorError` with the page attached, so the scrape stores it
and the targets page shows why.

Units: seconds and bytes. /proc/stat counts USER_HZ (100/s) ticks; /proc/diskstats counts
milliseconds and 512-byte sectors; /proc/meminfo counts kB (1024 bytes).
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Callable, Iterable
from functools import partial

from vigil.collect import host_net, host_sys
from vigil.collect._hostpage import HostFiles, PageWriter
from vigil.collect.local import CollectorError
from vigil.config import HostCollectorConfig

__all__ = ["HostCollector"]

USER_HZ = 100.0
SECTOR_BYTES = 512.0

# node_exporter's defaults (--collector.filesystem.mount-points-exclude, fs-types-exclude,
# --collector.diskstats.device-exclude).
MOUNT_POINTS_EXCLUDE = re.compile(
    r"^/(dev|proc|run/credentials/.+|sys|var/lib/docker/.+|var/lib/containers/storage/.+)($|/)")
FS_TYPES_EXCLUDE = re.compile(
    r"^(autofs|binfmt_misc|bpf|cgroup2?|configfs|debugfs|devpts|devtmpfs|fusectl|hugetlbfs|"
    r"iso9660|mqueue|nsfs|overlay|proc|procfs|pstore|rpc_pipefs|securityfs|selinuxfs|"
    r"squashfs|erofs|sysfs|tracefs)$")
DISK_DEVICES_EXCLUDE = re.compile(r"^(z?ram|loop|fd|(h|s|v|xv)d[a-z]|nvme\d+n\d+p)\d+$")

_CPU_MODES = ("user", "nice", "system", "idle", "iowait", "irq", "softirq", "steal")
_NETDEV_FIELDS = (
    "receive_bytes", "receive_packets", "receive_errs", "receive_drop", "receive_fifo",
    "receive_frame", "receive_compressed", "receive_multicast",
    "transmit_bytes", "transmit_packets", "transmit_errs", "transmit_drop", "transmit_fifo",
    "transmit_colls", "transmit_carrier", "transmit_compressed",
)
# /proc/diskstats columns after major, minor, name: (metric, help, scale, type).
_DISK_FIELDS: tuple[tuple[str, str, float, str], ...] = (
    ("reads_completed_total", "The total number of reads completed successfully.", 1, "counter"),
    ("reads_merged_total", "The total number of reads merged.", 1, "counter"),
    ("read_bytes_total", "The total number of bytes read successfully.", SECTOR_BYTES, "counter"),
    ("read_time_seconds_total", "The total number of seconds spent by all reads.", 1e-3,
     "counter"),
    ("writes_completed_total", "The total number of writes completed successfully.", 1,
     "counter"),
    ("writes_merged_total", "The number of writes merged.", 1, "counter"),
    ("written_bytes_total", "The total number of bytes written successfully.", SECTOR_BYTES,
     "counter"),
    ("write_time_seconds_total", "This is the total number of seconds spent by all writes.",
     1e-3, "counter"),
    ("io_now", "The number of I/Os currently in progress.", 1, "gauge"),
    ("io_time_seconds_total", "Total seconds spent doing I/Os.", 1e-3, "counter"),
    ("io_time_weighted_seconds_total", "The weighted # of seconds spent doing I/Os.", 1e-3,
     "counter"),
    ("discards_completed_total", "The total number of discards completed successfully.", 1,
     "counter"),
    ("discards_merged_total", "The total number of discards merged.", 1, "counter"),
    ("discarded_sectors_total", "The total number of sectors discarded successfully.", 1,
     "counter"),
    ("discard_time_seconds_total", "This is the total number of seconds spent by all discards.",
     1e-3, "counter"),
    ("flush_requests_total", "The total number of flush requests completed successfully", 1,
     "counter"),
    ("flush_requests_time_seconds_total",
     "This is the total number of seconds spent by all flush requests.", 1e-3, "counter"),
)
_MOUNT_ESCAPE = re.compile(r"\\([0-7]{3})")
_MEMINFO_PAREN = re.compile(r"\((.*)\)")


# Sections in their own modules, each (files, writer) -> None, by node_exporter's name.
_MODULE_SECTIONS: tuple[tuple[str, Callable[[HostFiles, PageWriter], None]], ...] = (
    ("arp", host_net.arp), ("conntrack", host_net.conntrack),
    ("cpufreq", host_sys.cpufreq), ("entropy", host_sys.entropy),
    ("filefd", host_sys.filefd), ("netclass", host_net.netclass),
    ("netstat", host_net.netstat), ("os", host_sys.os_release),
    ("pressure", host_sys.pressure), ("schedstat", host_sys.schedstat),
    ("selinux", host_sys.selinux), ("sockstat", host_net.sockstat),
    ("softnet", host_net.softnet), ("thermal_zone", host_sys.thermal_zone),
    ("timex", host_sys.timex), ("udp_queues", host_net.udp_queues),
    ("vmstat", host_sys.vmstat),
)


class HostCollector:
    """Reads the host's state on each :meth:`collect`. Holds no state between calls, so it
    is safe to call from any one thread at a time."""

    def __init__(self, config: HostCollectorConfig) -> None:
        self.files = HostFiles(config.proc_path, config.sys_path)
        self.proc = config.proc_path
        self.sys = config.sys_path

    def _read(self, *parts: str) -> str:
        return self.files.proc(*parts)

    def collect(self) -> str:
        """The host's metrics in the Prometheus text format 0.0.4, with
        ``vigil_collector_up``. Raises :class:`CollectorError` carrying that page if a
        section failed."""
        w, errors = self._collect()
        w.add("vigil_collector_up", "Whether the collector could collect.", "gauge",
              0.0 if errors else 1.0, {"collector": "host"})
        if not errors:
            return w.render()
        message = "host: " + "; ".join(errors)
        w.add("vigil_collector_last_error_info", "Why the last collection failed.", "gauge", 1.0,
              {"collector": "host", "error": message[:500]})
        raise CollectorError(message, page=w.render())

    def render(self) -> str:
        """Only node_exporter's families, never raising: failed sections show as
        ``node_scrape_collector_success`` 0."""
        return self._collect()[0].render()

    def _collect(self) -> tuple[PageWriter, list[str]]:
        w = PageWriter()
        errors: list[str] = []
        sections: Iterable[tuple[str, Callable[[PageWriter], None]]] = (
            ("cpu", self._cpu), ("meminfo", self._meminfo), ("filesystem", self._filesystem),
            ("netdev", self._netdev), ("loadavg", self._loadavg),
            ("diskstats", self._diskstats), ("stat", self._stat), ("time", self._time),
            ("uname", self._uname),
            *((name, partial(section, self.files)) for name, section in _MODULE_SECTIONS),
        )
        results: list[tuple[str, float, bool]] = []
        for name, section in sections:
            start = time.perf_counter()
            part = PageWriter()
            try:
                section(part)
                ok = True
            except (OSError, ValueError, IndexError) as e:
                ok = False  # node_exporter reports this and keeps going
                errors.append(f"{name}: {e}")
            else:
                w.merge(part)
            results.append((name, time.perf_counter() - start, ok))
        try:
            host_sys.exporter_process(w)
        except (OSError, ValueError, IndexError, StopIteration):
            pass  # not a host metric: its absence (no /proc/self) is not a host failure
        for name, duration, ok in results:
            w.add("node_scrape_collector_duration_seconds",
                  "node_exporter: Duration of a collector scrape.", "gauge", duration,
                  {"collector": name})
            w.add("node_scrape_collector_success",
                  "node_exporter: Whether a collector succeeded.", "gauge", 1.0 if ok else 0.0,
                  {"collector": name})
        return w, errors

    # -- /proc/stat --------------------------------------------------------------------

    def _cpu(self, w: PageWriter) -> None:
        for line in self._read("stat").splitlines():
            parts = line.split()
            if not parts or not parts[0].startswith("cpu") or parts[0] == "cpu":
                continue
            cpu = parts[0][3:]
            ticks = [float(x) for x in parts[1:]]
            for mode, value in zip(_CPU_MODES, ticks, strict=False):
                w.add("node_cpu_seconds_total", "Seconds the CPUs spent in each mode.",
                      "counter", value / USER_HZ, {"cpu": cpu, "mode": mode})
            if len(ticks) >= 10:
                for mode, value in (("user", ticks[8]), ("nice", ticks[9])):
                    w.add("node_cpu_guest_seconds_total",
                          "Seconds the CPUs spent in guests (VMs) for each mode.", "counter",
                          value / USER_HZ, {"cpu": cpu, "mode": mode})

    def _stat(self, w: PageWriter) -> None:
        fields = {}
        for line in self._read("stat").splitlines():
            parts = line.split()
            if len(parts) >= 2:
                fields[parts[0]] = parts[1]
        w.add("node_intr_total", "Total number of interrupts serviced.", "counter",
              float(fields["intr"]))
        w.add("node_context_switches_total", "Total number of context switches.", "counter",
              float(fields["ctxt"]))
        w.add("node_forks_total", "Total number of forks.", "counter", float(fields["processes"]))
        w.add("node_boot_time_seconds", "Node boot time, in unixtime.", "gauge",
              float(fields["btime"]))
        w.add("node_procs_running", "Number of processes in runnable state.", "gauge",
              float(fields["procs_running"]))
        w.add("node_procs_blocked", "Number of processes blocked waiting for I/O to complete.",
              "gauge", float(fields["procs_blocked"]))

    # -- memory, load ------------------------------------------------------------------

    def _meminfo(self, w: PageWriter) -> None:
        for line in self._read("meminfo").splitlines():
            key, sep, rest = line.partition(":")
            parts = rest.split()
            if not sep or not parts:
                continue
            value = float(parts[0])
            key = _MEMINFO_PAREN.sub(r"_\1", key.strip())
            if len(parts) > 1 and parts[1] == "kB":
                value *= 1024
                key += "_bytes"
            type_ = "counter" if key.endswith("_total") else "gauge"
            w.add(f"node_memory_{key}", f"Memory information field {key}.", type_, value)

    def _loadavg(self, w: PageWriter) -> None:
        loads = self._read("loadavg").split()
        for i, window in enumerate(("1", "5", "15")):
            w.add(f"node_load{window}", f"{window}m load average.", "gauge", float(loads[i]))

    # -- filesystems -------------------------------------------------------------------

    def _mounts(self) -> list[tuple[str, str, str, set[str]]]:
        """(device, mountpoint, fstype, mount+super options) from mountinfo."""
        for rel in (("1", "mountinfo"), ("self", "mountinfo")):
            try:
                text = self._read(*rel)
                break
            except OSError:
                continue
        else:
            raise OSError("no readable mountinfo")
        out = []
        for line in text.splitlines():
            pre, sep, post = line.partition(" - ")
            a, b = pre.split(), post.split()
            if not sep or len(a) < 6 or len(b) < 2:
                continue
            unescape = lambda s: _MOUNT_ESCAPE.sub(lambda m: chr(int(m.group(1), 8)), s)  # noqa: E731
            opts = set(a[5].split(","))
            if len(b) >= 3:
                opts |= {"super:" + o for o in b[2].split(",")}
            out.append((unescape(b[1]), unescape(a[4]), b[0], opts))
        return out

    def _filesystem(self, w: PageWriter) -> None:
        seen: set[tuple[str, str]] = set()
        for device, mountpoint, fstype, opts in self._mounts():
            if MOUNT_POINTS_EXCLUDE.search(mountpoint) or FS_TYPES_EXCLUDE.search(fstype):
                continue
            if (device, mountpoint) in seen:
                continue
            seen.add((device, mountpoint))
            labels = {"device": device, "fstype": fstype, "mountpoint": mountpoint}
            ro = bool(opts & {"ro", "super:ro", "super:emergency_ro"})
            try:
                st = os.statvfs(mountpoint)
            except OSError:
                w.add("node_filesystem_device_error", "Whether an error occurred while getting "
                      "statistics for the given device.", "gauge", 1.0, labels)
                w.add("node_filesystem_readonly", "Filesystem read-only status.", "gauge",
                      float(ro), labels)
                continue
            bsize = st.f_frsize or st.f_bsize
            for name, help_, value in (
                ("size_bytes", "Filesystem size in bytes.", st.f_blocks * bsize),
                ("free_bytes", "Filesystem free space in bytes.", st.f_bfree * bsize),
                ("avail_bytes", "Filesystem space available to non-root users in bytes.",
                 st.f_bavail * bsize),
                ("files", "Filesystem total file nodes.", st.f_files),
                ("files_free", "Filesystem total free file nodes.", st.f_ffree),
                ("readonly", "Filesystem read-only status.", float(ro)),
                ("device_error", "Whether an error occurred while getting statistics for the "
                 "given device.", 0.0),
            ):
                w.add(f"node_filesystem_{name}", help_, "gauge", float(value), labels)

    # -- network, disks ----------------------------------------------------------------

    def _netdev(self, w: PageWriter) -> None:
        for line in self._read("net", "dev").splitlines()[2:]:
            dev, sep, rest = line.partition(":")
            values = rest.split()
            if not sep or len(values) < len(_NETDEV_FIELDS):
                continue
            device = dev.strip()
            for key, value in zip(_NETDEV_FIELDS, values, strict=False):
                w.add(f"node_network_{key}_total", f"Network device statistic {key}.", "counter",
                      float(value), {"device": device})
            # node_exporter >= 1.5 reads netlink, which also has rx_nohandler; /proc/net/dev
            # lacks it, sysfs has it.
            nohandler = self._read_sys("class", "net", device, "statistics", "rx_nohandler")
            if nohandler is not None:
                w.add("node_network_receive_nohandler_total",
                      "Network device statistic receive_nohandler.", "counter",
                      float(nohandler), {"device": device})

    def _read_sys(self, *parts: str) -> str | None:
        return self.files.sys(*parts)

    def _diskstats(self, w: PageWriter) -> None:
        for line in self._read("diskstats").splitlines():
            parts = line.split()
            if len(parts) < 14 or DISK_DEVICES_EXCLUDE.search(parts[2]):
                continue
            labels = {"device": parts[2]}
            # node_exporter also labels model, serial, wwn, path, revision from udev; they
            # are empty without udev data, and an empty label is no label.
            w.add("node_disk_info", "Info of /sys/block/<block_device>.", "gauge", 1.0,
                  {"device": parts[2], "major": parts[0], "minor": parts[1]})
            for (name, help_, scale, type_), raw in zip(_DISK_FIELDS, parts[3:], strict=False):
                w.add(f"node_disk_{name}", help_, type_, float(raw) * scale, labels)

    # -- time, uname -------------------------------------------------------------------

    def _time(self, w: PageWriter) -> None:
        now = time.time()
        w.add("node_time_seconds", "System time in seconds since epoch (1970).", "gauge", now)
        local = time.localtime(now)
        w.add("node_time_zone_offset_seconds", "System time zone offset in seconds.", "gauge",
              float(local.tm_gmtoff), {"time_zone": local.tm_zone})
        base = os.path.join(self.sys, "devices", "system", "clocksource")
        try:
            names = sorted(os.listdir(base))
        except OSError:
            names = []
        for name in names:
            if not re.fullmatch(r"clocksource\d+", name):
                continue
            device = name.removeprefix("clocksource")
            available = self._read_sys("devices", "system", "clocksource", name,
                                       "available_clocksource") or ""
            for source in available.split():
                w.add("node_time_clocksource_available_info",
                      "Available clocksources read from '/sys/devices/system/clocksource'.",
                      "gauge", 1.0, {"clocksource": source, "device": device})
            current = self._read_sys("devices", "system", "clocksource", name,
                                     "current_clocksource")
            if current:
                w.add("node_time_clocksource_current_info",
                      "Current clocksource read from '/sys/devices/system/clocksource'.",
                      "gauge", 1.0, {"clocksource": current, "device": device})

    def _uname(self, w: PageWriter) -> None:
        u = os.uname()
        try:
            domain = self._read("sys", "kernel", "domainname").strip()
        except OSError:
            domain = "(none)"
        w.add("node_uname_info",
              "Labeled system information as provided by the uname system call.", "gauge", 1.0,
              {"sysname": u.sysname, "release": u.release, "version": u.version,
               "machine": u.machine, "nodename": u.nodename, "domainname": domain})
