import pytest

from vigil.logs.ingest.common import (
    LineError,
    label_name,
    normalise_level,
    parse_rfc3339_ns,
    parse_time_value,
    syslog_severity_level,
)


@pytest.mark.parametrize(("text", "level"), [
    ("WARNING", "warn"), ("warn", "warn"), ("Err", "error"), ("E", "error"), ("fatal", "critical"),
    ("emerg", "critical"), ("notice", "info"), ("Information", "info"), ("TRACE", "debug"),
    ("chatty", ""), ("", ""),
])
def test_levels_are_normalised(text, level):
    assert normalise_level(text) == level


def test_syslog_severities_map_to_levels():
    assert [syslog_severity_level(s) for s in range(8)] == [
        "critical", "critical", "critical", "error", "warn", "info", "info", "debug"]


@pytest.mark.parametrize(("text", "ns"), [
    ("1970-01-01T00:00:00Z", 0),
    ("2024-01-02T03:04:05.123456789Z", 1704164645123456789),
    ("2024-01-02T04:04:05.5+01:00", 1704164645500000000),
    ("2024-01-02 03:04:05,25Z", 1704164645250000000),
    ("2003-10-11T22:14:15.003-07:00", 1065935655003000000),
])
def test_rfc3339_keeps_nanoseconds_and_zones(text, ns):
    assert parse_rfc3339_ns(text) == ns


def test_rfc3339_errors():
    with pytest.raises(ValueError, match="not an RFC 3339"):
        parse_rfc3339_ns("yesterday")
    with pytest.raises(ValueError, match="out of range"):
        parse_rfc3339_ns("2024-13-01T00:00:00Z")
    with pytest.raises(ValueError, match="without a zone"):
        parse_rfc3339_ns("2024-01-01T00:00:00", default_offset_s=None)
    assert parse_rfc3339_ns("2024-01-01T01:00:00", default_offset_s=3600) == 1704067200 * 10**9


@pytest.mark.parametrize(("value", "ns"), [
    (1704164645, 1704164645 * 10**9),  # seconds
    (1704164645123, 1704164645123 * 10**6),  # milliseconds
    (1704164645123456, 1704164645123456 * 10**3),  # microseconds
    (1704164645123456789, 1704164645123456789),  # nanoseconds
    (1704164645.25, 1704164645250000000),
    ("1704164645123", 1704164645123 * 10**6),
    ("2024-01-02T03:04:05Z", 1704164645 * 10**9),
])
def test_time_values_by_magnitude(value, ns):
    assert parse_time_value(value) == ns


@pytest.mark.parametrize("value", [True, None, [], "soon", float("nan")])
def test_bad_time_values(value):
    with pytest.raises(ValueError):
        parse_time_value(value)


def test_label_names_and_error_text():
    assert label_name("service.name") == "service_name"
    assert label_name("3d") == "_3d"
    assert str(LineError(4, 120, "time", "bad")) == "line 4, byte 120, time: bad"
    assert str(LineError(0, -1, "streams[1]", "bad")) == "streams[1]: bad"


def test_rfc3339_the_shortcut_for_seen_seconds_agrees_with_the_full_parse():
    # The second time a second is seen, its fraction is read without the regex.
    for text in ("2031-02-03T04:05:06.5Z", "2031-02-03T04:05:06.123456789Z",
                 "2031-02-03T04:05:06.000001Z"):
        first, again = parse_rfc3339_ns(text), parse_rfc3339_ns(text)
        assert first == again == 1927857906 * 10**9 + int(text[20:-1].ljust(9, "0"))
    with pytest.raises(ValueError, match="not an RFC 3339"):
        parse_rfc3339_ns("2031-02-03T04:05:06.x1Z")
    assert parse_rfc3339_ns("2031-02-03T04:05:06.1234567891Z") == 1927857906123456789


def test_flatten_names_nested_keys_with_dots_in_document_order():
    from vigil.logs.ingest.common import flatten
    document = {"a": 1, "log": {"level": "x", "file": {"path": "/p", "deep": {"er": 2}}},
                "b": [1], "c": {}}
    expected = {"a": 1, "log.level": "x", "log.file.path": "/p", "log.file.deep.er": 2, "b": [1]}
    for _ in range(2):  # the second time from the names made the first
        flat = flatten(document)
        assert flat == expected and list(flat) == list(expected)
    assert flatten({"k": 1}, "pre.") == {"pre.k": 1}
