"""Go quoting, against the tables in Go's src/strconv/quote_test.go (quotetests,
quoterunetests, unquotetests) plus the PromQL conformance case that needs ``\\xHH``."""

from __future__ import annotations

import pytest

from vigil.gocompat.quote import quote, quote_rune, unquote
from vigil.promql import parse_expr

# Go strings are bytes; here an invalid byte 0xHH is the code point U+DC00+0xHH.
_FF = "\udcff"


@pytest.mark.parametrize(("text", "quoted"), [
    # src/strconv/quote_test.go quotetests (the Quote column)
    ("\a\b\f\r\n\t\v", '"\\a\\b\\f\\r\\n\\t\\v"'),
    ("\\", '"\\\\"'),
    (f"abc{_FF}def", '"abc\\xffdef"'),
    ("\u263a", '"\u263a"'),
    ("\U0010ffff", '"\\U0010ffff"'),
    ("\x04", '"\\x04"'),
    ("!\u00a0!\u2000!\u3000!", '"!\\u00a0!\\u2000!\\u3000!"'),
    # appendEscapedRune: DEL is \x7f; other C0/C1 controls; the quote itself
    ("\x7f", '"\\x7f"'),
    ("\x00\x1f", '"\\x00\\x1f"'),
    ("\x85", '"\\u0085"'),
    ('say "hi"', '"say \\"hi\\""'),
    ("it's", '"it\'s"'),
    ("\ufeff", '"\\ufeff"'),          # a format character (Cf) is not printable
    ("\U000e0001", '"\\U000e0001"'),  # nor is a supplementary-plane one
    ("\ufffd", '"\ufffd"'),           # a real U+FFFD is printable
    ("", '""'),
    # invalid UTF-8: every byte on its own, also when several follow each other
    ("a\udcc5z", '"a\\xc5z"'),
    ("\udce0\udca0z", '"\\xe0\\xa0z"'),
    # a lone surrogate is, to Go, the three bytes of its UTF-8 spelling
    ("\ud800", '"\\xed\\xa0\\x80"'),
])
def test_quote_matches_go(text: str, quoted: str) -> None:
    assert quote(text) == quoted


@pytest.mark.parametrize(("rune", "quoted"), [
    # src/strconv/quote_test.go quoterunetests (the QuoteRune column)
    ("a", "'a'"),
    ("\a", "'\\a'"),
    ("\\", "'\\\\'"),
    (0xFF, "'\u00ff'"),
    (0x263A, "'\u263a'"),
    (0xFFFD, "'\ufffd'"),
    (0x0010FFFF, "'\\U0010ffff'"),
    (0x0010FFFF + 1, "'\ufffd'"),
    (0x04, "'\\x04'"),
    ("\u00a0", "'\\u00a0'"),
    ("\u2000", "'\\u2000'"),
    ("\u3000", "'\\u3000'"),
    # in a rune literal the single quote is escaped and the double quote is not
    ("'", "'\\''"),
    ('"', "'\"'"),
    (0xD800, "'\ufffd'"),
])
def test_quote_rune_matches_go(rune: str | int, quoted: str) -> None:
    assert quote_rune(rune) == quoted


@pytest.mark.parametrize(("literal", "value"), [
    # src/strconv/quote_test.go unquotetests
    ('""', ""),
    ('"abc"', "abc"),
    ('"\u263a"', "\u263a"),
    ('"\\xFF"', _FF),
    ('"\\377"', _FF),
    ('"\\u1234"', "\u1234"),
    ('"\\U00010111"', "\U00010111"),
    ('"\\a\\b\\f\\n\\r\\t\\v\\\\\\""', "\a\b\f\n\r\t\v\\\""),
    ("'\\x10'", "\x10"),
    ("'\\''", "'"),
    ("`\\xFF`", "\\xFF"),
    ("`\n`", "\n"),
    # bytes that together are UTF-8 decode to the rune
    ('"\\xe2\\x98\\xba"', "\u263a"),
])
def test_unquote_matches_go(literal: str, value: str) -> None:
    assert unquote(literal) == value


@pytest.mark.parametrize("text", ["\a\b\f\r\n\t\v", f"abc{_FF}def", "\u263a", "\U0010ffff",
                                  "\x04", "!\u00a0!\u2000!\u3000!", "a\udcc5z"])
def test_unquote_reverses_quote(text: str) -> None:
    # Go's TestUnquote runs the quote table backwards too.
    assert unquote(quote(text)) == text


def test_promql_string_with_invalid_utf8_prints_as_go_does() -> None:
    # aggregators.test: count_values("a\xc5z", version) fails with
    # invalid label name "a\xc5z"; the parser keeps the byte and quoting gives it back.
    expr = parse_expr('count_values("a\\xc5z", version)')
    assert '"a\\xc5z"' in str(expr)
