"""Go ``text/template``'s builtin functions: comparison (``eq ne lt le gt ge``), logic
(``and or not``, evaluated lazily as Go 1.18+ does), ``len index slice``, ``print printf
println``, and the escapers ``html js urlquery``. Not provided: ``call`` (templates here
see no function values)."""

from __future__ import annotations

import urllib.parse
from collections.abc import Callable
from typing import Any

from vigil.gocompat.template.fmt import sprintf
from vigil.gocompat.template.values import GoStruct, go_str, go_type, truth

__all__ = ["BUILTINS", "LAZY", "html_escape", "js_escape"]


class _Err(ValueError):
    pass


_BASIC_KINDS = frozenset({"bool", "int", "float64", "string"})


def _kind(v: Any) -> str:
    """The basic kind Go's comparison functions accept, or "other"."""
    kind = go_type(v)
    return kind if kind in _BASIC_KINDS else "other"


def _eq(a: Any, *others: Any) -> bool:
    if not others:
        raise _Err("missing argument for comparison")
    for b in others:
        ka, kb = _kind(a), _kind(b)
        if a is None or b is None:
            if a is None and b is None:
                return True
            continue
        if ka == "other" or kb == "other":
            raise _Err("invalid type for comparison")
        if ka != kb:
            raise _Err("incompatible types for comparison")
        if a == b:
            return True
    return False


def _lt(a: Any, b: Any) -> bool:
    ka, kb = _kind(a), _kind(b)
    if ka in ("bool", "other") or kb in ("bool", "other"):
        raise _Err("invalid type for comparison")
    if ka != kb:
        raise _Err("incompatible types for comparison")
    return bool(a < b)


def _len(v: Any) -> int:
    if isinstance(v, (str, list, tuple, dict)) and not isinstance(v, GoStruct):
        return len(v.encode("utf-8", "surrogateescape")) if isinstance(v, str) else len(v)
    raise _Err(f"len of type {go_type(v)}")


def _index(v: Any, *keys: Any) -> Any:
    for k in keys:
        if isinstance(v, dict) and not isinstance(v, GoStruct):
            v = v.get(k, "")
        elif isinstance(v, (list, tuple, str)) and isinstance(k, int):
            if not 0 <= k < len(v):
                raise _Err(f"index out of range: {k}")
            v = v[k]
        else:
            raise _Err(f"can't index item of type {go_type(v)}")
    return v


def _slice(v: Any, *indexes: Any) -> Any:
    """Go's ``slice x 1 2``: ``x[1:2]`` of a string or slice (``slice x 1 2 3`` is refused:
    it needs a Go array's capacity)."""
    if not isinstance(v, (str, list, tuple)) or isinstance(v, GoStruct):
        raise _Err(f"can't slice item of type {go_type(v)}")
    if len(indexes) > 2:
        raise _Err("too many slice indexes: 3")
    if not all(isinstance(i, int) and not isinstance(i, bool) for i in indexes):
        raise _Err("cannot index slice/array with non-integer type")
    size = len(v.encode("utf-8", "surrogateescape")) if isinstance(v, str) else len(v)
    low = indexes[0] if indexes else 0
    high = indexes[1] if len(indexes) > 1 else size
    if not 0 <= low <= size:
        raise _Err(f"index out of range: {low}")
    if not low <= high <= size:
        raise _Err(f"index out of range: {high}")
    if isinstance(v, str):  # Go slices a string by bytes
        return v.encode("utf-8", "surrogateescape")[low:high].decode("utf-8", "surrogateescape")
    return v[low:high]


def _sprint_one(v: Any) -> str:
    # An argument that is nil prints as <nil> (<no value> is only for a missing value).
    return "<nil>" if v is None else go_str(v)


def _print(*args: Any) -> str:
    # Go's Sprint puts spaces between operands when neither side is a string.
    out = ""
    for i, a in enumerate(args):
        if i and not isinstance(a, str) and not isinstance(args[i - 1], str):
            out += " "
        out += _sprint_one(a)
    return out


def html_escape(s: str) -> str:
    """Go's ``template.HTMLEscapeString``."""
    return (s.replace("&", "&amp;").replace("'", "&#39;").replace("<", "&lt;").replace(">", "&gt;")
            .replace('"', "&#34;").replace("\0", "\uFFFD"))


_JS_ESCAPES = {"\\": "\\\\", "'": "\\'", '"': '\\"', "<": "\\u003C", ">": "\\u003E",
               "&": "\\u0026", "=": "\\u003D"}


def js_escape(s: str) -> str:
    """Go's ``template.JSEscapeString``: quotes and backslash escaped, ``< > & =`` and ASCII
    control characters as ``\\uXXXX`` (upper-case hex), non-printable runes likewise."""
    out = []
    for ch in s:
        code = ord(ch)
        if ch in _JS_ESCAPES:
            out.append(_JS_ESCAPES[ch])
        elif code < 0x20 or (code >= 0x80 and not ch.isprintable() and
                             not 0xD800 <= code < 0xE000):
            # (A byte that is not UTF-8 decodes to U+FFFD, which is printable: Go copies
            # the byte, as the surrogate standing for it is copied here.)
            out.append(f"\\u{code:04X}")
        else:
            out.append(ch)
    return "".join(out)


def _eval_args(args: tuple[Any, ...]) -> str:
    """Go's ``evalArgs``: one string argument as it is, otherwise ``fmt.Sprint`` of all."""
    if len(args) == 1 and isinstance(args[0], str):
        return args[0]
    return _print(*args)


BUILTINS: dict[str, Callable[..., Any]] = {
    "eq": _eq,
    "ne": lambda a, b: not _eq(a, b),
    "lt": _lt,
    "le": lambda a, b: _lt(a, b) or _eq(a, b),
    "gt": lambda a, b: not (_lt(a, b) or _eq(a, b)),
    "ge": lambda a, b: not _lt(a, b),
    "len": _len,
    "index": _index,
    "print": _print,
    "println": lambda *a: " ".join(_sprint_one(x) for x in a) + "\n",
    "printf": sprintf,
    "slice": _slice,
    "html": lambda *a: html_escape(_eval_args(a)),
    "js": lambda *a: js_escape(_eval_args(a)),
    "urlquery": lambda *a: urllib.parse.quote_plus(_eval_args(a), errors="surrogateescape"),
}


def _and(args: list[Callable[[], Any]]) -> Any:
    v = None
    for a in args:
        v = a()
        if not truth(v):
            return v
    return v


def _or(args: list[Callable[[], Any]]) -> Any:
    v = None
    for a in args:
        v = a()
        if truth(v):
            return v
    return v


# Builtins that evaluate their arguments lazily (short-circuit), as Go 1.18+ does.
LAZY: dict[str, Callable[[list[Callable[[], Any]]], Any]] = {
    "and": _and,
    "or": _or,
    "not": lambda args: None,  # handled by the executor (arity check)
}
