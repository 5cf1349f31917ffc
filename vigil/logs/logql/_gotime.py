"""Go times for the template functions: ``time.Time`` in nanoseconds, Go's reference-layout
formatting (``date "2006-01-02" now``) and parsing (``toDate``), as documented by Go's ``time``
package. Times are shown in UTC unless a zone was parsed with them, as Loki runs in UTC."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

__all__ = ["GoTime", "format_layout", "parse_layout"]

# Layout elements, longest first so "January" wins over "Jan" and "2006" over "2".
_ELEMENTS = ("January", "Monday", "Z07:00:00", "-07:00:00", "Z07:00", "-07:00", "Z0700",
             "-0700", "2006", "_2", "__2", "002", "Jan", "Mon", "MST", "Z07", "-07", "01",
             "02", "03", "04", "05", "06", "15", "PM", "pm", "1", "2", "3", "4", "5")
_FRACTION = re.compile(r"[.,](0+|9+)")


@dataclass(frozen=True)
class GoTime:
    ns: int  # unix nanoseconds
    offset_s: int = 0  # the zone's offset, for display

    def dt(self) -> datetime:
        zone = timezone(timedelta(seconds=self.offset_s))
        return datetime.fromtimestamp(self.ns // 1_000_000_000, zone)

    def __str__(self) -> str:  # time.Time.String
        text = format_layout(self, "2006-01-02 15:04:05.999999999 -0700")
        return text + (" UTC" if self.offset_s == 0 else "")


def _tokens(layout: str) -> list[str]:
    out: list[str] = []
    pos = 0
    while pos < len(layout):
        m = _FRACTION.match(layout, pos)
        if m and not layout[m.end():m.end() + 1].isdigit():
            out.append(m.group(0))
            pos = m.end()
            continue
        for element in _ELEMENTS:
            if layout.startswith(element, pos):
                out.append(element)
                pos += len(element)
                break
        else:
            out.append(layout[pos])
            pos += 1
    return out


def _offset(seconds: int, colon: bool, with_seconds: bool = False) -> str:
    sign = "-" if seconds < 0 else "+"
    h, rem = divmod(abs(seconds), 3600)
    m, s = divmod(rem, 60)
    sep = ":" if colon else ""
    return f"{sign}{h:02d}{sep}{m:02d}" + (f"{sep}{s:02d}" if with_seconds else "")


def format_layout(t: GoTime, layout: str) -> str:
    d = t.dt()
    frac_ns = t.ns % 1_000_000_000
    out = []
    for tok in _tokens(layout):
        if tok[0] in ".," and len(tok) > 1 and tok[1] in "09":
            digits = f"{frac_ns:09d}"[:len(tok) - 1]
            if tok[1] == "9":
                digits = digits.rstrip("0")
                out.append(tok[0] + digits if digits else "")
            else:
                out.append(tok[0] + digits)
            continue
        hour12 = d.hour % 12 or 12
        value = {
            "2006": f"{d.year:04d}", "06": f"{d.year % 100:02d}", "January": d.strftime("%B"),
            "Jan": d.strftime("%b"), "01": f"{d.month:02d}", "1": str(d.month),
            "Monday": d.strftime("%A"), "Mon": d.strftime("%a"), "02": f"{d.day:02d}",
            "2": str(d.day), "_2": f"{d.day:2d}", "002": f"{d.timetuple().tm_yday:03d}",
            "15": f"{d.hour:02d}", "03": f"{hour12:02d}", "3": str(hour12),
            "04": f"{d.minute:02d}", "4": str(d.minute), "05": f"{d.second:02d}",
            "5": str(d.second), "PM": "PM" if d.hour >= 12 else "AM",
            "pm": "pm" if d.hour >= 12 else "am", "MST": "UTC" if t.offset_s == 0 else
            _offset(t.offset_s, False)[:3],
            "-0700": _offset(t.offset_s, False), "-07:00": _offset(t.offset_s, True),
            "-07": _offset(t.offset_s, False)[:3],
            "-07:00:00": _offset(t.offset_s, True, True),
        }.get(tok)
        if value is None and tok.startswith("Z0"):
            value = "Z" if t.offset_s == 0 else {
                "Z07:00": _offset(t.offset_s, True), "Z0700": _offset(t.offset_s, False),
                "Z07": _offset(t.offset_s, False)[:3],
                "Z07:00:00": _offset(t.offset_s, True, True)}[tok]
        out.append(tok if value is None else value)
    return "".join(out)


_PARSE = {"2006": r"(?P<year>\d{4})", "06": r"(?P<yy>\d{2})", "01": r"(?P<month>\d{2})",
          "1": r"(?P<month>\d{1,2})", "Jan": r"(?P<mon>[A-Za-z]{3})",
          "January": r"(?P<monthname>[A-Za-z]+)", "02": r"(?P<day>\d{2})",
          "2": r"(?P<day>\d{1,2})", "_2": r" ?(?P<day>\d{1,2})", "15": r"(?P<hour>\d{2})",
          "03": r"(?P<h12>\d{2})", "3": r"(?P<h12>\d{1,2})", "04": r"(?P<minute>\d{2})",
          "4": r"(?P<minute>\d{1,2})", "05": r"(?P<second>\d{2})", "5": r"(?P<second>\d{1,2})",
          "PM": r"(?P<ampm>AM|PM)", "pm": r"(?P<ampm>am|pm)", "Mon": r"[A-Za-z]{3}",
          "Monday": r"[A-Za-z]+", "MST": r"[A-Z]{3,4}",
          "-0700": r"(?P<tz>[+-]\d{4})", "-07:00": r"(?P<tz>[+-]\d{2}:\d{2})",
          "Z0700": r"(?P<tz>Z|[+-]\d{4})", "Z07:00": r"(?P<tz>Z|[+-]\d{2}:\d{2})"}


def parse_layout(layout: str, text: str, zone: str = "UTC") -> GoTime:
    """``time.ParseInLocation``; ValueError when ``text`` does not fit ``layout``."""
    parts = []
    for tok in _tokens(layout):
        if tok[0] in ".," and len(tok) > 1 and tok[1] in "09":
            parts.append(r"(?:[.,](?P<frac>\d+))?" if tok[1] == "9" else
                         rf"[.,](?P<frac>\d{{{len(tok) - 1}}})")
        else:
            parts.append(_PARSE.get(tok, re.escape(tok)))
    m = re.fullmatch("".join(parts), text)
    if m is None:
        raise ValueError(f'parsing time "{text}" as "{layout}": cannot parse')
    g = {k: v for k, v in m.groupdict().items() if v is not None}
    year = int(g["year"]) if "year" in g else (2000 + int(g["yy"]) if "yy" in g else 0)
    month = int(g.get("month", 1))
    if "mon" in g or "monthname" in g:
        name = (g.get("mon") or g["monthname"])[:3].title()
        month = datetime.strptime(name, "%b").month
    hour = int(g.get("hour", 0))
    if "h12" in g:
        hour = int(g["h12"]) % 12 + (12 if g.get("ampm", "").lower() == "pm" else 0)
    tz = ZoneInfo(zone)
    offset_zone = None
    if g.get("tz") and g["tz"] != "Z":
        sign = -1 if g["tz"][0] == "-" else 1
        digits = g["tz"][1:].replace(":", "")
        offset_zone = timezone(sign * timedelta(hours=int(digits[:2]), minutes=int(digits[2:])))
    elif g.get("tz") == "Z":
        offset_zone = timezone.utc
    d = datetime(max(year, 1), month, int(g.get("day", 1)), hour, int(g.get("minute", 0)),
                 int(g.get("second", 0)), tzinfo=offset_zone or tz)
    frac = (g.get("frac", "") + "000000000")[:9]
    ns = int(d.timestamp()) * 1_000_000_000 + int(frac)
    offset = d.utcoffset()
    return GoTime(ns, int(offset.total_seconds()) if offset else 0)
