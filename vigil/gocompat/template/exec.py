"""A Go ``text/template`` work-alike: the executor and :class:`Template`.

Supported: text and ``{{ }}`` actions with ``{{-``/``-}}`` trimming and ``{{/* */}}`` comments;
pipelines (``a | f b``), parenthesised pipelines with a field chain, variables (``$x := ...``,
``$x = ...``, ``$``), fields on dot, variables and maps (missing map keys give "", like
Prometheus's ``missingkey=zero``), string/raw-string/number/bool/nil literals, ``if``/``else
if``/``else``/``end``, ``with``, ``range`` (slices, maps in key order, ints; ``$i, $e :=``;
``else``; ``break``/``continue``) and the builtins ``and or not eq ne lt le gt ge len index
print println printf slice html js urlquery``; ``define``/``template``/``block`` (named
templates shared by every file added to one :class:`Template`); methods of values whose type
lists them in ``go_methods``. The lexer is :mod:`~vigil.gocompat.template.lex`, the parser
:mod:`~vigil.gocompat.template.parse`, the builtins :mod:`~vigil.gocompat.template.builtins`.

Errors are :class:`TemplateError` with Go's wording (``template: NAME:LINE: function "x" not
defined``; ``template: NAME:LINE:COL: executing "NAME" at <...>: ...``).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from vigil.gocompat.template.builtins import BUILTINS, LAZY
from vigil.gocompat.template.lex import TemplateError, line_of
from vigil.gocompat.template.parse import Definition, Node, Parser, Pipe
from vigil.gocompat.template.values import GoStruct, go_str, go_type, truth

__all__ = ["Template"]

_MISSING = object()


# ---------------------------------------------------------------- execution


class _Break(Exception):
    pass


class _Continue(Exception):
    pass


@dataclass(frozen=True)
class _Func:
    fn: Callable[..., Any]
    min_args: int
    max_args: int | None


def _describe(fn: Callable[..., Any]) -> _Func:
    params = inspect.signature(fn).parameters.values()
    positional = [p for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    required = [p for p in positional if p.default is p.empty]
    variadic = any(p.kind == p.VAR_POSITIONAL for p in params)
    return _Func(fn, len(required), None if variadic else len(positional))


class Template:
    """A parsed template. ``funcs`` maps names to Python callables taking Go-typed values;
    they are added to (and may replace) the builtins, as Go's ``Template.Funcs`` does.
    Prometheus's and Alertmanager's template functions register this way."""

    def __init__(self, name: str, text: str, funcs: Mapping[str, Callable[..., Any]]) -> None:
        self.name = name
        self.text = text
        merged = {**BUILTINS, **funcs}
        self._funcs = {k: _describe(f) for k, f in merged.items()}
        self._lazy = LAZY
        self._defines: dict[str, Definition] = {}
        self._root = self._parse(text, name)

    def _parse(self, text: str, name: str) -> list[Node]:
        parser = Parser(text, name, {**self._funcs, **dict.fromkeys(LAZY)})
        root = parser.parse()
        self._defines.update(parser.defines)
        return root

    def add(self, name: str, text: str) -> None:
        """Parse another file's text and add its ``{{define}}``/``{{block}}`` templates.

        Like Go's ``Template.Parse`` on an associated template: a later definition of a
        name replaces an earlier one; text outside definitions is ignored. Raises
        :class:`TemplateError` (``template: NAME:LINE: ...``) on a parse error.
        """
        self._parse(text, name)

    def defined(self) -> list[str]:
        """The names of the named templates, sorted."""
        return sorted(self._defines)

    def execute(self, data: Any) -> str:
        out: list[str] = []
        ex = _Exec(self, out)
        ex.vars = [["$", data]]
        ex.walk(self._root, data)
        return "".join(out)


class _Exec:
    def __init__(self, tmpl: Template, out: list[str]) -> None:
        self.t = tmpl
        self.out = out
        self.vars: list[list[Any]] = []
        self.text = tmpl.text  # the file text and names of the template being executed
        self.source = tmpl.name
        self.current = tmpl.name
        self.calls = 0

    def err(self, pipe: Pipe, msg: str) -> TemplateError:
        text = self.text
        line = line_of(text, pipe.pos)
        col = pipe.pos - (text.rfind("\n", 0, pipe.pos) + 1)
        return TemplateError(
            f'template: {self.source}:{line}:{col}: executing "{self.current}" at <{pipe.src}>: {msg}')

    def call_template(self, n: Node, dot: Any) -> None:
        d = self.t._defines.get(n.text)
        if d is None:
            pos = n.pipe.pos if n.pipe is not None else 0
            src = f'{{{{template "{n.text}"{" " + n.pipe.src if n.pipe else ""}}}}}'
            raise self.err(Pipe([], False, [], pos, src), f'template "{n.text}" not defined')
        arg = None
        if n.pipe is not None:
            depth = len(self.vars)
            arg = self.pipe(n.pipe, dot)
            del self.vars[depth:]
        # Go limits recursion depth to 100000; a Python stack is smaller.
        if self.calls > 200:
            raise self.err(n.pipe or Pipe([], False, [], 0, n.text), "exceeded maximum template depth")
        saved = (self.vars, self.text, self.source, self.current)
        self.vars, self.text, self.source, self.current = [["$", arg]], d.text, d.source, n.text
        self.calls += 1
        try:
            self.walk(d.body, arg)
        finally:
            self.calls -= 1
            self.vars, self.text, self.source, self.current = saved

    def walk(self, nodes: list[Node], dot: Any) -> None:
        for n in nodes:
            if n.kind == "text":
                self.out.append(n.text)
            elif n.kind == "action":
                assert n.pipe is not None
                v = self.pipe(n.pipe, dot)
                if not n.pipe.decl:
                    self.out.append(go_str(v))
            elif n.kind in ("if", "with"):
                self.control(n, dot)
            elif n.kind == "range":
                self.range(n, dot)
            elif n.kind == "template":
                self.call_template(n, dot)
            elif n.kind == "break":
                raise _Break
            elif n.kind == "continue":
                raise _Continue

    def control(self, n: Node, dot: Any) -> None:
        assert n.pipe is not None
        depth = len(self.vars)
        v = self.pipe(n.pipe, dot)
        if truth(v):
            self.walk(n.body, v if n.kind == "with" else dot)
        else:
            self.walk(n.other, dot)
        del self.vars[depth:]

    def range(self, n: Node, dot: Any) -> None:
        assert n.pipe is not None
        depth = len(self.vars)
        decl = n.pipe.decl  # the declarations bind per element, not to the pipe's value
        v = self.pipe(Pipe([], False, n.pipe.cmds, n.pipe.pos, n.pipe.src), dot)
        if isinstance(v, dict):
            pairs = [(k, v[k]) for k in sorted(v)]
        elif isinstance(v, (list, tuple)):
            pairs = list(enumerate(v))
        elif isinstance(v, int) and not isinstance(v, bool):
            pairs = [(i, i) for i in range(v)]
        elif v is None:
            pairs = []
        else:
            raise self.err(n.pipe, f"range can't iterate over {go_str(v)}")
        for key, elem in pairs:
            del self.vars[depth:]
            if len(decl) == 1:
                self.vars.append([decl[0], elem])
            elif len(decl) == 2:
                self.vars.extend([[decl[0], key], [decl[1], elem]])
            try:
                self.walk(n.body, elem)
            except _Continue:
                continue
            except _Break:
                break
        del self.vars[depth:]
        if not pairs:
            self.walk(n.other, dot)

    def pipe(self, p: Pipe, dot: Any) -> Any:
        v: Any = _MISSING
        for cmd in p.cmds:
            v = self.command(p, cmd, dot, v)
        if p.decl:
            if p.assign:
                for entry in reversed(self.vars):
                    if entry[0] == p.decl[0]:
                        entry[1] = v
                        break
            else:
                self.vars.append([p.decl[0], v])
        return v

    def command(self, p: Pipe, cmd: list[Any], dot: Any, final: Any) -> Any:
        head = cmd[0]
        if head[0] == "func":
            name = head[1]
            if name in self.t._lazy:
                args = [lambda a=a: self.arg(p, a, dot) for a in cmd[1:]]
                if final is not _MISSING:
                    args.append(lambda: final)
                if not args and name != "not":
                    raise self.err(p, f"wrong number of args for {name}: want at least 1 got 0")
                return self.t._lazy[name](args) if name != "not" else self._not(p, args)
            args = [self.arg(p, a, dot) for a in cmd[1:]]
            if final is not _MISSING:
                args.append(final)
            return self.call(p, name, args)
        if len(cmd) > 1 or final is not _MISSING:
            method = self.method(p, head, dot)
            if method is None:
                raise self.err(p, f"can't give argument to non-function {self.describe(head)}")
            args = [self.arg(p, a, dot) for a in cmd[1:]]
            if final is not _MISSING:
                args.append(final)
            try:
                return method(*args)
            except Exception as exc:  # noqa: BLE001 - a method's failure is the template's error
                raise self.err(p, f"error calling {head[-1].rsplit('.', 1)[-1]}: {exc}") from None
        return self.arg(p, head, dot)

    def _not(self, p: Pipe, args: list[Callable[[], Any]]) -> bool:
        if len(args) != 1:
            raise self.err(p, f"wrong number of args for not: want 1 got {len(args)}")
        return not truth(args[0]())

    def call(self, p: Pipe, name: str, args: list[Any]) -> Any:
        f = self.t._funcs[name]
        if len(args) < f.min_args or (f.max_args is not None and len(args) > f.max_args):
            want = f.min_args if f.max_args == f.min_args else f"at least {f.min_args}"
            raise self.err(p, f"wrong number of args for {name}: want {want} got {len(args)}")
        try:
            return f.fn(*args)
        except TemplateError as exc:
            raise self.err(p, f"error calling {name}: {exc}") from None
        except Exception as exc:  # noqa: BLE001 - a function's failure is the template's error
            raise self.err(p, f"error calling {name}: {exc}") from None

    @staticmethod
    def describe(node: Any) -> str:
        if node[0] == "lit":
            return go_str(node[1])
        if node[0] in ("var", "field"):
            return node[-1]
        return "."

    def arg(self, p: Pipe, node: Any, dot: Any) -> Any:
        kind = node[0]
        if kind == "lit":
            return node[1]
        if kind == "dot":
            return dot
        if kind == "func":
            return self.call(p, node[1], [])
        if kind == "var":
            for name, value in reversed(self.vars):
                if name == node[1]:
                    return self.fields(p, value, node[2])
            raise self.err(p, f'undefined variable "{node[1]}"')
        if kind == "field":
            return self.fields(p, dot, node[1])
        if kind == "pipe":
            depth = len(self.vars)
            v = self.pipe(node[1], dot)
            del self.vars[depth:]
            return self.fields(p, v, node[2])
        raise AssertionError(kind)

    def method(self, p: Pipe, head: Any, dot: Any) -> Callable[..., Any] | None:
        """The Go method a ``.x.Method``/``$v.Method`` command head names, if it is one
        (a value whose type has ``go_methods``), else None."""
        if head[0] == "field" and head[1]:
            base, names = dot, head[1]
        elif head[0] == "var" and head[2]:
            base = self.arg(p, ("var", head[1], [], head[1]), dot)
            names = head[2]
        else:
            return None
        v = self.fields(p, base, names[:-1])
        methods = getattr(type(v), "go_methods", None)
        return getattr(v, methods[names[-1]]) if methods and names[-1] in methods else None

    def fields(self, p: Pipe, v: Any, names: list[str]) -> Any:
        for name in names:
            methods = getattr(type(v), "go_methods", None)
            if methods and name in methods:
                # A method without arguments in a field chain is called, as in Go.
                v = getattr(v, methods[name])()
                continue
            if isinstance(v, GoStruct):
                if name not in v:
                    raise self.err(p, f"can't evaluate field {name} in type {v.type_name}")
                v = v[name]
            elif isinstance(v, dict):
                v = v.get(name, "")
            elif v is None:
                raise self.err(p, f"nil pointer evaluating interface {{}}.{name}")
            else:
                raise self.err(p, f"can't evaluate field {name} in type {go_type(v)}")
        return v
