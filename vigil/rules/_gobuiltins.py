"""Go ``text/template`` builtin functions (comparison, logic, ``len``, ``index``, ``print*``)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from vigil.rules._gofmt import GoStruct, go_str, go_type, sprintf


class _Err(ValueError):
    pass


def _kind(v: Any) -> str:
    if isinstance(v, bool):
        return "bool"
    if isinstance(v, int):
        return "int"
    if isinstance(v, float):
        return "float"
    if isinstance(v, str):
        return "string"
    return "other"


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
        return len(v.encode()) if isinstance(v, str) else len(v)
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


def _print(*args: Any) -> str:
    # Go's Sprint puts spaces between operands when neither side is a string.
    out = ""
    for i, a in enumerate(args):
        if i and not isinstance(a, str) and not isinstance(args[i - 1], str):
            out += " "
        out += go_str(a)
    return out


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
    "println": lambda *a: " ".join(go_str(x) for x in a) + "\n",
    "printf": sprintf,
}


def _and(args: list[Callable[[], Any]]) -> Any:
    from vigil.rules._gotemplate import truth

    v = None
    for a in args:
        v = a()
        if not truth(v):
            return v
    return v


def _or(args: list[Callable[[], Any]]) -> Any:
    from vigil.rules._gotemplate import truth

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
