"""Parsing Go ``text/template`` source into the tree :mod:`vigil.gocompat.template.exec` runs.

The parser checks what Go's checks at parse time (unknown functions, unbalanced blocks,
undefined variables) so that a rule file with a broken template fails when it is loaded.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from vigil.gocompat.quote import unquote
from vigil.gocompat.template.lex import Item, TemplateError, Token, lex, line_of

__all__ = ["Definition", "Node", "Parser", "Pipe"]

# ---------------------------------------------------------------- parse tree


@dataclass
class Pipe:
    """A pipeline: optional variable declaration, then commands separated by ``|``."""

    decl: list[str]
    assign: bool
    cmds: list[list[Any]]  # each command: list of operand nodes
    pos: int
    src: str


@dataclass
class Node:
    """A node of the parse tree (text, an action, a control structure, a template call)."""

    kind: str  # text, action, if, with, range, break, continue
    text: str = ""
    pipe: Pipe | None = None
    body: list[Node] = field(default_factory=list)
    other: list[Node] = field(default_factory=list)


@dataclass
class Definition:
    """A ``{{define}}``d template: its body and the file text it came from (for error lines)."""

    body: list[Node]
    text: str
    source: str


class Parser:
    """Parses one file's text; ``funcs`` are the names that may be called."""

    def __init__(self, text: str, name: str, funcs: Mapping[str, Any]) -> None:
        self.text = text
        self.name = name
        self.funcs = funcs
        self.items = lex(text, name)
        self.i = 0
        self.vars: list[str] = ["$"]
        self.defines: dict[str, Definition] = {}
        self.depth = 0  # nesting of if/with/range/define: {{define}} is only allowed at the top

    def err(self, pos: int, msg: str) -> TemplateError:
        return TemplateError(f"template: {self.name}:{line_of(self.text, pos)}: {msg}")

    def parse(self) -> list[Node]:
        nodes, term = self.parse_list()
        if term is not None:
            raise self.err(term.pos, f"unexpected {{{{{term.toks[0].text}}}}}")
        return nodes

    def parse_list(self) -> tuple[list[Node], Item | None]:
        """Nodes up to a ``{{end}}``/``{{else}}`` (returned as the terminator) or the end."""
        nodes: list[Node] = []
        while self.i < len(self.items):
            item = self.items[self.i]
            self.i += 1
            if item.kind == "text":
                if item.text:
                    nodes.append(Node("text", item.text))
                continue
            if not item.toks:
                raise self.err(item.pos, "missing value for command")
            word = item.toks[0]
            if word.kind == "ident" and word.text in ("end", "else"):
                return nodes, item
            if word.kind == "ident" and word.text in ("if", "with", "range"):
                nodes.append(self.parse_control(word.text, item, item.toks[1:]))
            elif word.kind == "ident" and word.text in ("break", "continue"):
                nodes.append(Node(word.text))
            elif word.kind == "ident" and word.text in ("define", "block"):
                name = self.template_name(word.text, item)
                if word.text == "define" and (self.depth or len(item.toks) != 2):
                    raise self.err(item.pos, "unexpected {{define}}" if self.depth
                                   else "unexpected token in define clause")
                pipe = self.parse_pipe(item.toks[2:], item.pos) if word.text == "block" else None
                saved, self.vars = self.vars, ["$"]  # a named template sees only its own $
                self.depth += 1
                body, term = self.parse_list()
                self.depth -= 1
                self.vars = saved
                if term is None or term.toks[0].text != "end":
                    raise self.err(item.pos, f"unexpected {'EOF' if term is None else '{{else}}'}"
                                   f" in {word.text} clause")
                self.defines[name] = Definition(body, self.text, self.name)
                if word.text == "block":
                    nodes.append(Node("template", name, pipe=pipe))
            elif word.kind == "ident" and word.text == "template":
                name = self.template_name("template", item)
                pipe = self.parse_pipe(item.toks[2:], item.pos) if len(item.toks) > 2 else None
                nodes.append(Node("template", name, pipe=pipe))
            else:
                nodes.append(Node("action", pipe=self.parse_pipe(item.toks, item.pos, decl_ok=True)))
        return nodes, None

    def template_name(self, kind: str, item: Item) -> str:
        """The quoted name after ``define``/``template``/``block``."""
        if len(item.toks) < 2 or item.toks[1].kind not in ("str", "raw"):
            raise self.err(item.pos, f"unexpected {'end of action' if len(item.toks) < 2 else item.toks[1].text}"
                           f" in {kind} clause")
        t = item.toks[1]
        return self.unquote(t)

    def unquote(self, t: Token) -> str:
        """The value of a string, raw string or character token, with Go's escapes."""
        try:
            return unquote(t.text)
        except (ValueError, IndexError):
            raise self.err(t.pos, f"unquote: invalid syntax: {t.text}") from None

    def parse_control(self, kind: str, item: Item, toks: list[Token]) -> Node:
        depth = len(self.vars)
        pipe = self.parse_pipe(toks, item.pos, decl_ok=True, range_decl=kind == "range")
        self.depth += 1
        body, term = self.parse_list()
        self.depth -= 1
        other: list[Node] = []
        if term is None:
            raise self.err(len(self.text), "unexpected EOF")
        del self.vars[depth:]
        if term.toks[0].text == "else":
            rest = term.toks[1:]
            if rest and rest[0].kind == "ident" and rest[0].text in ("if", "with"):
                # {{else if x}} nests an if that shares the enclosing {{end}}.
                other = [self.parse_control(rest[0].text, term, rest[1:])]
            else:
                if rest:
                    raise self.err(term.pos, f"unexpected {rest[0].text!r} in else")
                self.depth += 1
                other, term2 = self.parse_list()
                self.depth -= 1
                del self.vars[depth:]
                if term2 is None or term2.toks[0].text != "end":
                    raise self.err(term.pos, f"expected end; found {'EOF' if term2 is None else '{{else}}'}")
        elif len(term.toks) > 1:
            raise self.err(term.pos, f"unexpected {term.toks[1].text!r} in end")
        return Node(kind, pipe=pipe, body=body, other=other)

    def parse_pipe(self, toks: list[Token], pos: int, *, decl_ok: bool = False,
                   range_decl: bool = False) -> Pipe:
        decl: list[str] = []
        assign = False
        k = 0
        if decl_ok and len(toks) >= 2 and toks[0].kind == "var":
            if toks[1].text in (":=", "="):
                decl, assign, k = [toks[0].text], toks[1].text == "=", 2
            elif range_decl and len(toks) >= 4 and toks[1].text == "," and toks[2].kind == "var" \
                    and toks[3].text == ":=":
                decl, k = [toks[0].text, toks[2].text], 4
        if assign and decl[0] not in self.vars:
            raise self.err(pos, f'undefined variable "{decl[0]}"')
        cmds, k = self.parse_cmds(toks, k, pos)
        if k != len(toks):
            raise self.err(toks[k].pos, f"unexpected {toks[k].text!r} in operand")
        if not assign:
            self.vars.extend(decl)
        if not cmds:
            raise self.err(pos, "missing value for command")
        start = toks[0].pos if toks else pos
        end = toks[-1].pos + len(toks[-1].text) if toks else pos
        return Pipe(decl, assign, cmds, pos, self.text[start:end])

    def parse_cmds(self, toks: list[Token], k: int, pos: int) -> tuple[list[list[Any]], int]:
        cmds: list[list[Any]] = []
        cmd: list[Any] = []
        while k < len(toks):
            t = toks[k]
            if t.text == ")":
                break
            if t.text == "|":
                if not cmd:
                    raise self.err(t.pos, "missing command")
                cmds.append(cmd)
                cmd = []
                k += 1
                continue
            node, k = self.parse_operand(toks, k)
            cmd.append(node)
        if cmd:
            cmds.append(cmd)
        elif cmds:
            raise self.err(pos, "missing command")
        return cmds, k

    def parse_operand(self, toks: list[Token], k: int) -> tuple[Any, int]:
        t = toks[k]
        if t.kind == "str":
            return ("lit", self.unquote(t)), k + 1
        if t.kind == "raw":
            return ("lit", t.text[1:-1]), k + 1
        if t.kind == "char":
            value = self.unquote(t)
            if len(value) != 1:
                raise self.err(t.pos, f"malformed character constant: {t.text}")
            return ("lit", ord(value)), k + 1
        if t.kind == "num":
            txt = t.text.replace("_", "")
            if re.fullmatch(r"[+-]?0[xX][0-9a-fA-F]+", txt):
                return ("lit", int(txt, 16)), k + 1
            if re.fullmatch(r"[+-]?\d+", txt):
                return ("lit", int(txt)), k + 1
            return ("lit", float(txt)), k + 1
        if t.kind == "var":
            name, *fields = t.text.split(".")
            if name not in self.vars:
                raise self.err(t.pos, f'undefined variable "{name}"')
            return ("var", name, fields, t.text), k + 1
        if t.kind == "field":
            return ("field", t.text.split(".")[1:], t.text), k + 1
        if t.kind == "dot":
            return ("dot",), k + 1
        if t.kind == "ident":
            if t.text in ("true", "false"):
                return ("lit", t.text == "true"), k + 1
            if t.text == "nil":
                return ("lit", None), k + 1
            if t.text not in self.funcs:
                raise self.err(t.pos, f'function "{t.text}" not defined')
            return ("func", t.text), k + 1
        if t.text == "(":
            cmds, j = self.parse_cmds(toks, k + 1, t.pos)
            if j >= len(toks) or toks[j].text != ")":
                raise self.err(t.pos, "unclosed left paren")
            if not cmds:
                raise self.err(t.pos, "missing value for parenthesized pipeline")
            pipe = Pipe([], False, cmds, t.pos, self.text[t.pos:toks[j].pos + 1])
            j += 1
            chain: list[str] = []
            if j < len(toks) and toks[j].kind == "field" and toks[j].pos == toks[j - 1].pos + 1:
                chain = toks[j].text.split(".")[1:]
                j += 1
            return ("pipe", pipe, chain), j
        raise self.err(t.pos, f"unexpected {t.text!r} in operand")


