"""The Go text/template engine, against rows of Go's src/text/template/exec_test.go
(execTests) and src/fmt/fmt_test.go (fmtTests), with the data those rows need rebuilt from
Python values (a Go map is a dict, a slice a list)."""

from __future__ import annotations

import math
from typing import Any

import pytest

from vigil.gocompat.template import Template, TemplateError, sprintf

# The parts of exec_test.go's tVal that the rows below use.
T_VAL: dict[str, Any] = {
    "SI": [3, 4, 5], "SIEmpty": [], "MSI": {"one": 1, "two": 2, "three": 3},
    "MSIone": {"one": 1}, "MSIEmpty": {}, "SB": [True, False], "I": 17, "FloatZero": 0.0,
}


def _run(text: str, data: Any = None) -> str:
    return Template("t", text, {}).execute(data)


@pytest.mark.parametrize(("text", "data", "out"), [
    # exec_test.go execTests
    ("{{if true}}TRUE{{end}}", T_VAL, "TRUE"),
    ("{{if false}}TRUE{{else}}FALSE{{end}}", T_VAL, "FALSE"),
    ("{{if 1}}NON-ZERO{{else}}ZERO{{end}}", T_VAL, "NON-ZERO"),
    ("{{if 0}}NON-ZERO{{else}}ZERO{{end}}", T_VAL, "ZERO"),
    ("{{if 1.5}}NON-ZERO{{else}}ZERO{{end}}", T_VAL, "NON-ZERO"),
    ("{{if .FloatZero}}NON-ZERO{{else}}ZERO{{end}}", T_VAL, "ZERO"),
    ("{{if ``}}NON-EMPTY{{else}}EMPTY{{end}}", T_VAL, "EMPTY"),
    ("{{if .SIEmpty}}NON-EMPTY{{else}}EMPTY{{end}}", T_VAL, "EMPTY"),
    ("{{if .MSI}}NON-EMPTY{{else}}EMPTY{{end}}", T_VAL, "NON-EMPTY"),
    ("{{if $x := true}}{{with $y := .I}}{{$x}},{{$y}}{{end}}{{end}}", T_VAL, "true,17"),
    ("{{if $x := true}}{{with $x := .I}}{{$x}},{{end}}{{$x}}{{end}}", T_VAL, "17,true"),
    ("{{if false}}FALSE{{else if true}}TRUE{{end}}", T_VAL, "TRUE"),
    ("{{if eq 1 3}}1{{else if eq 2 3}}2{{else if eq 3 3}}3{{end}}", T_VAL, "3"),
    ('{{print "hello, print"}}', None, "hello, print"),
    ("{{print 1 2 3}}", None, "1 2 3"),
    ("{{print nil}}", None, "<nil>"),
    ("{{println 1 2 3}}", None, "1 2 3\n"),
    ('{{printf "%04x" 127}}', None, "007f"),
    ('{{printf "%g" 3.5}}', None, "3.5"),
    ('{{printf "%s" "hello"}}', None, "hello"),
    ('{{with .I}}{{printf "%d" .}}{{end}}', T_VAL, "17"),
    ('{{html "<script>alert(\\"XSS\\");</script>"}}', None,
     "&lt;script&gt;alert(&#34;XSS&#34;);&lt;/script&gt;"),
    ('{{printf "<script>alert(\\"XSS\\");</script>" | html}}', None,
     "&lt;script&gt;alert(&#34;XSS&#34;);&lt;/script&gt;"),
    ("{{js .}}", "It'd be nice.", "It\\'d be nice."),
    ('{{"http://www.example.org/"|urlquery}}', None, "http%3A%2F%2Fwww.example.org%2F"),
    ("{{not true}} {{not false}}", None, "false true"),
    ("{{and false 0}} {{and 1 0}} {{and 0 true}} {{and 1 1}}", None, "false 0 0 1"),
    ("{{or 0 0}} {{or 1 0}} {{or 0 true}} {{or 1 1}}", None, "0 1 true 1"),
    ("{{if and true 1 `hi`}}TRUE{{else}}FALSE{{end}}", T_VAL, "TRUE"),
    ("{{if and true 1 `hi` | not}}TRUE{{else}}FALSE{{end}}", None, "FALSE"),
    ("{{index .SI 0}}", T_VAL, "3"),
    ("{{index .SI 1}}", T_VAL, "4"),
    ("{{index .MSI `one`}}", T_VAL, "1"),
    ("{{len .SI}}", T_VAL, "3"),
    ("{{len .MSI }}", T_VAL, "3"),
    ("{{with true}}{{.}}{{end}}", T_VAL, "true"),
    ("{{with false}}{{.}}{{else}}FALSE{{end}}", T_VAL, "FALSE"),
    ("{{with 1.5}}{{.}}{{else}}ZERO{{end}}", T_VAL, "1.5"),
    ("{{with .SI}}{{.}}{{else}}EMPTY{{end}}", T_VAL, "[3 4 5]"),
    ("{{with .MSIone}}{{.}}{{else}}EMPTY{{end}}", T_VAL, "map[one:1]"),
    ("{{range .SI}}-{{.}}-{{end}}", T_VAL, "-3--4--5-"),
    ("{{range .SIEmpty}}-{{.}}-{{else}}EMPTY{{end}}", T_VAL, "EMPTY"),
    ("{{range .SB}}-{{.}}-{{end}}", T_VAL, "-true--false-"),
    ("{{range .MSI}}-{{.}}-{{end}}", T_VAL, "-1--3--2-"),
    ("{{range $x, $y := .SI}}<{{$x}}={{$y}}>{{end}}", T_VAL, "<0=3><1=4><2=5>"),
    ("{{range $x, $y := .MSIone}}<{{$x}}={{$y}}>{{end}}", T_VAL, "<one=1>"),
    ('{{or .SI "slice is empty"}}', T_VAL, "[3 4 5]"),
    ('{{or .SIEmpty "slice is empty"}}', T_VAL, "slice is empty"),
    # slice (execTests "slice[:]" family, on a string and a slice)
    ("{{slice .SI 1 2}}", T_VAL, "[4]"),
    ("{{slice .SI 1}}", T_VAL, "[4 5]"),
    ('{{slice "abcde" 1 3}}', None, "bc"),
    # float %v as Go prints it
    ("{{1e6}} {{100000.0}} {{0.00001}}", None, "1e+06 100000 1e-05"),
])
def test_exec_matches_go(text: str, data: Any, out: str) -> None:
    assert _run(text, data) == out


@pytest.mark.parametrize(("text", "data"), [
    # execTests rows Go marks as errors
    ("{{index .SI 10}}", T_VAL),
    ("{{index .SI `hello`}}", T_VAL),
    ("{{len 3}}", T_VAL),
    ("{{3 2}}", T_VAL),
    ('{{slice .SI 3 1}}', T_VAL),
])
def test_exec_errors_like_go(text: str, data: Any) -> None:
    with pytest.raises(TemplateError, match=r'^template: t:1:\d+: executing "t" at <'):
        _run(text, data)


def test_string_literals_use_go_escapes() -> None:
    # Go's \x escapes are bytes: "\xe2\x98\xba" is one rune, and len counts bytes.
    assert _run('{{"\\xe2\\x98\\xba"}} {{len "\\u263a"}}') == "\u263a 3"
    assert _run("{{printf \"%c\" 'x'}}") == "x"
    with pytest.raises(TemplateError, match="invalid syntax"):
        _run('{{"\\z"}}')


@pytest.mark.parametrize(("fmt", "arg", "out"), [
    # src/fmt/fmt_test.go fmtTests
    ("%d", 12345, "12345"),
    ("%10d", -12345, "    -12345"),
    ("%+10d", 12345, "    +12345"),
    ("%010d", -12345, "-000012345"),
    ("%-10d", 12345, "12345     "),
    ("%+d", 0, "+0"),
    ("%x", 0x1234ABCD, "1234abcd"),
    ("%X", 0x1234ABCD, "1234ABCD"),
    ("%o", 0o1234, "1234"),
    ("%5s", "abc", "  abc"),
    ("%-5s", "abc", "abc  "),
    ("%x", "xyz", "78797a"),
    ("%X", "xyz", "78797A"),
    ("%q", '"', '"\\""'),
    ("%q", "\a\b\f\r\n\t\v", '"\\a\\b\\f\\r\\n\\t\\v"'),
    ("%q", "abc\udcffdef", '"abc\\xffdef"'),
    ("%q", "\U0010ffff", '"\\U0010ffff"'),
    ("%q", ord("x"), "'x'"),
    ("%+.3e", 0.0, "+0.000e+00"),
    ("%+.3e", 1.0, "+1.000e+00"),
    ("%+.3f", -1.0, "-1.000"),
    ("%+.3F", -1.0, "-1.000"),
    ("%+07.2f", 1.0, "+001.00"),
    ("%+07.2f", -1.0, "-001.00"),
    ("%-07.2f", 1.0, "1.00   "),
    ("%+10.2f", 1.0, "     +1.00"),
    ("% .3E", -1.0, "-1.000E+00"),
    ("% .3e", 1.0, " 1.000e+00"),
    ("%+.3g", 0.0, "+0"),
    ("%+.3g", 1.0, "+1"),
    ("% .3g", 1.0, " 1"),
    ("%e", 1.0, "1.000000e+00"),
    ("%e", 1234.5678e3, "1.234568e+06"),
    ("%f", 1234.5678e-8, "0.000012"),
    ("%f", -1e-9, "-0.000000"),
    ("%g", 1234.5678e3, "1.2345678e+06"),
    ("%g", 1234.5678e-8, "1.2345678e-05"),
    ("%G", 1234.5678e3, "1.2345678E+06"),
    ("%v", 1e21, "1e+21"),
    ("%f", math.inf, "+Inf"),
    ("%+f", math.inf, "+Inf"),
    ("% f", math.inf, " Inf"),
    ("%f", -math.inf, "-Inf"),
    ("%f", math.nan, "NaN"),
    ("%+f", math.nan, "+NaN"),
    ("% f", math.nan, " NaN"),
    ("%t", True, "true"),
    ("%d", "hello", "%!d(string=hello)"),
    ("%z", 1, "%!z(int=1)"),
    ("%v", None, "<nil>"),
    ("%10v", None, "     <nil>"),
    ("%d", None, "%!d(<nil>)"),
])
def test_sprintf_matches_go(fmt: str, arg: Any, out: str) -> None:
    assert sprintf(fmt, arg) == out


def test_sprintf_argument_count_marks() -> None:
    # fmt_test.go: "%!(EXTRA int=2)", "%!d(MISSING)"
    assert sprintf("", 2) == "%!(EXTRA int=2)"
    assert sprintf("%d") == "%!d(MISSING)"
