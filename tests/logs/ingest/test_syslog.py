import calendar

import pytest

from vigil.logs.ingest.syslog import StreamFramer, parse_syslog, syslog_entry
from vigil.model.labels import Labels

NOW = calendar.timegm((2026, 12, 7, 10, 0, 0)) * 10**9


def test_rfc5424_with_structured_data_and_bom():
    # RFC 5424 §6.5 example 3, with escapes inside a value.
    data = (b'<165>1 2003-10-11T22:14:15.003Z mymachine.example.com evntslog - ID47 '
            b'[exampleSDID@32473 iut="3" eventSource="Appli\\"cation\\]" eventID="1011"]'
            b'[examplePriority@32473 class="high"] \xef\xbb\xbfAn application event\n')
    message = parse_syslog(data, received_ns=NOW)
    entry = syslog_entry(message, Labels({"job": "syslog"}))
    assert entry.ts_ns == 1065910455003000000
    assert entry.labels == Labels({"job": "syslog", "host": "mymachine.example.com",
                                   "app": "evntslog"})
    assert (entry.line, entry.level) == ("An application event", "info")
    assert entry.fields == (
        ("facility", "local4"), ("severity", "notice"), ("msgid", "ID47"),
        ("exampleSDID@32473.iut", "3"), ("exampleSDID@32473.eventSource", 'Appli"cation]'),
        ("exampleSDID@32473.eventID", "1011"), ("examplePriority@32473.class", "high"))


def test_rfc5424_nil_values():
    message = parse_syslog(b"<34>1 - - - - - -", received_ns=NOW)
    assert (message.ts_ns, message.hostname, message.app_name, message.message) == (NOW, "", "", "")
    assert (message.facility, message.severity) == (4, 2)


@pytest.mark.parametrize(("data", "ts", "host", "app", "procid", "line"), [
    (b"<34>Oct 11 22:14:15 mymachine su: 'su root' failed for lonvick on /dev/pts/8",
     (2026, 10, 11, 22, 14, 15), "mymachine", "su", "", "'su root' failed for lonvick on /dev/pts/8"),
    (b"<13>Dec  7 09:02:03 sshd[123]: Accepted publickey",
     (2026, 12, 7, 9, 2, 3), "", "sshd", "123", "Accepted publickey"),
    # A December message read on the 1st of January belongs to the year before.
    (b"<13>Dec 31 23:59:59 h cron[1]: ran", (2025, 12, 31, 23, 59, 59), "h", "cron", "1", "ran"),
    (b"<13>2024-01-02T03:04:05.25Z web1 app: iso", (2024, 1, 2, 3, 4, 5.25), "web1", "app", "", "iso"),
    (b"<13>no header at all", None, "", "", "", "no header at all"),
    (b"no PRI either", None, "", "", "", "no PRI either"),
])
def test_rfc3164(data, ts, host, app, procid, line):
    received = calendar.timegm((2026, 1, 1, 0, 0, 5)) * 10**9 if b"Dec 31" in data else NOW
    message = parse_syslog(data, received_ns=received)
    if ts is None:
        assert message.ts_ns == received
    else:
        whole = calendar.timegm((*ts[:5], int(ts[5]), 0, 0, 0))
        assert message.ts_ns == whole * 10**9 + int((ts[5] % 1) * 10**9)
    assert (message.hostname, message.app_name, message.procid, message.message) == (
        host, app, procid, line)
    assert message.rfc == 3164


def test_rfc3164_zone_offset():
    message = parse_syslog(b"<13>Dec  7 12:00:00 h a: x", received_ns=NOW, tz_offset_s=3600)
    assert message.ts_ns == calendar.timegm((2026, 12, 7, 11, 0, 0)) * 10**9


@pytest.mark.parametrize(("data", "message"), [
    (b"", "empty"), (b"<192>x", "bad PRI"), (b"<01>x", "bad PRI"), (b"<x>y", "bad PRI"),
    (b"<13>1 2003-13-11T22:14:15Z h a - - -", "bad TIMESTAMP at position 6"),
    (b"<13>1 2003-10-11T22:14:15 h a - - -", "without a zone"),
    (b"<13>1 - h a", "header too short"),
    (b"<13>1 - h a - - [id", "closing [id]"),
    (b'<13>1 - h a - - [id p="v]', "unterminated"),
    (b'<13>1 - h a - - [id p=v]', "bad SD-PARAM"),
    (b"<13>1 - h a - - x", "must be '-' or start with '['"),
    (b'<13>1 - h a - - [id p="v"]x', "expected a space"),
])
def test_errors_say_what_and_where(data, message):
    with pytest.raises(ValueError, match=message.replace("[", r"\[").replace("(", r"\(")):
        parse_syslog(data, received_ns=NOW)


def test_framing_octet_counted_and_newline_mixed_and_split_anywhere():
    stream = (b"<13>Dec  7 09:00:00 h a: first\n"
              b"25 <13>1 - h a - - - second\n"
              b"<13>Dec  7 09:00:01 h a: third\r\n"
              b"\n"
              b"8 <13>four")
    for cut in range(len(stream) + 1):
        framer = StreamFramer()
        frames, errors = framer.feed(stream[:cut])
        more, more_errors = framer.feed(stream[cut:])
        last, last_errors = framer.close()
        frames += more + last
        assert errors == more_errors == last_errors == []
        assert [f for _, f in frames] == [
            b"<13>Dec  7 09:00:00 h a: first", b"<13>1 - h a - - - second\n",
            b"<13>Dec  7 09:00:01 h a: third\r", b"<13>four"], cut
        assert [o for o, _ in frames] == [0, 31, 59, 92]


def test_framing_limits_drop_only_the_oversized_frame():
    framer = StreamFramer(max_frame=10)
    frames, errors = framer.feed(b"20 " + b"x" * 20 + b"<13>ok\n" + b"y" * 30)
    assert [f for _, f in frames] == [b"<13>ok"]
    assert [e.offset for e in errors] == [0, 30]
    assert "over the limit" in errors[0].message
    frames, errors = framer.feed(b"yyy\n<13>after\n")
    assert ([f for _, f in frames], errors) == ([b"<13>after"], [])


def test_a_frame_cut_short_by_the_close_is_an_error():
    framer = StreamFramer()
    assert framer.feed(b"<13>a: whole\n30 <13>half") == ([(0, b"<13>a: whole")], [])
    frames, (error,) = framer.close()
    assert frames == [] and error.offset == 13
    assert error.message == "connection closed 8 bytes into an octet-counted frame of 30"


def test_rfc3164_tag_without_colon_as_rsyslog_forwards_rfc5424_input():
    message = parse_syslog(b"<134>Dec  7 10:00:00 web1 nginx[42] GET /x 200", received_ns=NOW)
    assert (message.hostname, message.app_name, message.procid, message.message) == (
        "web1", "nginx", "42", "GET /x 200")
    plain = parse_syslog(b"<134>Dec  7 10:00:00 web1 just words", received_ns=NOW)
    assert (plain.hostname, plain.app_name, plain.message) == ("web1", "", "just words")


def test_structured_data_escapes_only_quote_backslash_and_bracket():
    message = parse_syslog(b'<13>1 - h a - - [x@1 p="a\\nb\\\\c\\"d\\]e"] m', received_ns=NOW)
    assert message.structured_data == (("x@1", "p", 'a\\nb\\c"d]e'),)
    assert message.message == "m"


@pytest.mark.parametrize("data", [
    b'<165>1 2003-10-11T22:14:15.003Z mymachine.example.com evntslog - ID47 '
    b'[exampleSDID@32473 iut="3" eventSource="Appli\\"cation\\]" eventID="1011"]'
    b'[examplePriority@32473 class="high"] \xef\xbb\xbfAn application event',
    b'<13>1 - h a - - [x@1 p="a\\nb\\\\c\\"d\\]e" q="[y@2 z=\\"w\\"]"] m',
    b"<34>1 - - - - - -",
    b"<34>1 2024-01-02T03:04:05+01:00 h app 12 id - text with  spaces ",
    b"<34>Oct 11 22:14:15 mymachine su: 'su root' failed",
    b"<13>Dec  7 09:02:03 sshd[123]: Accepted publickey",
    b"<134>Dec  7 10:00:00 web1 nginx[42] GET /x 200",
    b"<134>Dec  7 10:00:00 web1 just words",
    b"<134>Dec  7 10:00:00 2026 web1 app: with a year",
    b"<134>Dec  7 10:00:00.250 web1 app: with a fraction",
])
def test_fast_path_reads_as_the_careful_parser(data):
    # The one-regex path and the step-by-step parser must agree on every message.
    from vigil.logs.ingest.syslog import _parse_careful
    fast = parse_syslog(data, received_ns=NOW, tz_offset_s=3600)
    assert fast == _parse_careful(data, NOW, 3600)
