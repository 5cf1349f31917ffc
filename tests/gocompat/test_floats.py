"""Floats, against Go's src/strconv/ftoa_test.go (ftoatests, 64-bit rows with e/f/g) and
Prometheus's sample value spelling (util/jsonutil MarshalFloat)."""

from __future__ import annotations

import math

import pytest

from vigil.gocompat.floats import (
    format_float,
    format_float_e,
    format_float_f,
    format_float_v,
    format_json_float,
    format_sample_value,
    parse_float,
)

_BELOW_1E23 = 99999999999999974834176.0
_ABOVE_1E23 = 100000000000000008388608.0


@pytest.mark.parametrize(("f", "fmt", "prec", "text"), [
    # src/strconv/ftoa_test.go ftoatests
    (1, "e", 5, "1.00000e+00"),
    (1, "f", 5, "1.00000"),
    (1, "g", 5, "1"),
    (1, "g", -1, "1"),
    (20, "g", -1, "20"),
    (1234567.8, "g", -1, "1.2345678e+06"),
    (200000, "g", -1, "200000"),
    (2000000, "g", -1, "2e+06"),
    (400, "g", 2, "4e+02"),
    (40, "g", 2, "40"),
    (4, "g", 2, "4"),
    (.4, "g", 2, "0.4"),
    (.04, "g", 2, "0.04"),
    (.004, "g", 2, "0.004"),
    (.0004, "g", 2, "0.0004"),
    (.00004, "g", 2, "4e-05"),
    (.000004, "g", 2, "4e-06"),
    (0, "e", 5, "0.00000e+00"),
    (0, "f", 5, "0.00000"),
    (0, "g", 5, "0"),
    (0, "g", -1, "0"),
    (-1, "e", 5, "-1.00000e+00"),
    (-1, "f", 5, "-1.00000"),
    (-1, "g", 5, "-1"),
    (-1, "g", -1, "-1"),
    (12, "e", 5, "1.20000e+01"),
    (12, "f", 5, "12.00000"),
    (12, "g", 5, "12"),
    (12, "g", -1, "12"),
    (123456700, "e", 5, "1.23457e+08"),
    (123456700, "f", 5, "123456700.00000"),
    (123456700, "g", 5, "1.2346e+08"),
    (123456700, "g", -1, "1.234567e+08"),
    (1.2345e6, "e", 5, "1.23450e+06"),
    (1.2345e6, "f", 5, "1234500.00000"),
    (1.2345e6, "g", 5, "1.2345e+06"),
    (1e23, "e", 17, "9.99999999999999916e+22"),
    (1e23, "f", 17, "99999999999999991611392.00000000000000000"),
    (1e23, "g", 17, "9.9999999999999992e+22"),
    (1e23, "e", -1, "1e+23"),
    (1e23, "f", -1, "100000000000000000000000"),
    (1e23, "g", -1, "1e+23"),
    (_BELOW_1E23, "e", 17, "9.99999999999999748e+22"),
    (_BELOW_1E23, "f", 17, "99999999999999974834176.00000000000000000"),
    (_BELOW_1E23, "g", 17, "9.9999999999999975e+22"),
    (_BELOW_1E23, "e", -1, "9.999999999999997e+22"),
    (_BELOW_1E23, "f", -1, "99999999999999970000000"),
    (_BELOW_1E23, "g", -1, "9.999999999999997e+22"),
    (_ABOVE_1E23, "e", 17, "1.00000000000000008e+23"),
    (_ABOVE_1E23, "f", 17, "100000000000000008388608.00000000000000000"),
    (_ABOVE_1E23, "g", 17, "1.0000000000000001e+23"),
    (_ABOVE_1E23, "e", -1, "1.0000000000000001e+23"),
    (_ABOVE_1E23, "f", -1, "100000000000000010000000"),
    (_ABOVE_1E23, "g", -1, "1.0000000000000001e+23"),
    (5e-304 / 1e20, "g", -1, "5e-324"),
    (-5e-304 / 1e20, "g", -1, "-5e-324"),
    (32, "g", -1, "32"),
    (32, "g", 0, "3e+01"),
    (math.nan, "g", -1, "NaN"),
    (-math.nan, "g", -1, "NaN"),
    (math.inf, "g", -1, "+Inf"),
    (-math.inf, "g", -1, "-Inf"),
    (0.9, "f", 1, "0.9"),
    (0.09, "f", 1, "0.1"),
    (0.0999, "f", 1, "0.1"),
    (0.05, "f", 1, "0.1"),
    (0.05, "f", 0, "0"),
    (0.5, "f", 1, "0.5"),
    (0.5, "f", 0, "0"),
    (1.5, "f", 0, "2"),
    (2.2250738585072012e-308, "g", -1, "2.2250738585072014e-308"),
    (2.2250738585072011e-308, "g", -1, "2.225073858507201e-308"),
    (383260575764816448, "f", 0, "383260575764816448"),
    (383260575764816448, "g", -1, "3.8326057576481645e+17"),
    (498484681984085570, "f", -1, "498484681984085570"),
    (-5.8339553793802237e+23, "g", -1, "-5.8339553793802237e+23"),
    # upper-case verbs
    (1e23, "E", -1, "1E+23"),
    (1e23, "G", -1, "1E+23"),
    (1234.5678, "E", 3, "1.235E+03"),
])
def test_format_float_matches_go(f: float, fmt: str, prec: int, text: str) -> None:
    assert format_float(float(f), fmt, prec) == text


def test_shortest_helpers_are_format_float() -> None:
    for f in (0.1, -2.5e-9, 1e21, 123456.0, 1e6, -0.0):
        assert format_float_f(f) == format_float(f, "f")
        assert format_float_e(f) == format_float(f, "e")
        assert format_float_v(f) == format_float(f, "g")


@pytest.mark.parametrize(("f", "text"), [
    # jsonutil.MarshalFloat: 'f' inside [1e-6, 1e21), 'e' outside, shortest digits
    (1.0, "1"),
    (0.1, "0.1"),
    (1e-6, "0.000001"),
    (9.99e-7, "9.99e-07"),
    (1e20, "100000000000000000000"),
    (1e21, "1e+21"),
    (-3.5, "-3.5"),
    (0.0, "0"),
    (math.inf, "+Inf"),
    (math.nan, "NaN"),
])
def test_sample_value(f: float, text: str) -> None:
    assert format_sample_value(f) == text


def test_json_float_shortens_one_digit_exponent() -> None:
    # encoding/json floatEncoder: "clean up e-09 to e-9"
    assert format_json_float(1e-7) == "1e-7"
    assert format_json_float(1.5e-10) == "1.5e-10"
    assert format_json_float(1e21) == "1e+21"
    with pytest.raises(ValueError):
        format_json_float(math.nan)


@pytest.mark.parametrize(("text", "value"), [
    ("1", 1.0), ("-1.5", -1.5), (".5", 0.5), ("5.", 5.0), ("1e3", 1000.0), ("+1E-2", 0.01),
    ("Inf", math.inf), ("-infinity", -math.inf),
])
def test_parse_float(text: str, value: float) -> None:
    assert parse_float(text) == value


@pytest.mark.parametrize(("text", "message"), [
    ("", 'strconv.ParseFloat: parsing "": invalid syntax'),
    ("1x", 'strconv.ParseFloat: parsing "1x": invalid syntax'),
    ("1e400", 'strconv.ParseFloat: parsing "1e400": value out of range'),
])
def test_parse_float_errors(text: str, message: str) -> None:
    with pytest.raises(ValueError) as info:
        parse_float(text)
    assert str(info.value) == message
    assert math.isnan(parse_float("NaN"))
