import math
from datetime import datetime, timedelta, timezone

import pytest

from vigil.gocompat.durations import format_duration_ms
from vigil.gocompat.floats import format_float_e, format_float_f, format_sample_value
from vigil.gocompat.times import format_rfc3339_nano as rfc3339
from vigil.web.formatting import Raw, dumps, format_timestamp, json_string

# The web API's spellings of values, times and durations (vigil.gocompat, tested there against
# Go's own tables); here the cases the API's clients see most.


# Expected strings are what Go's strconv.FormatFloat / Prometheus's jsonutil produce.
@pytest.mark.parametrize("value, expected", [
    (0.0, "0"), (-0.0, "-0"), (1.0, "1"), (100.0, "100"), (0.1, "0.1"), (1.5, "1.5"),
    (123456789.125, "123456789.125"), (1e20, "100000000000000000000"), (1e-6, "0.000001"),
    (0.30000000000000004, "0.30000000000000004"), (1e21, "1e+21"), (1.5e300, "1.5e+300"),
    (1e-7, "1e-07"), (-2.5e-9, "-2.5e-09"), (math.inf, "+Inf"), (-math.inf, "-Inf"),
    (math.nan, "NaN"), (1700000000.5, "1700000000.5"),
])
def test_sample_value_matches_prometheus(value, expected):
    assert format_sample_value(value) == expected


@pytest.mark.parametrize("value, expected", [
    (1e21, "1000000000000000000000"), (1e-7, "0.0000001"), (12.0, "12"), (-0.25, "-0.25"),
])
def test_format_float_f_never_uses_exponent(value, expected):
    assert format_float_f(value) == expected


@pytest.mark.parametrize("value, expected", [
    (1.0, "1e+00"), (0.0, "0e+00"), (42.0, "4.2e+01"), (0.000123, "1.23e-04"),
    (1e100, "1e+100"), (math.inf, "+Inf"), (math.nan, "NaN"),
])
def test_format_float_e_as_go(value, expected):
    assert format_float_e(value) == expected


@pytest.mark.parametrize("ts_ms, expected", [
    (0, "0"), (1500, "1.500"), (1_700_000_000_001, "1700000000.001"),
    (1_700_000_000_120, "1700000000.120"), (-1500, "-1.500"), (1_700_000_000_000, "1700000000"),
])
def test_timestamps_written_like_prometheus(ts_ms, expected):
    assert format_timestamp(ts_ms) == expected


def test_rfc3339_trims_fraction_and_uses_utc():
    t = datetime(2024, 5, 1, 12, 30, 0, 250_000, tzinfo=timezone.utc)
    assert rfc3339(t) == "2024-05-01T12:30:00.25Z"
    assert rfc3339(t.replace(microsecond=0)) == "2024-05-01T12:30:00Z"
    plus2 = timezone(timedelta(hours=2))
    assert rfc3339(datetime(2024, 5, 1, 14, 30, tzinfo=plus2)) == "2024-05-01T12:30:00Z"
    assert rfc3339(None) == "0001-01-01T00:00:00Z"


@pytest.mark.parametrize("seconds, expected", [
    (0, "0s"), (15, "15s"), (90, "1m30s"), (0.25, "250ms"), (3600, "1h"), (86400 * 90, "90d"),
    (86400 * 14, "2w"), (86400 * 365, "1y"), (86400 * 8, "8d"),
])
def test_duration_as_model_duration(seconds, expected):
    assert format_duration_ms(round(seconds * 1000)) == expected


def test_dumps_is_compact_go_json():
    out = dumps({"a": [1, 2.5, 1e-7, None, True], "s": "<b>&\"\n", "r": Raw('{"x":1}')})
    assert out == '{"a":[1,2.5,1e-7,null,true],"s":"\\u003cb\\u003e\\u0026\\"\\n","r":{"x":1}}'


def test_dumps_rejects_non_finite():
    with pytest.raises(ValueError):
        dumps(math.nan)


def test_invalid_utf8_becomes_replacement_character():
    # Go's encoding/json writes each byte that is not UTF-8 as U+FFFD (a Vigil string holds
    # such a byte as a surrogate code point, which could not even be encoded).
    assert json_string("a\udcc5z") == '"a\ufffdz"'
    assert dumps({"\udcff": "x"}).encode() == '{"\ufffd":"x"}'.encode()
