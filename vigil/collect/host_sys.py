"""Host collector sections about the kernel and the machine, under node_exporter's names.

Each function takes the :class:`~vigil.collect._hostpage.HostFiles` of the host and a
:class:`~vigil.collect._hostpage.PageWriter`, and follows the node_exporter (1.5) Linux
collector of the same name: ``pressure`` (PSI, /proc/pressure), ``vmstat`` (paging, faults
and OOM kills from /proc/vmstat), ``timex`` (the kernel clock discipline, adjtimex(2)),
``entropy``, ``filefd``, ``os`` (os-release), ``selinux``, ``schedstat``, ``cpufreq`` and
``thermal_zone``. A source that only exists with some kernel feature or hardware (PSI,
schedstat, cpufreq, thermal sensors, SELinux) yields no series when absent, without failing
the section; a missing core file (/proc/vmstat) raises :class:`OSError`.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import re
import resource
import shlex
from pathlib import Path

from vigil.collect._hostpage import HostFiles, PageWriter

__all__ = ["cpufreq", "entropy", "exporter_process", "filefd", "os_release", "pressure", "schedstat", "selinux",
           "thermal_zone", "timex", "vmstat"]

# node_exporter's --collector.vmstat.fields default.
VMSTAT_FIELDS = re.compile(r"^(oom_kill|pgpg|pswp|pg.*fault).*")


def pressure(files: HostFiles, w: PageWriter) -> None:
    """PSI totals (microseconds in the kernel) as seconds: "some" is time at least one task
    waited, "full" time all non-idle tasks stalled (cpu has only a meaningful "some")."""
    wanted = {("cpu", "some"): "cpu_waiting", ("io", "some"): "io_waiting",
              ("io", "full"): "io_stalled", ("memory", "some"): "memory_waiting",
              ("memory", "full"): "memory_stalled", ("irq", "full"): "irq_stalled"}
    helps = {"waiting": "Total time in seconds that processes have waited for {}",
             "stalled": "Total time in seconds no process could make progress due to {}"}
    for source in ("cpu", "io", "memory", "irq"):  # irq: kernels with IRQ time accounting
        text = files.optional("pressure", source)
        if text is None:
            continue  # kernel without PSI (or booted with psi=0)
        for line in text.splitlines():
            kind, _, rest = line.partition(" ")
            name = wanted.get((source, kind))
            fields = dict(f.split("=", 1) for f in rest.split() if "=" in f)
            if name is None or "total" not in fields:
                continue
            what = {"cpu": "CPU time", "io": "IO", "memory": "memory", "irq": "IRQ"}[source]
            w.add(f"node_pressure_{name}_seconds_total",
                  helps[name.rsplit("_", 1)[1]].format(what), "counter",
                  int(fields["total"]) / 1e6)


def vmstat(files: HostFiles, w: PageWriter) -> None:
    for line in files.proc("vmstat").splitlines():
        key, _, value = line.partition(" ")
        if VMSTAT_FIELDS.match(key) and value.strip():
            w.add(f"node_vmstat_{key}", f"/proc/vmstat information field {key}.", "untyped",
                  float(value))


class _Timex(ctypes.Structure):
    # struct timex of <sys/timex.h> on Linux (glibc, LP64 and ILP32 alike: C long fields).
    _fields_ = [
        ("modes", ctypes.c_uint), ("offset", ctypes.c_long), ("freq", ctypes.c_long),
        ("maxerror", ctypes.c_long), ("esterror", ctypes.c_long), ("status", ctypes.c_int),
        ("constant", ctypes.c_long), ("precision", ctypes.c_long),
        ("tolerance", ctypes.c_long), ("time_sec", ctypes.c_long),
        ("time_usec", ctypes.c_long), ("tick", ctypes.c_long), ("ppsfreq", ctypes.c_long),
        ("jitter", ctypes.c_long), ("shift", ctypes.c_int), ("stabil", ctypes.c_long),
        ("jitcnt", ctypes.c_long), ("calcnt", ctypes.c_long), ("errcnt", ctypes.c_long),
        ("stbcnt", ctypes.c_long), ("tai", ctypes.c_int), ("_padding", ctypes.c_int * 11),
    ]


_TIME_ERROR = 5  # adjtimex's answer while the clock is not synchronised
_STA_NANO = 0x2000  # offset and jitter are in nanoseconds rather than microseconds
_PPM16 = 1e6 * 65536  # freq, ppsfreq and stabil are ppm with a 16-bit fraction
_libc: ctypes.CDLL | None = None


def _adjtimex() -> tuple[int, _Timex]:
    global _libc
    if _libc is None:
        _libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
    tx = _Timex()  # modes 0: read only, no privilege needed
    state = _libc.adjtimex(ctypes.byref(tx))
    if state < 0:
        err = ctypes.get_errno()
        raise OSError(err, f"adjtimex: {os.strerror(err)}")
    return state, tx


def timex(files: HostFiles, w: PageWriter) -> None:
    state, tx = _adjtimex()
    div = 1e9 if tx.status & _STA_NANO else 1e6
    gauges = (
        ("sync_status", "Is clock synchronized to a reliable server (1 = yes, 0 = no).",
         0.0 if state == _TIME_ERROR else 1.0),
        ("offset_seconds", "Time offset in between local system and reference clock.",
         tx.offset / div),
        ("frequency_adjustment_ratio", "Local clock frequency adjustment.",
         1 + tx.freq / _PPM16),
        ("maxerror_seconds", "Maximum error in seconds.", tx.maxerror / 1e6),
        ("estimated_error_seconds", "Estimated error in seconds.", tx.esterror / 1e6),
        ("status", "Value of the status array bits.", tx.status),
        ("loop_time_constant", "Phase-locked loop time constant.", tx.constant),
        ("tick_seconds", "Seconds between clock ticks.", tx.tick / 1e6),
        ("pps_frequency_hertz", "Pulse per second frequency.", tx.ppsfreq / _PPM16),
        ("pps_jitter_seconds", "Pulse per second jitter.", tx.jitter / div),
        ("pps_shift_seconds", "Pulse per second interval duration.", tx.shift),
        ("pps_stability_hertz", "Pulse per second stability, average of recent frequency "
         "changes.", tx.stabil / _PPM16),
        ("tai_offset_seconds", "International Atomic Time (TAI) offset.", tx.tai),
    )
    for name, help_, value in gauges:
        w.add(f"node_timex_{name}", help_, "gauge", float(value))
    for name, help_, value in (
        ("pps_jitter_total", "Pulse per second count of jitter limit exceeded events.",
         tx.jitcnt),
        ("pps_calibration_total", "Pulse per second count of calibration intervals.",
         tx.calcnt),
        ("pps_error_total", "Pulse per second count of calibration errors.", tx.errcnt),
        ("pps_stability_exceeded_total", "Pulse per second count of stability limit "
         "exceeded events.", tx.stbcnt),
    ):
        w.add(f"node_timex_{name}", help_, "counter", float(value))


def entropy(files: HostFiles, w: PageWriter) -> None:
    available = files.proc("sys", "kernel", "random", "entropy_avail")
    pool = files.proc("sys", "kernel", "random", "poolsize")
    w.add("node_entropy_available_bits", "Bits of available entropy.", "gauge",
          float(available))
    w.add("node_entropy_pool_size_bits", "Bits of entropy pool.", "gauge", float(pool))


def filefd(files: HostFiles, w: PageWriter) -> None:
    allocated, _unused, maximum = files.proc("sys", "fs", "file-nr").split()[:3]
    w.add("node_filefd_allocated", "File descriptor statistics: allocated.", "gauge",
          float(allocated))
    w.add("node_filefd_maximum", "File descriptor statistics: maximum.", "gauge",
          float(maximum))


_OS_INFO_LABELS = ("build_id", "id", "id_like", "image_id", "image_version", "name",
                   "pretty_name", "variant", "variant_id", "version", "version_codename",
                   "version_id")
_LEADING_VERSION = re.compile(r"^\d+(\.\d+)?")


def os_release(files: HostFiles, w: PageWriter) -> None:
    """os-release(5) from the host's root (/etc first, then /usr/lib)."""
    try:
        text = files.root("etc", "os-release")
    except FileNotFoundError:
        text = files.root("usr", "lib", "os-release")
    fields: dict[str, str] = {}
    for line in text.splitlines():
        key, sep, raw = line.strip().partition("=")
        if not sep or key.startswith("#"):
            continue
        try:
            parts = shlex.split(raw)
        except ValueError:
            parts = [raw.strip("\"'")]
        fields[key.lower()] = " ".join(parts)
    w.add("node_os_info", "A metric with a constant '1' value labeled by build_id, id, "
          "id_like, image_id, image_version, name, pretty_name, variant, variant_id, version, "
          "version_codename, version_id.", "gauge", 1.0,
          {k: fields.get(k, "") for k in _OS_INFO_LABELS})
    version = _LEADING_VERSION.match(fields.get("version_id", ""))
    if version:
        w.add("node_os_version", "Metric containing the major.minor part of the OS version.",
              "gauge", float(version.group(0)),
              {k: fields.get(k, "") for k in ("id", "id_like", "name")})


_SELINUX_MODES = {"enforcing": 1.0, "permissive": 0.0, "disabled": -1.0}


def selinux(files: HostFiles, w: PageWriter) -> None:
    enforce = files.sys("fs", "selinux", "enforce")
    w.add("node_selinux_enabled", "SELinux is enabled, 1 is true, 0 is false", "gauge",
          0.0 if enforce is None else 1.0)
    if enforce is None:
        return
    w.add("node_selinux_current_mode", "SELinux mode. 1 is enforcing, 0 is permissive, "
          "-1 is disabled", "gauge", float(enforce))
    try:
        config = files.root("etc", "selinux", "config")
    except OSError:
        return
    for line in config.splitlines():
        key, _, value = line.strip().partition("=")
        if key == "SELINUX" and value.strip() in _SELINUX_MODES:
            w.add("node_selinux_config_mode", "Configured SELinux enforcement mode",
                  "gauge", _SELINUX_MODES[value.strip()])


def schedstat(files: HostFiles, w: PageWriter) -> None:
    """Per-CPU scheduler statistics (kernels with CONFIG_SCHEDSTATS): nanoseconds running,
    nanoseconds waiting on the run queue, time slices run."""
    text = files.optional("schedstat")
    if text is None:
        return
    for line in text.splitlines():
        parts = line.split()
        if not parts or not re.fullmatch(r"cpu\d+", parts[0]) or len(parts) < 10:
            continue
        labels = {"cpu": parts[0][3:]}
        w.add("node_schedstat_running_seconds_total",
              "Number of seconds CPU spent running a process.", "counter",
              int(parts[7]) / 1e9, labels)
        w.add("node_schedstat_waiting_seconds_total",
              "Number of seconds spent by processing waiting for this CPU.", "counter",
              int(parts[8]) / 1e9, labels)
        w.add("node_schedstat_timeslices_total", "Number of timeslices executed by CPU.",
              "counter", float(parts[9]), labels)


def cpufreq(files: HostFiles, w: PageWriter) -> None:
    """CPU frequencies from cpufreq sysfs (kHz) as hertz; absent on most virtual machines."""
    cpus = [d for d in files.sys_dir("devices", "system", "cpu") if re.fullmatch(r"cpu\d+", d)]
    series = (("cpuinfo_cur_freq", "node_cpu_frequency_hertz", "Current CPU thread frequency "
               "in hertz."),
              ("cpuinfo_max_freq", "node_cpu_frequency_max_hertz", "Maximum CPU thread "
               "frequency in hertz."),
              ("cpuinfo_min_freq", "node_cpu_frequency_min_hertz", "Minimum CPU thread "
               "frequency in hertz."),
              ("scaling_cur_freq", "node_cpu_scaling_frequency_hertz", "Current scaled CPU "
               "thread frequency in hertz."),
              ("scaling_max_freq", "node_cpu_scaling_frequency_max_hertz", "Maximum scaled "
               "CPU thread frequency in hertz."),
              ("scaling_min_freq", "node_cpu_scaling_frequency_min_hertz", "Minimum scaled "
               "CPU thread frequency in hertz."))
    for cpu in sorted(cpus, key=lambda c: int(c[3:])):
        for attr, name, help_ in series:
            raw = files.sys("devices", "system", "cpu", cpu, "cpufreq", attr)
            if raw is not None and raw.isdigit():
                w.add(name, help_, "gauge", int(raw) * 1000.0, {"cpu": cpu[3:]})


def thermal_zone(files: HostFiles, w: PageWriter) -> None:
    """Thermal zones (millidegrees Celsius) and cooling devices from /sys/class/thermal."""
    for entry in files.sys_dir("class", "thermal"):
        base = ("class", "thermal", entry)
        if entry.startswith("thermal_zone"):
            kind, temp = files.sys(*base, "type"), files.sys(*base, "temp")
            if kind is None or temp is None or not temp.lstrip("-").isdigit():
                continue
            w.add("node_thermal_zone_temp", "Zone temperature in Celsius", "gauge",
                  int(temp) / 1000.0, {"type": kind, "zone": entry.removeprefix("thermal_zone")})
        elif entry.startswith("cooling_device"):
            kind = files.sys(*base, "type")
            cur, top = files.sys(*base, "cur_state"), files.sys(*base, "max_state")
            if kind is None or cur is None or top is None:
                continue
            labels = {"name": entry.removeprefix("cooling_device"), "type": kind}
            w.add("node_cooling_device_cur_state",
                  "Current throttle state of the cooling device", "gauge", float(cur), labels)
            w.add("node_cooling_device_max_state",
                  "Maximum throttle state of the cooling device", "gauge", float(top), labels)


def exporter_process(w: PageWriter) -> None:
    """The collecting process's own ``process_*`` series (Vigil's, as node_exporter's page
    carries node_exporter's), read from /proc/self: dashboards chart the exporter's CPU,
    memory and file descriptors next to the host's. Unlimited limits are 2**64 - 1, as the
    Prometheus client libraries report them."""
    stat = Path("/proc/self/stat").read_text().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    boot = next(float(line.split()[1]) for line in Path("/proc/stat").read_text().splitlines()
                if line.startswith("btime "))
    unlimited = float(2**64 - 1)

    def limit(which: int) -> float:
        soft = resource.getrlimit(which)[0]
        return unlimited if soft == resource.RLIM_INFINITY else float(soft)

    cpu = os.times()
    for name, help_, type_, value in (
        ("process_cpu_seconds_total", "Total user and system CPU time spent in seconds.",
         "counter", cpu.user + cpu.system),
        ("process_open_fds", "Number of open file descriptors.", "gauge",
         len(os.listdir("/proc/self/fd"))),
        ("process_max_fds", "Maximum number of open file descriptors.", "gauge",
         limit(resource.RLIMIT_NOFILE)),
        # /proc/self/stat after the command: state is field 0, starttime 19 (clock ticks
        # after boot), vsize 20 (bytes), rss 21 (pages).
        ("process_virtual_memory_bytes", "Virtual memory size in bytes.", "gauge",
         float(stat[20])),
        ("process_virtual_memory_max_bytes",
         "Maximum amount of virtual memory available in bytes.", "gauge",
         limit(resource.RLIMIT_AS)),
        ("process_resident_memory_bytes", "Resident memory size in bytes.", "gauge",
         float(stat[21]) * os.sysconf("SC_PAGE_SIZE")),
        ("process_start_time_seconds", "Start time of the process since unix epoch in "
         "seconds.", "gauge", boot + int(stat[19]) / ticks),
    ):
        w.add(name, help_, type_, float(value))
