"""The values a Go template works with: their Go type names, truth, and how ``fmt.Sprint``
prints them (what ``{{ x }}`` writes).

Python stands in for Go types: ``str`` string, ``int`` int, ``float`` float64, ``bool``,
``None`` nil, ``dict`` a map (missing keys read as ""), ``list``/``tuple`` a slice, and
:class:`GoStruct` a struct (a missing field is an error).
"""

from __future__ import annotations

from typing import Any

from vigil.gocompat.floats import format_float_v

__all__ = ["GoStruct", "go_str", "go_type", "truth"]


class GoStruct(dict[str, Any]):
    """A Go struct value: field access to a missing field is an error (a map gives "").
    Subclasses set ``type_name`` (for error messages) and may map Go method names to Python
    method names in ``go_methods``."""

    type_name = "struct"


def go_type(v: Any) -> str:
    """The Go type name of a value, for error messages."""
    if v is None:
        return "<nil>"
    if isinstance(v, bool):
        return "bool"
    if isinstance(v, int):
        return "int"
    if isinstance(v, float):
        return "float64"
    if isinstance(v, str):
        return "string"
    if isinstance(v, GoStruct):
        return v.type_name
    if isinstance(v, dict):
        return "map[string]string"
    if isinstance(v, list):
        return "[]interface {}"
    return type(v).__name__


def truth(v: Any) -> bool:
    """Go template truth: false, 0, nil and empty strings/slices/maps are false."""
    if v is None:
        return False
    if isinstance(v, (bool, int, float)):
        return bool(v)
    if isinstance(v, GoStruct):
        return True
    if isinstance(v, (str, list, tuple, dict)):
        return len(v) > 0
    return True


def go_str(v: Any) -> str:
    """Go ``fmt.Sprint`` of one template value (what ``{{ x }}`` prints)."""
    if v is None:
        return "<no value>"
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        return format_float_v(v)
    if isinstance(v, str):
        return v
    if isinstance(v, GoStruct):
        return "{" + " ".join(_inner(x) for x in v.values()) + "}"
    if isinstance(v, dict):
        return "map[" + " ".join(f"{k}:{_inner(v[k])}" for k in sorted(v)) + "]"
    if isinstance(v, (list, tuple)):
        return "[" + " ".join(_inner(x) for x in v) + "]"
    return str(v)


def _inner(v: Any) -> str:
    # Inside a map, slice or struct a nil prints as <nil>, not <no value>.
    return "<nil>" if v is None else go_str(v)
