"""A fixture /proc, /sys and /etc tree for the host collector's sections (shared by the
host collector tests): small copies of the kernel's formats with known values."""

from __future__ import annotations

from pathlib import Path

NETSTAT = """\
TcpExt: SyncookiesSent SyncookiesRecv ListenOverflows ListenDrops TCPTimeouts TCPOFOQueue PruneCalled
TcpExt: 1 2 3 4 5 6 7
IpExt: InNoRoutes InOctets OutOctets
IpExt: 0 1000 2000
"""
SNMP = """\
Ip: Forwarding DefaultTTL InReceives InHdrErrors
Ip: 1 64 500 2
Tcp: RtoAlgorithm ActiveOpens PassiveOpens InErrs CurrEstab MaxConn
Tcp: 1 10 20 3 7 -1
Udp: InDatagrams NoPorts InErrors OutDatagrams RcvbufErrors SndbufErrors
Udp: 100 1 0 90 0 0
"""
SNMP6 = """\
Ip6InReceives                   	30
Ip6InOctets                     	3000
Icmp6InMsgs                     	4
Udp6InDatagrams                 	8
UdpLite6InErrors                	0
"""
SOCKSTAT = """\
sockets: used 45
TCP: inuse 26 orphan 1 tw 239 alloc 27 mem 3
UDP: inuse 2 mem 1
FRAG: inuse 0 memory 0
"""
SOCKSTAT6 = "TCP6: inuse 5\nUDP6: inuse 1\n"
SOFTNET = ("0000000a 00000001 00000002 00000000 00000000 00000000 00000000 00000000 "
           "00000000 00000005 00000003\n"
           "000000ff 00000000 00000010 00000000 00000000\n")  # an old kernel's shorter line
UDP = """\
   sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
    0: 00000000:0044 00000000:0000 07 00000010:00000200 00:00000000 00000000     0        0 1
    1: 00000000:0045 00000000:0000 07 00000001:00000001 00:00000000 00000000     0        0 2
"""
ARP = """\
IP address       HW type     Flags       HW address            Mask     Device
192.0.2.1        0x1         0x2         02:fc:00:00:00:05     *        eth0
192.0.2.2        0x1         0x2         02:fc:00:00:00:06     *        eth0
10.0.0.1         0x1         0x2         02:fc:00:00:00:07     *        wlan0
"""
CONNTRACK_STAT = """\
entries  clashres found new invalid ignore delete chainlength insert insert_failed drop early_drop icmp_error  expect_new expect_create expect_delete search_restart
00000005  00000000 00000001 00000000 0000000a 00000000 00000000 00000000 00000002 00000000 00000003 00000000 00000000  00000000 00000000 00000000 00000001
00000005  00000000 00000002 00000000 00000010 00000000 00000000 00000000 00000002 00000000 00000000 00000000 00000000  00000000 00000000 00000000 00000000
"""
VMSTAT = "nr_free_pages 100\npgpgin 10\npgpgout 20\npswpin 1\npswpout 2\npgfault 300\n" \
    "pgmajfault 4\noom_kill 1\nnr_dirty 5\n"
SCHEDSTAT = """\
version 15
timestamp 4294
cpu0 0 0 0 0 0 0 2000000000 500000000 42
domain0 00000003 1 2 3
cpu1 0 0 0 0 0 0 1000000000 0 7
"""
OS_RELEASE = 'NAME="Debian GNU/Linux"\nVERSION_ID="12"\nID=debian\n' \
    'PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\n# a comment\n'


def write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def add_proc_sections(proc: Path) -> None:
    """The /proc files of the sections beyond the first nine (netstat ... conntrack)."""
    for rel, text in (("net/netstat", NETSTAT), ("net/snmp", SNMP), ("net/snmp6", SNMP6),
                      ("net/sockstat", SOCKSTAT), ("net/sockstat6", SOCKSTAT6),
                      ("net/softnet_stat", SOFTNET), ("net/udp", UDP), ("net/arp", ARP),
                      ("net/stat/nf_conntrack", CONNTRACK_STAT), ("vmstat", VMSTAT),
                      ("schedstat", SCHEDSTAT),
                      ("sys/kernel/random/entropy_avail", "256\n"),
                      ("sys/kernel/random/poolsize", "4096\n"),
                      ("sys/fs/file-nr", "2155\t0\t2471007\n"),
                      ("sys/net/netfilter/nf_conntrack_count", "12\n"),
                      ("sys/net/netfilter/nf_conntrack_max", "262144\n"),
                      ("pressure/cpu", "some avg10=1.00 avg60=0.50 avg300=0.10 total=5000000\n"
                                       "full avg10=0.00 avg60=0.00 avg300=0.00 total=0\n"),
                      ("pressure/io", "some avg10=0.00 avg60=0.00 avg300=0.00 total=1500000\n"
                                      "full avg10=0.00 avg60=0.00 avg300=0.00 total=250000\n"),
                      ("pressure/irq", "full avg10=0.00 avg60=0.00 avg300=0.00 total=30\n"),
                      ("pressure/memory", "some avg10=0.00 avg60=0.00 avg300=0.00 total=0\n"
                                          "full avg10=0.00 avg60=0.00 avg300=0.00 total=0\n")):
        write(proc / rel, text)
    write(proc.parent / "etc" / "os-release", OS_RELEASE)


def make_sys(sys_root: Path) -> None:
    """/sys/class/net (an up link with a speed, a down one without), cpufreq, thermal."""
    net = sys_root / "class" / "net"
    for dev, attrs in (
        ("eth0", {"operstate": "up", "carrier": "1", "speed": "1000", "mtu": "1500",
                  "flags": "0x1003", "dev_id": "0x0", "ifindex": "2", "type": "1",
                  "address": "02:00:00:00:00:01", "broadcast": "ff:ff:ff:ff:ff:ff",
                  "duplex": "full", "ifalias": "uplink", "carrier_changes": "4",
                  "tx_queue_len": "1000"}),
        ("ifb0", {"operstate": "down", "mtu": "1500", "ifindex": "3", "flags": "0x82",
                  "address": "2a:00:00:00:00:02"}),
    ):
        for name, value in attrs.items():
            write(net / dev / name, value + "\n")
    write(net / "bonding_masters", "\n")  # a file, not an interface
    cpufreq = sys_root / "devices" / "system" / "cpu" / "cpu0" / "cpufreq"
    for name, khz in (("scaling_cur_freq", "2400000"), ("scaling_max_freq", "3000000"),
                      ("cpuinfo_min_freq", "800000")):
        write(cpufreq / name, khz + "\n")
    (sys_root / "devices" / "system" / "cpu" / "cpufreq").mkdir()  # not a CPU
    thermal = sys_root / "class" / "thermal"
    write(thermal / "thermal_zone0" / "type", "x86_pkg_temp\n")
    write(thermal / "thermal_zone0" / "temp", "45500\n")
    write(thermal / "cooling_device0" / "type", "Processor\n")
    write(thermal / "cooling_device0" / "cur_state", "1\n")
    write(thermal / "cooling_device0" / "max_state", "10\n")
