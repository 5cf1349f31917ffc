"""Validation errors that know where they are: a field path below the value being validated,
and the translation of a pydantic error into a ``file:line:col: path: message``
:class:`~vigil.errors.ConfigError`.

It sits below :mod:`vigil.config.model` (whose validators raise :class:`LocatedValueError`)
and below both file readers (:mod:`vigil.config.loader`, :mod:`vigil.config.amconfig`), which
turn a failed validation into a located error with :func:`validation_error`.
"""

from __future__ import annotations

from pydantic import ValidationError

from vigil.config.yamlmarks import Marks
from vigil.errors import ConfigError

__all__ = ["LocatedValueError", "validation_error"]


class LocatedValueError(ValueError):
    """A validation error about a field below the one being validated; ``path`` is
    relative to it, so the loader can point at the exact line."""

    def __init__(self, message: str, path: tuple[str | int, ...]) -> None:
        super().__init__(message)
        self.path = path


def _message(err: dict) -> str:
    kind = err.get("type", "")
    if kind == "extra_forbidden":
        return "unknown field"
    if kind == "missing":
        return "required field is missing"
    msg = err.get("msg", "invalid value")
    return msg.removeprefix("Value error, ")


def _loc_to_yaml_path(loc: tuple) -> tuple:
    # pydantic reports aliases as written in YAML (global, continue); keep ints as indexes.
    return tuple(p for p in loc if not (isinstance(p, str) and p.startswith("function-")))


def validation_error(exc: ValidationError, marks: Marks,
                     under: tuple[str | int, ...] = ()) -> ConfigError:
    """The first error of a pydantic validation, located in the YAML source. ``under`` is
    the YAML path of the validated value when it is not the whole document."""
    first = exc.errors()[0]
    path = (*under, *_loc_to_yaml_path(first["loc"]))
    cause = first.get("ctx", {}).get("error")
    if isinstance(cause, LocatedValueError):
        path = (*path, *cause.path)
    err = marks.error(_message(first), path)
    extra = len(exc.errors()) - 1
    if extra:
        err.message += f" (and {extra} more problem{'s' if extra > 1 else ''})"
        err.args = (str(err),)
    return err
