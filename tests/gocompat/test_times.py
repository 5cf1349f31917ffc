"""RFC 3339 times, against Go's src/time/time_test.go (jsonTests, rfc3339Formats) and the
layouts in src/time/format.go (RFC3339, RFC3339Nano) and go-openapi strfmt (RFC3339Millis)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from vigil.gocompat.times import (
    format_go_time,
    format_rfc3339,
    format_rfc3339_millis,
    format_rfc3339_nano,
    parse_rfc3339,
)

UTC = timezone.utc


@pytest.mark.parametrize(("dt", "nano", "millis", "seconds"), [
    # time_test.go jsonTests: Date(9999, 4, 12, 23, 20, 50, 520*1e6, UTC)
    (datetime(9999, 4, 12, 23, 20, 50, 520_000, UTC),
     "9999-04-12T23:20:50.52Z", "9999-04-12T23:20:50.520Z", "9999-04-12T23:20:50Z"),
    # rfc3339Formats: Date(2008, 9, 17, 20, 4, 26, 0, UTC)
    (datetime(2008, 9, 17, 20, 4, 26, tzinfo=UTC),
     "2008-09-17T20:04:26Z", "2008-09-17T20:04:26.000Z", "2008-09-17T20:04:26Z"),
    (datetime(2024, 1, 2, 3, 4, 5, 123_456, UTC),
     "2024-01-02T03:04:05.123456Z", "2024-01-02T03:04:05.123Z", "2024-01-02T03:04:05Z"),
    # another zone is written in UTC; a naive datetime is UTC
    (datetime(1994, 9, 17, 20, 4, 26, tzinfo=timezone(timedelta(hours=-5))),
     "1994-09-18T01:04:26Z", "1994-09-18T01:04:26.000Z", "1994-09-18T01:04:26Z"),
    (datetime(2024, 1, 2, 3, 4, 5, 900_000),
     "2024-01-02T03:04:05.9Z", "2024-01-02T03:04:05.900Z", "2024-01-02T03:04:05Z"),
    # Go's zero time.Time
    (None, "0001-01-01T00:00:00Z", "0001-01-01T00:00:00.000Z", "0001-01-01T00:00:00Z"),
])
def test_formats(dt: datetime | None, nano: str, millis: str, seconds: str) -> None:
    assert format_rfc3339_nano(dt) == nano
    assert format_rfc3339_millis(dt) == millis
    assert format_rfc3339(dt) == seconds


@pytest.mark.parametrize(("text", "expected"), [
    # time_test.go rfc3339Formats, read back
    ("2008-09-17T20:04:26Z", datetime(2008, 9, 17, 20, 4, 26, tzinfo=UTC)),
    ("1994-09-17T20:04:26-05:00", datetime(1994, 9, 18, 1, 4, 26, tzinfo=UTC)),
    ("2000-12-26T01:15:06+04:20", datetime(2000, 12, 25, 20, 55, 6, tzinfo=UTC)),
    # a fraction of any length up to nanoseconds (cut to microseconds)
    ("2009-02-04T21:00:57.0123456-08:00", datetime(2009, 2, 5, 5, 0, 57, 12_345, UTC)),
    ("2024-01-02T03:04:05.5Z", datetime(2024, 1, 2, 3, 4, 5, 500_000, UTC)),
])
def test_parse(text: str, expected: datetime) -> None:
    assert parse_rfc3339(text) == expected


@pytest.mark.parametrize("text", [
    "", "2024-01-02", "2024-01-02T03:04:05", "2024-01-02 03:04:05Z", "2024-01-02t03:04:05Z",
    "2024-01-02T03:04:05z", "2024-13-02T03:04:05Z", "2024-02-30T03:04:05Z",
    "2024-01-02T03:04:05+24:00", "2024-01-02T03:04:05.1234567890Z",
])
def test_parse_rejects(text: str) -> None:
    with pytest.raises(ValueError, match="parsing time"):
        parse_rfc3339(text)


@pytest.mark.parametrize(("dt", "text"), [
    # time.Time.String's layout "2006-01-02 15:04:05.999999999 -0700 MST" (src/time/format.go)
    (datetime(2026, 11, 22, 8, 0, tzinfo=UTC), "2026-11-22 08:00:00 +0000 UTC"),
    (datetime(2009, 11, 10, 23, 0, 0, 250_000, UTC), "2009-11-10 23:00:00.25 +0000 UTC"),
    (None, "0001-01-01 00:00:00 +0000 UTC"),
])
def test_go_time_string(dt: datetime | None, text: str) -> None:
    assert format_go_time(dt) == text
