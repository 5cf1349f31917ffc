"""Reading a configuration file into a :class:`Config`, with located errors."""

from __future__ import annotations

import os

from pydantic import ValidationError

from vigil.config.model import Config, LocatedValueError
from vigil.config.yamlmarks import Marks, format_path, load_yaml, load_yaml_file
from vigil.errors import ConfigError


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


def validation_error(exc: ValidationError, marks: Marks) -> ConfigError:
    """The first error of a pydantic validation, located in the YAML source."""
    first = exc.errors()[0]
    path = _loc_to_yaml_path(first["loc"])
    cause = first.get("ctx", {}).get("error")
    if isinstance(cause, LocatedValueError):
        path = (*path, *cause.path)
    err = marks.error(_message(first), path)
    extra = len(exc.errors()) - 1
    if extra:
        err.message += f" (and {extra} more problem{'s' if extra > 1 else ''})"
        err.args = (str(err),)
    return err


def parse_config(data: object, marks: Marks) -> Config:
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise marks.error("the configuration must be a YAML mapping")
    data = {**data, "source_file": marks.file}
    try:
        return Config.model_validate(data)
    except ValidationError as exc:
        raise validation_error(exc, marks) from None


def load_config(filename: str | None) -> Config:
    """The config in ``filename``, or the embedded default when it is None."""
    if filename is None:
        return parse_config({}, Marks("<default>"))
    data, marks = load_yaml_file(filename)
    return parse_config(data, marks)


def load_config_text(text: str, filename: str = "<string>") -> Config:
    data, marks = load_yaml(text, filename)
    return parse_config(data, marks)


def resolve_path(config: Config, path: str) -> str:
    """``path`` made absolute against the directory of the config file that named it."""
    if os.path.isabs(path) or not config.source_file or config.source_file.startswith("<"):
        return os.path.abspath(path)
    return os.path.join(os.path.dirname(os.path.abspath(config.source_file)), path)


__all__ = ["load_config", "load_config_text", "parse_config", "resolve_path", "format_path"]
