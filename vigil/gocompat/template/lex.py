"""Lexing of Go ``text/template`` source into text and action items, and the engine's error."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from vigil.errors import VigilError

__all__ = ["Item", "TemplateError", "Token", "lex", "line_of"]


class TemplateError(VigilError):
    """A template that does not parse, or failed while executing."""


# ---------------------------------------------------------------- lexing

_TOKEN = re.compile(r"""
    (?P<ws>\s+)
  | (?P<str>"(?:[^"\\\n]|\\.)*")
  | (?P<raw>`[^`]*`)
  | (?P<char>'(?:[^'\\\n]|\\.)+')
  | (?P<num>[+-]?(?:0[xX][0-9a-fA-F_]+|(?:\d[\d_]*\.?\d*|\.\d+)(?:[eE][+-]?\d+)?))
  | (?P<var>\$[A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*)
  | (?P<field>(?:\.[A-Za-z_][A-Za-z0-9_]*)+)
  | (?P<dot>\.)
  | (?P<ident>[A-Za-z_][A-Za-z0-9_]*)
  | (?P<op>:=|[=|(),])
""", re.VERBOSE)


@dataclass(frozen=True)
class Token:
    """One token inside an action: its kind (a group of the token pattern), text and offset."""

    kind: str
    text: str
    pos: int


@dataclass
class Item:
    """A run of text or one ``{{ }}`` action (with its tokens)."""

    kind: str  # "text" or "action"
    text: str
    pos: int
    toks: list[Token] = field(default_factory=list)


def lex(text: str, name: str) -> list[Item]:
    """The text and action items of a template; ``name`` is used in error messages."""
    items: list[Item] = []
    pos = 0
    while True:
        start = text.find("{{", pos)
        if start < 0:
            items.append(Item("text", text[pos:], pos))
            return items
        chunk = text[pos:start]
        i = start + 2
        if text.startswith("-", i) and i + 1 < len(text) and text[i + 1] in " \t\r\n":
            chunk = chunk.rstrip(" \t\r\n")
            i += 2
        items.append(Item("text", chunk, pos))
        stripped = i
        while stripped < len(text) and text[stripped] in " \t\r\n":
            stripped += 1
        if text.startswith("/*", stripped):
            end = text.find("*/", stripped + 2)
            if end < 0:
                raise TemplateError(f"template: {name}:{line_of(text, start)}: unclosed comment")
            j = end + 2
            trim = False
            if re.match(r"[ \t\r\n]+-}}", text[j:]):
                j = text.index("-}}", j) + 3
                trim = True
            elif text.startswith("}}", j):
                j += 2
            else:
                raise TemplateError(f"template: {name}:{line_of(text, start)}: comment ends before closing delimiter")
            pos = _trim_after(text, j) if trim else j
            continue
        toks, j, trim = _lex_action(text, i, name, start)
        items.append(Item("action", text[i:j], start, toks))
        pos = _trim_after(text, j) if trim else j


def _trim_after(text: str, j: int) -> int:
    while j < len(text) and text[j] in " \t\r\n":
        j += 1
    return j


def _lex_action(text: str, i: int, name: str, start: int) -> tuple[list[Token], int, bool]:
    toks: list[Token] = []
    while True:
        if i >= len(text):
            raise TemplateError(f"template: {name}:{line_of(text, start)}: unclosed action")
        if text.startswith("}}", i):
            return toks, i + 2, False
        m = re.match(r"[ \t\r\n]+-}}", text[i:])
        if m:
            return toks, i + m.end(), True
        m = _TOKEN.match(text, i)
        if not m or (m.lastgroup == "op" and text.startswith("}", i)):
            raise TemplateError(
                f"template: {name}:{line_of(text, i)}: unexpected {text[i]!r} in command")
        if m.lastgroup != "ws":
            toks.append(Token(m.lastgroup or "", m.group(), i))
        i = m.end()


def line_of(text: str, pos: int) -> int:
    """The 1-based line of an offset (Go's error messages name lines)."""
    return text.count("\n", 0, pos) + 1
