import pytest

from vigil.gocompat.durations import parse_seconds_or_duration_ns as parse_duration_ns
from vigil.web.params import MAX_TIME_MS, MIN_TIME_MS, parse_limit, parse_time_ms


@pytest.mark.parametrize("text, ms", [
    ("1700000000", 1_700_000_000_000), ("1700000000.123", 1_700_000_000_123),
    ("1700000000.1236", 1_700_000_000_124), ("1.5e3", 1_500_000), ("-1.5", -1500),
    ("2023-11-14T22:13:20Z", 1_700_000_000_000), ("2023-11-14T22:13:20.5Z", 1_700_000_000_500),
    ("2023-11-15T00:13:20+02:00", 1_700_000_000_000),
])
def test_parse_time(text, ms):
    assert parse_time_ms(text) == ms


@pytest.mark.parametrize("text", ["", "yesterday", "2023-11-14", " 1", "1_000", "NaN"])
def test_parse_time_rejects(text):
    with pytest.raises(ValueError) as e:
        parse_time_ms(text)
    assert str(e.value) == f'cannot parse "{text}" to a valid timestamp'


@pytest.mark.parametrize("text, ns", [
    ("15", 15 * 10**9), ("0.5", 5 * 10**8), ("5m", 300 * 10**9), ("1h30m", 5400 * 10**9),
    ("250ms", 250 * 10**6), ("0", 0), ("-10", -10 * 10**9),
])
def test_parse_duration(text, ns):
    assert parse_duration_ns(text) == ns


def test_parse_duration_errors():
    with pytest.raises(ValueError, match='^cannot parse "5x" to a valid duration$'):
        parse_duration_ns("5x")
    with pytest.raises(ValueError, match="overflows int64"):
        parse_duration_ns("1e300")


def test_open_range_defaults_match_prometheus():
    assert MIN_TIME_MS == -9223309901257974000
    assert MAX_TIME_MS == 9223309901257974999


def test_parse_limit():
    assert parse_limit("") == 0
    assert parse_limit("5") == 5
    with pytest.raises(ValueError, match="limit must be non-negative"):
        parse_limit("-1")
    with pytest.raises(ValueError, match='parsing "x": invalid syntax'):
        parse_limit("x")
