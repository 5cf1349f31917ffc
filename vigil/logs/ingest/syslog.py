"""Syslog messages (RFC 5424 and RFC 3164) and their framing on a stream (RFC 6587).

A message starting ``<PRI>1 `` is RFC 5424: timestamp, hostname, app-name, procid, msgid,
structured data and the message. Anything else after ``<PRI>`` is read as RFC 3164 (BSD
syslog): an optional ``Mmm dd hh:mm:ss`` (or RFC 3339) timestamp, an optional hostname and a
``tag[pid]:`` — the year and zone it lacks come from the receive time and ``tz_offset_s``.
A message without ``<PRI>`` is taken as ``user.notice``, as RFC 3164 §4.3.3 has a relay do.

The entry: the line is the message part; stream labels are the listener's static labels plus
``host`` and ``app``; the level comes from the severity; the fields are ``facility``,
``severity``, ``procid``, ``msgid`` and each structured-data parameter as ``<SD-ID>.<name>``.

On TCP, :class:`StreamFramer` splits the byte stream per frame, detecting each frame's
framing as RFC 6587 allows: a frame that starts with digits and a space is octet-counted
(``<length> <message>``, rsyslog's and syslog-ng's ``syslog()`` RFC 5424 transport),
anything else ends at a newline (the traditional framing).
"""

from __future__ import annotations

import calendar
import functools
import re
import time
from typing import NamedTuple

from vigil.logs.ingest.common import LineError, parse_rfc3339_ns, syslog_severity_level
from vigil.logs.model import LogEntry
from vigil.model.labels import Labels

__all__ = ["FACILITIES", "SEVERITIES", "StreamFramer", "SyslogMessage", "parse_syslog",
           "syslog_entry"]

FACILITIES = ("kern", "user", "mail", "daemon", "auth", "syslog", "lpr", "news", "uucp", "cron",
              "authpriv", "ftp", "ntp", "security", "console", "solaris-cron", "local0", "local1",
              "local2", "local3", "local4", "local5", "local6", "local7")
SEVERITIES = ("emerg", "alert", "crit", "err", "warning", "notice", "info", "debug")


class SyslogMessage(NamedTuple):
    """One parsed message (a named tuple: built once per line, it must be cheap)."""
    facility: int
    severity: int
    ts_ns: int
    hostname: str
    app_name: str
    procid: str
    msgid: str
    structured_data: tuple[tuple[str, str, str], ...]  # (SD-ID, param name, value)
    message: str
    rfc: int  # 5424 or 3164


_PRI = re.compile(rb"<(\d{1,3})>")
_MONTHS = {m: i for i, m in enumerate(
    ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"), 1)}
_BSD_TIME = re.compile(r"([A-Z][a-z]{2}) ([ \d]\d) (\d\d):(\d\d):(\d\d)(?:\.\d+)?(?: (\d{4}))?(?= |$)")
_ISO_TIME = re.compile(r"\d{4}-\d\d-\d\dT\S+(?= |$)")
# ``app:``, ``app[pid]:`` or ``app[pid]`` (rsyslog forwards RFC 5424 messages in the
# traditional format with a tag that has no colon).
_TAG = re.compile(r"([^\s\[\]:]{1,48})(?:\[([^\]\s]*)\]:?|:)(?: |$)")
_SD_NAME = re.compile(r'[^\s=\]"]{1,32}')
_SD_PARAM = re.compile(r'([^\s=\]"]{1,32})="((?:[^"\\]|\\.)*)"')
_SD_PARAM_START = re.compile(r'[^\s=\]"]{1,32}="')
_SD_ESCAPE = re.compile(r'\\(["\\\]])')  # RFC 5424 escapes only these three


# The usual messages in one match each (the fast path); a message either does not match is
# read by the step-by-step parser below, which also says what is wrong and where.
_FAST_5424 = re.compile(
    r"<(\d{1,3})>1 (\S+) (\S+) (\S+) (\S+) (\S+) "
    r'(-|(?:\[[^\s=\]"]{1,32}(?: [^\s=\]"]{1,32}="(?:[^"\\]|\\.)*")*\])+)(?: (.*))?\Z', re.S)
_FAST_3164 = re.compile(
    r"<(\d{1,3})>([A-Z][a-z]{2}) ([ \d]\d) (\d\d):(\d\d):(\d\d) (.*)\Z", re.S)


def _clean(data: bytes) -> bytes:
    return data.rstrip(b"\r\n\x00")


def parse_syslog(data: bytes, *, received_ns: int, tz_offset_s: int = 0) -> SyslogMessage:
    """One message without its framing. Raises ValueError saying what is wrong and where
    (the character position)."""
    data = _clean(data)
    text = data.decode("utf-8", "replace")
    m = _FAST_5424.match(text)
    if m is not None:
        fast = _fast_5424(m, received_ns)
        if fast is not None:
            return fast
    else:
        m = _FAST_3164.match(text)
        if m is not None:
            fast = _fast_3164(m, received_ns, tz_offset_s)
            if fast is not None:
                return fast
    return _parse_careful(data, received_ns, tz_offset_s)


def _pri(text: str) -> tuple[int, int] | None:
    if len(text) > 1 and text[0] == "0":
        return None
    pri = int(text)
    return divmod(pri, 8) if pri <= 191 else None


def _fast_5424(m: re.Match[str], received_ns: int) -> SyslogMessage | None:
    pri, stamp, host, app, procid, msgid, sd, message = m.groups()
    facility_severity = _pri(pri)
    if facility_severity is None:
        return None
    if stamp == "-":
        ts_ns = received_ns
    else:
        try:
            ts_ns = parse_rfc3339_ns(stamp, default_offset_s=None)
        except ValueError:
            return None
    params: tuple[tuple[str, str, str], ...] = ()
    if sd != "-":
        params = tuple(_sd_params(sd))
    if message is None:
        message = ""
    elif message.startswith("\ufeff"):
        message = message[1:]
    return SyslogMessage(*facility_severity, ts_ns, "" if host == "-" else host,
                         "" if app == "-" else app, "" if procid == "-" else procid,
                         "" if msgid == "-" else msgid, params, message, 5424)


# An SD-ID, or a PARAM-NAME and its value: on text _FAST_5424 has checked, one findall reads
# every element in order (values are consumed whole, so a '[' inside one is not an SD-ID).
_SD_TOKENS = re.compile(r'\[([^\s=\]"]{1,32})|([^\s=\]"]{1,32})="((?:[^"\\]|\\.)*)"')


def _sd_params(sd: str) -> list[tuple[str, str, str]]:
    params = []
    sd_id = ""
    for element, name, value in _SD_TOKENS.findall(sd):
        if element:
            sd_id = element
        else:
            params.append((sd_id, name, _SD_ESCAPE.sub(r"\1", value) if "\\" in value else value))
    return params


def _fast_3164(m: re.Match[str], received_ns: int, tz_offset_s: int) -> SyslogMessage | None:
    pri, month_name, day, hour, minute, second, rest = m.groups()
    facility_severity = _pri(pri)
    month = _MONTHS.get(month_name)
    if facility_severity is None or month is None or rest[:4].isdigit() or rest[:1] == " ":
        return None  # a year after the time, or more spaces: the careful parser
    ts_ns = _bsd_seconds(month, int(day), int(hour), int(minute), int(second), None,
                         received_ns, tz_offset_s) * 1_000_000_000
    hostname, app, procid, message = _host_and_tag(rest, True)
    return SyslogMessage(*facility_severity, ts_ns, hostname, app, procid, "", (), message, 3164)


def _parse_careful(data: bytes, received_ns: int, tz_offset_s: int) -> SyslogMessage:
    if not data.strip():
        raise ValueError("empty message")
    m = _PRI.match(data)
    if m is None:
        if data.startswith(b"<"):
            raise ValueError("bad PRI: expected <0> to <191> at the start")
        return _parse_3164(data.decode("utf-8", "replace"), 1, 5, received_ns, tz_offset_s)
    pri = int(m.group(1))
    if pri > 191 or (len(m.group(1)) > 1 and m.group(1).startswith(b"0")):
        raise ValueError(f"bad PRI <{m.group(1).decode()}>: expected <0> to <191>")
    facility, severity = divmod(pri, 8)
    rest = data[m.end():]
    if rest.startswith(b"1 "):
        return _parse_5424(rest[2:], facility, severity, received_ns, m.end() + 2)
    return _parse_3164(rest.decode("utf-8", "replace"), facility, severity, received_ns, tz_offset_s)


def _nil(token: str) -> str:
    return "" if token == "-" else token


def _parse_5424(rest: bytes, facility: int, severity: int, received_ns: int,
                base: int) -> SyslogMessage:
    header = rest.split(b" ", 5)
    if len(header) < 6:
        raise ValueError(f"RFC 5424 header too short at position {base}: expected TIMESTAMP "
                         "HOSTNAME APP-NAME PROCID MSGID STRUCTURED-DATA")
    stamp, host, app, procid, msgid = (t.decode("utf-8", "replace") for t in header[:5])
    if stamp == "-":
        ts_ns = received_ns
    else:
        try:
            ts_ns = parse_rfc3339_ns(stamp, default_offset_s=None)
        except ValueError as e:
            raise ValueError(f"bad TIMESTAMP at position {base}: {e}") from None
    text = header[5].decode("utf-8", "replace")
    position = base + len(b" ".join(header[:5])) + 1
    sd, message = _structured_data(text, position)
    if message.startswith("\ufeff"):
        message = message[1:]
    return SyslogMessage(facility, severity, ts_ns, _nil(host), _nil(app), _nil(procid),
                         _nil(msgid), sd, message, 5424)


def _structured_data(text: str, base: int) -> tuple[tuple[tuple[str, str, str], ...], str]:
    if text.startswith("-"):
        return (), text[2:] if text.startswith("- ") else text[1:]
    params: list[tuple[str, str, str]] = []
    i = 0
    while i < len(text) and text[i] == "[":
        m = _SD_NAME.match(text, i + 1)
        if m is None:
            raise ValueError(f"bad SD-ID at position {base + i + 1}")
        sd_id, i = m.group(0), m.end()
        while i < len(text) and text[i] == " ":
            m = _SD_PARAM.match(text, i + 1)
            if m is None:
                if _SD_PARAM_START.match(text, i + 1):
                    raise ValueError(f"unterminated PARAM-VALUE in [{sd_id}] at position "
                                     f"{base + i + 1}")
                raise ValueError(f"bad SD-PARAM in [{sd_id}] at position {base + i + 1}")
            value = m.group(2)
            params.append((sd_id, m.group(1),
                           _SD_ESCAPE.sub(r"\1", value) if "\\" in value else value))
            i = m.end()
        if i >= len(text) or text[i] != "]":
            raise ValueError(f"expected ']' closing [{sd_id}] at position {base + i}")
        i += 1
    if i == 0:
        raise ValueError(f"STRUCTURED-DATA must be '-' or start with '[' at position {base}")
    if i < len(text) and text[i] != " ":
        raise ValueError(f"expected a space after STRUCTURED-DATA at position {base + i}")
    return tuple(params), text[i + 1:]


def _bsd_time(m: re.Match[str], received_ns: int, tz_offset_s: int) -> int:
    month, day = _MONTHS.get(m.group(1)), int(m.group(2))
    if month is None:
        raise ValueError(f"bad month {m.group(1)!r}")
    year = int(m.group(6)) if m.group(6) else None
    return _bsd_seconds(month, day, int(m.group(3)), int(m.group(4)), int(m.group(5)), year,
                        received_ns, tz_offset_s) * 1_000_000_000


def _bsd_seconds(month: int, day: int, hour: int, minute: int, second: int, year: int | None,
                 received_ns: int, tz_offset_s: int) -> int:
    received_s = received_ns // 1_000_000_000
    guessed = year is None
    if year is None:
        year = _year(received_s + tz_offset_s)
    seconds = _timegm(year, month, day, hour, minute, second) - tz_offset_s
    if guessed and seconds > received_s + 86_400:
        # A December message read in January: RFC 3164 has no year, the sender meant the last.
        seconds = _timegm(year - 1, month, day, hour, minute, second) - tz_offset_s
    return seconds


@functools.lru_cache(maxsize=64)
def _year_of_day(day: int) -> int:
    return time.gmtime(day * 86_400).tm_year


def _year(seconds: int) -> int:
    return _year_of_day(seconds // 86_400)


@functools.lru_cache(maxsize=4096)
def _timegm(year: int, month: int, day: int, hour: int, minute: int, second: int) -> int:
    # Cached: a stream of messages mostly shares its seconds.
    return calendar.timegm((year, month, day, hour, minute, second, 0, 0, 0))


def _parse_3164(text: str, facility: int, severity: int, received_ns: int,
                tz_offset_s: int) -> SyslogMessage:
    ts_ns = received_ns
    rest = text
    m = _BSD_TIME.match(rest)
    if m is not None:
        ts_ns = _bsd_time(m, received_ns, tz_offset_s)
        rest = rest[m.end():].lstrip(" ")
    else:
        iso = _ISO_TIME.match(rest)
        if iso is not None:
            try:
                ts_ns = parse_rfc3339_ns(iso.group(0), default_offset_s=tz_offset_s)
                rest = rest[iso.end():].lstrip(" ")
            except ValueError:
                pass
    hostname, app, procid, rest = _host_and_tag(rest, m is not None or rest is not text)
    return SyslogMessage(facility, severity, ts_ns, hostname, app, procid, "", (), rest, 3164)


def _host_and_tag(rest: str, after_time: bool) -> tuple[str, str, str, str]:
    """(hostname, app, procid, message) of what follows an RFC 3164 timestamp (or of the
    whole message when it has none)."""
    hostname = app = procid = ""
    if after_time:
        # After a timestamp: HOSTNAME unless the next word is already the tag.
        word, _, after = rest.partition(" ")
        if word and not word.endswith(":") and _TAG.fullmatch(word + " ") is None:
            hostname, rest = word, after
    tag = _TAG.match(rest)
    if tag is not None:
        app, procid = tag.group(1), tag.group(2) or ""
        rest = rest[tag.end():]
    return hostname, app, procid, rest


_PRI_FIELDS = tuple(tuple((("facility", f), ("severity", s)) for s in SEVERITIES)
                    for f in FACILITIES)


def syslog_entry(message: SyslogMessage, labels: Labels) -> LogEntry:
    stream = _stream(labels, message.hostname, message.app_name)
    fields = _PRI_FIELDS[message.facility][message.severity]
    if message.procid or message.msgid or message.structured_data:
        extra = list(fields)
        if message.procid:
            extra.append(("procid", message.procid))
        if message.msgid:
            extra.append(("msgid", message.msgid))
        extra.extend((f"{sd_id}.{name}", value) for sd_id, name, value in message.structured_data)
        fields = tuple(extra)
    return LogEntry(message.ts_ns, stream, message.message,
                    syslog_severity_level(message.severity), fields)


# (id of the listener's labels, host, app) → (those labels, the stream). By identity: hashing
# the labels (a tuple of tuples, not cached by Python) for every message cost more than the
# rest of making the entry.
_STREAMS: dict[tuple[int, str, str], tuple[Labels, Labels]] = {}


def _stream(labels: Labels, hostname: str, app_name: str) -> Labels:
    key = (id(labels), hostname, app_name)
    known = _STREAMS.get(key)
    if known is not None and known[0] is labels:
        return known[1]
    stream = labels.to_dict()
    if hostname:
        stream.setdefault("host", hostname)
    if app_name:
        stream.setdefault("app", app_name)
    if len(_STREAMS) >= 4096:
        _STREAMS.clear()
    _STREAMS[key] = (labels, Labels(stream))
    return _STREAMS[key][1]


_OCTETS = re.compile(rb"([1-9]\d{0,8}) ")


class StreamFramer:
    """Splits one TCP connection's bytes into messages. ``feed`` returns the complete
    frames seen so far as ``(byte offset in the connection, frame)`` and the framing errors;
    a partial frame waits for more bytes. Not thread-safe: one per connection."""

    def __init__(self, max_frame: int = 1 << 20) -> None:
        self.max_frame = max_frame
        self._buffer = bytearray()
        self._offset = 0  # connection offset of _buffer[0]
        self._skip = 0  # bytes still to discard of an oversized octet-counted frame
        self._discarding = False  # discarding an oversized frame up to its newline

    def feed(self, data: bytes) -> tuple[list[tuple[int, bytes]], list[LineError]]:
        self._buffer += data
        frames: list[tuple[int, bytes]] = []
        errors: list[LineError] = []
        buffer = self._buffer
        pos, size = 0, len(buffer)  # frames are cut at pos; the buffer is trimmed once
        while pos < size:
            if self._discarding:
                end = buffer.find(b"\n", pos)
                pos = size if end < 0 else end + 1
                self._discarding = end < 0
                continue
            if self._skip:
                dropped = min(self._skip, size - pos)
                pos += dropped
                self._skip -= dropped
                continue
            first = buffer[pos]
            if 0x31 <= first <= 0x39:  # a digit 1-9: maybe an octet count
                m = _OCTETS.match(buffer, pos)
                if m is not None:
                    length = int(m.group(1))
                    if length > self.max_frame:
                        errors.append(LineError(0, self._offset + pos, "", "octet-counted frame "
                                                f"of {length} bytes is over the limit of "
                                                f"{self.max_frame}"))
                        pos = m.end()
                        self._skip = length
                        continue
                    if size < m.end() + length:
                        break
                    frames.append((self._offset + pos, bytes(buffer[m.end():m.end() + length])))
                    pos = m.end() + length
                    continue
            if 0x30 <= first <= 0x39 and size - pos < 10 and buffer.find(b" ", pos) < 0:
                break  # maybe the start of an octet count: wait for its space
            end = buffer.find(b"\n", pos)
            if end < 0:
                if size - pos > self.max_frame:
                    errors.append(LineError(0, self._offset + pos, "", "message without a "
                                            f"newline is over the limit of {self.max_frame} "
                                            "bytes"))
                    pos = size
                    self._discarding = True
                break
            frame = bytes(buffer[pos:end])
            if frame.strip(b"\r\x00 "):
                frames.append((self._offset + pos, frame))
            pos = end + 1
        self._consume(pos)
        return frames, errors

    def close(self) -> tuple[list[tuple[int, bytes]], list[LineError]]:
        """The last frame when the peer closes without a final newline; an octet-counted
        frame cut short is an error."""
        rest = bytes(self._buffer) if not (self._skip or self._discarding) else b""
        offset = self._offset
        self._consume(len(self._buffer))
        m = _OCTETS.match(rest)
        if m is not None:
            return [], [LineError(0, offset, "", f"connection closed {len(rest) - m.end()} bytes "
                                  f"into an octet-counted frame of {m.group(1).decode()}")]
        return ([(offset, rest)] if rest.strip(b"\r\n\x00 ") else []), []

    def _consume(self, n: int) -> None:
        del self._buffer[:n]
        self._offset += n
