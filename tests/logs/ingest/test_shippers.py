"""Real shippers on loopback: rsyslog (omfwd over TCP with octet counting and newline framing
and over UDP; omelasticsearch) and syslog-ng (syslog(), network() over TCP and UDP, http())
send to Vigil's listeners and decoders what they send in production."""

import time

from tests.logs.ingest.listening import listeners
from tests.logs.ingest.memappender import MemoryAppender
from tests.logs.ingest.shippers import IngestHTTPServer, Rsyslog, SyslogNg
from vigil.logs.model import LogEntry
from vigil.model.labels import Labels


def _messages() -> tuple[list[bytes], int]:
    """Two RFC 5424 messages stamped .250 and .500 into the same second a minute ago, as a
    client would send them to the shipper's input, and that second in ns (what RFC 3164,
    without fractions, keeps of both)."""
    now_s = int(time.time()) - 60
    stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(now_s))
    return [
        f'<134>1 {stamp}.250Z web1 nginx 42 ACCESS [req@32473 id="7" path="/x"] GET /x 200'.encode(),
        f'<11>1 {stamp}.500Z db2 postgres 7 - - FATAL: "quoted" \\ back é'.encode(),
    ], now_s * 10**9


def _by_via(entries: list[LogEntry]) -> dict[str, list[LogEntry]]:
    out: dict[str, list[LogEntry]] = {}
    for entry in entries:
        out.setdefault(entry.labels.get("via"), []).append(entry)
    return out


def _check_common(entries: list[LogEntry], via: str) -> None:
    access, fatal = sorted(entries, key=lambda e: e.labels.get("host") != "web1")
    assert access.labels == Labels({"job": "syslog", "via": via, "host": "web1", "app": "nginx"})
    assert (access.line.strip(), access.level) == ("GET /x 200", "info")
    assert ("facility", "local0") in access.fields and ("procid", "42") in access.fields
    assert fatal.labels == Labels({"job": "syslog", "via": via, "host": "db2", "app": "postgres"})
    assert (fatal.line.strip(), fatal.level) == ('FATAL: "quoted" \\ back é', "error")


def test_rsyslog_forwards_rfc5424_and_rfc3164_over_tcp_and_udp(tmp_path):
    appender = MemoryAppender()
    lines, ts_ns = _messages()
    vias = ("rfc5424-octets", "rfc3164-tcp", "udp")
    with listeners(appender, *(Labels({"job": "syslog", "via": v}) for v in vias)) as running:
        octets, newline, udp = running
        rsyslog = Rsyslog(tmp_path, "\n".join([
            f'action(type="omfwd" target="127.0.0.1" port="{octets.tcp_port}" protocol="tcp" '
            'TCP_Framing="octet-counted" template="RSYSLOG_SyslogProtocol23Format")',
            f'action(type="omfwd" target="127.0.0.1" port="{newline.tcp_port}" protocol="tcp" '
            'template="RSYSLOG_TraditionalForwardFormat")',
            f'action(type="omfwd" target="127.0.0.1" port="{udp.udp_port}" protocol="udp")',
        ]))
        try:
            rsyslog.send(*lines)
            entries = appender.wait_for(6)
        finally:
            rsyslog.stop()
        assert [r.errors for r in running] == [[], [], []]
    by_via = _by_via(entries)
    for via in vias:
        _check_common(by_via[via], via)
    rfc5424 = sorted(by_via["rfc5424-octets"], key=lambda e: e.ts_ns)
    assert [e.ts_ns for e in rfc5424] == [ts_ns + 250_000_000, ts_ns + 500_000_000]
    assert ("req@32473.id", "7") in rfc5424[0].fields
    assert ("req@32473.path", "/x") in rfc5424[0].fields
    assert ("msgid", "ACCESS") in rfc5424[0].fields
    for via in ("rfc3164-tcp", "udp"):  # BSD syslog keeps whole seconds only
        assert sorted(e.ts_ns for e in by_via[via]) == [ts_ns, ts_ns]


def test_rsyslog_omelasticsearch_bulk_requests(tmp_path):
    appender = MemoryAppender()
    lines, ts_ns = _messages()
    server = IngestHTTPServer(appender, Labels({"job": "es"}))
    # A template writing ECS-like documents, as a site shipping to Elasticsearch would…
    ecs = "\n".join([
        'template(name="ecs" type="list" option.json="on") {',
        ' constant(value="{\\"@timestamp\\":\\"") property(name="timereported" dateFormat="rfc3339")',
        ' constant(value="\\",\\"host\\":{\\"name\\":\\"") property(name="hostname")',
        ' constant(value="\\"},\\"app\\":\\"") property(name="app-name")',
        ' constant(value="\\",\\"log\\":{\\"level\\":\\"") property(name="syslogseverity-text")',
        ' constant(value="\\"},\\"message\\":\\"") property(name="msg")',
        ' constant(value="\\"}")', "}"])
    rsyslog = Rsyslog(tmp_path, "\n".join([
        f'action(type="omelasticsearch" server="127.0.0.1" serverport="{server.port}" '
        'searchIndex="syslog-ecs" bulkmode="on" template="ecs")',
        # …and omelasticsearch's own default template.
        f'action(type="omelasticsearch" server="127.0.0.1" serverport="{server.port}" '
        'searchIndex="syslog-default" bulkmode="on")',
    ]), preamble=ecs)
    try:
        rsyslog.send(*lines)
        entries = appender.wait_for(4)
    finally:
        rsyslog.stop()
        server.close()
    assert server.errors == []
    assert all(path == "/_bulk" for path, _ in server.bodies)
    by_index: dict[str, list[LogEntry]] = {}
    for entry in entries:
        by_index.setdefault(entry.labels.get("index"), []).append(entry)
    for index in ("syslog-ecs", "syslog-default"):
        access, fatal = sorted(by_index[index], key=lambda e: e.labels.get("host") != "web1")
        assert access.labels.get("host") == "web1" and fatal.labels.get("host") == "db2"
        assert (access.line.strip(), access.level) == ("GET /x 200", "info")
        assert (fatal.line.strip(), fatal.level) == ('FATAL: "quoted" \\ back é', "error")
        # rsyslog's rfc3339 dates keep microseconds (timereported of the input).
        assert sorted(e.ts_ns for e in by_index[index]) == [ts_ns + 250_000_000,
                                                             ts_ns + 500_000_000]
    assert by_index["syslog-ecs"][0].labels.get("app") == "nginx"
    assert ("facility", "local0") in sorted(by_index["syslog-default"],
                                            key=lambda e: e.labels.get("host"))[1].fields


def test_syslog_ng_syslog_network_and_http_destinations(tmp_path):
    appender = MemoryAppender()
    lines, ts_ns = _messages()
    vias = ("rfc5424-octets", "rfc3164-tcp", "udp")
    server = IngestHTTPServer(appender, Labels({"job": "syslog", "via": "http"}))
    with listeners(appender, *(Labels({"job": "syslog", "via": v}) for v in vias)) as running:
        octets, newline, udp = running
        syslog_ng = SyslogNg(tmp_path, "\n".join([
            f'destination d_syslog {{ syslog("127.0.0.1" port({octets.tcp_port}) transport("tcp")); }};',
            f'destination d_net {{ network("127.0.0.1" port({newline.tcp_port}) transport("tcp")); }};',
            f'destination d_udp {{ network("127.0.0.1" port({udp.udp_port}) transport("udp")); }};',
            f'destination d_http {{ http(url("http://127.0.0.1:{server.port}/jsonlines") '
            'method("POST") headers("Content-Type: application/x-ndjson") '
            'body("$(format-json --scope rfc5424 --scope sdata --key ISODATE)") '
            'batch-lines(10) batch-timeout(100) delimiter("\\n")); };',
        ]), "log { source(s_in); destination(d_syslog); destination(d_net); "
            "destination(d_udp); destination(d_http); };")
        try:
            syslog_ng.send(*lines)
            entries = appender.wait_for(8)
        finally:
            syslog_ng.stop()
            server.close()
        assert [r.errors for r in running] == [[], [], []]
    assert server.errors == []
    by_via = _by_via(entries)
    for via in vias:
        _check_common(by_via[via], via)
    assert sorted(e.ts_ns for e in by_via["rfc5424-octets"]) == [
        ts_ns + 250_000_000, ts_ns + 500_000_000]
    assert sorted(e.ts_ns for e in by_via["udp"]) == [ts_ns, ts_ns]
    http = sorted(by_via["http"], key=lambda e: e.labels.get("host") != "web1")
    assert [e.labels.get("host") for e in http] == ["web1", "db2"]
    assert [e.labels.get("app") for e in http] == ["nginx", "postgres"]
    assert [(e.line, e.level) for e in http] == [
        ("GET /x 200", "info"), ('FATAL: "quoted" \\ back é', "error")]
    # With frac-digits(3) (syslog-ng's default is 0) ISODATE and RFC 5424 keep milliseconds.
    assert [e.ts_ns for e in http] == [ts_ns + 250_000_000, ts_ns + 500_000_000]
    assert ("PID", "42") in http[0].fields
