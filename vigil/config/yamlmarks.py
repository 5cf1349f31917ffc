"""YAML loading that remembers where every value came from.

:func:`load_yaml` returns plain Python data plus a :class:`Marks` index from a path such as
``("scrape_configs", 0, "job_name")`` to its 1-based line and column, so that errors found
later (pydantic validation, PromQL in a rule) can point at ``file:line:col``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import yaml

from vigil.errors import ConfigError

Path = tuple[str | int, ...]


@dataclass
class Marks:
    file: str
    positions: dict[Path, tuple[int, int]] = field(default_factory=dict)

    def locate(self, path: Sequence[str | int]) -> tuple[int | None, int | None]:
        """Line and column of ``path``, or of its nearest ancestor that has one."""
        p = tuple(path)
        while p:
            if p in self.positions:
                return self.positions[p]
            p = p[:-1]
        return self.positions.get((), (None, None))

    def error(self, message: str, path: Sequence[str | int] = ()) -> ConfigError:
        line, col = self.locate(path)
        return ConfigError(
            message, file=self.file, line=line, column=col, path=format_path(path) or None
        )


def format_path(path: Sequence[str | int]) -> str:
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


def _construct(node: yaml.Node, path: Path, marks: Marks) -> Any:
    marks.positions[path] = (node.start_mark.line + 1, node.start_mark.column + 1)
    if isinstance(node, yaml.MappingNode):
        out: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                raise marks.error("YAML merge keys (<<) are not supported", path)
            key = yaml.SafeLoader(" ").construct_object(key_node)  # scalar keys only
            if isinstance(key, (dict, list)):
                raise marks.error("mapping keys must be scalars", path)
            key = str(key) if not isinstance(key, (int, str)) else key
            if key in out:
                line = key_node.start_mark.line + 1
                raise ConfigError(
                    f"duplicate key {key!r}", file=marks.file, line=line,
                    column=key_node.start_mark.column + 1, path=format_path(path) or None,
                )
            out[key] = _construct(value_node, (*path, key), marks)
            # Point errors about an entry at its key, where a reader looks first.
            marks.positions[(*path, key)] = (key_node.start_mark.line + 1, key_node.start_mark.column + 1)
        return out
    if isinstance(node, yaml.SequenceNode):
        return [_construct(item, (*path, i), marks) for i, item in enumerate(node.value)]
    loader = yaml.SafeLoader("")
    try:
        return loader.construct_object(node, deep=True)
    finally:
        loader.dispose()


def load_yaml(text: str, file: str) -> tuple[Any, Marks]:
    """Parse one YAML document. Syntax errors become :class:`ConfigError` with a position."""
    marks = Marks(file)
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        col = mark.column + 1 if mark else None
        raise ConfigError(f"invalid YAML: {exc.problem or exc}", file=file, line=line, column=col) from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"invalid YAML: {exc}", file=file) from None
    if node is None:
        return None, marks
    return _construct(node, (), marks), marks


def load_yaml_file(filename: str) -> tuple[Any, Marks]:
    try:
        with open(filename, encoding="utf-8") as fh:
            text = fh.read()
    except OSError as exc:
        raise ConfigError(f"cannot read file: {exc.strerror}", file=filename) from None
    except UnicodeDecodeError:
        raise ConfigError("file is not valid UTF-8", file=filename) from None
    return load_yaml(text, filename)
