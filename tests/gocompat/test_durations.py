"""Durations, against prometheus/common model/time_test.go (TestParseDuration,
TestParseBadDuration) and Prometheus's web/api/v1 parseDuration."""

from __future__ import annotations

import pytest

from vigil.gocompat.durations import (
    format_duration_ms,
    parse_duration_ms,
    parse_seconds_or_duration_ns,
)

_S, _M, _H, _D = 1000, 60_000, 3_600_000, 86_400_000


@pytest.mark.parametrize(("text", "ms", "printed"), [
    # model/time_test.go TestParseDuration: input, value, String() ("" = the input)
    ("0", 0, "0s"),
    ("0w", 0, "0s"),
    ("0s", 0, ""),
    ("324ms", 324, ""),
    ("3s", 3 * _S, ""),
    ("5m", 5 * _M, ""),
    ("1h", _H, ""),
    ("4d", 4 * _D, ""),
    ("4d1h", 4 * _D + _H, ""),
    ("14d", 14 * _D, "2w"),
    ("3w", 21 * _D, ""),
    ("3w2d1h", 23 * _D + _H, "23d1h"),
    ("10y", 3650 * _D, ""),
    ("289y", 289 * 365 * _D, ""),  # TestDuration_UnmarshalJSON
    # the case Vigil's copies disagreed on: days that are not whole weeks stay days
    ("90d", 90 * _D, ""),
    ("1y2w3d4h5m6s7ms", 365 * _D + 17 * _D + 4 * _H + 5 * _M + 6 * _S + 7, "382d4h5m6s7ms"),
])
def test_parse_and_format_match_prometheus(text: str, ms: int, printed: str) -> None:
    assert parse_duration_ms(text) == ms
    assert format_duration_ms(ms) == (printed or text)


@pytest.mark.parametrize(("text", "message"), [
    # model/time_test.go TestParseBadDuration, with model.ParseDuration's messages
    ("1", 'not a valid duration string: "1"'),
    ("1y1m1d", 'not a valid duration string: "1y1m1d"'),
    ("-1w", 'not a valid duration string: "-1w"'),
    ("1.5d", 'unknown unit "." in duration "1.5d"'),
    ("d", 'not a valid duration string: "d"'),
    ("294y", "duration out of range"),
    ("200y10400w", "duration out of range"),
    ("107675d", "duration out of range"),
    ("2584200h", "duration out of range"),
    ("", "empty duration string"),
    # more from ParseDuration's branches
    ("5m1h", 'not a valid duration string: "5m1h"'),
    ("1h1h", 'not a valid duration string: "1h1h"'),
    ("5x", 'unknown unit "x" in duration "5x"'),
    ("1 h", 'unknown unit " h" in duration "1 h"'),
])
def test_parse_rejects_what_prometheus_rejects(text: str, message: str) -> None:
    with pytest.raises(ValueError) as info:
        parse_duration_ms(text)
    assert str(info.value) == message


def test_format_negative_and_mixed() -> None:
    # model.Duration.String: a leading "-" for negatives; "exact" only for y and w
    assert format_duration_ms(-90 * _S) == "-1m30s"
    assert format_duration_ms(365 * _D + _D) == "366d"
    assert format_duration_ms(2 * 365 * _D) == "2y"
    assert format_duration_ms(1) == "1ms"


@pytest.mark.parametrize(("text", "ns"), [
    # web/api/v1 parseDuration: strconv.ParseFloat seconds first, then model.ParseDuration
    ("15", 15 * 10**9),
    ("0.5", 5 * 10**8),
    ("1e3", 10**12),
    ("-2", -2 * 10**9),
    ("5m", 300 * 10**9),
    ("0", 0),
])
def test_api_duration_parameter(text: str, ns: int) -> None:
    assert parse_seconds_or_duration_ns(text) == ns


@pytest.mark.parametrize(("text", "message"), [
    ("1e10", 'cannot parse "1e10" to a valid duration. It overflows int64'),
    ("Inf", 'cannot parse "Inf" to a valid duration. It overflows int64'),
    # ParseFloat fails with a range error, so the text is tried as a duration and fails
    ("1e400", 'cannot parse "1e400" to a valid duration'),
    ("5m1h", 'cannot parse "5m1h" to a valid duration'),
    ("", 'cannot parse "" to a valid duration'),
])
def test_api_duration_parameter_errors(text: str, message: str) -> None:
    with pytest.raises(ValueError) as info:
        parse_seconds_or_duration_ns(text)
    assert str(info.value) == message
