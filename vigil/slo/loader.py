"""Reading Sloth ``prometheus/v1`` SLO files: one or more YAML documents per file, each
validated into an :class:`~vigil.slo.model.SLOFile`, every problem located as
``file:line:col: path: message`` (a :class:`~vigil.errors.ConfigError`).

:func:`config_slos` gives the SLOs of the files named in the config's ``slo.files`` (relative
to the config file) — what the rule manager, the ``/slos`` page and the reports use.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from vigil.config.loader import resolve_path
from vigil.config.located import LocatedValueError
from vigil.config.model import Config
from vigil.config.yamlmarks import Marks, _construct
from vigil.errors import ConfigError
from vigil.slo.model import SLOFile

__all__ = ["config_slo_files", "config_slos", "load_slo_file", "shipped_slo_files",
           "slo_file_problems"]


def _message(err: Any) -> str:
    kind = err.get("type", "")
    if kind == "extra_forbidden":
        return "unknown field"
    if kind == "missing":
        return "required field is missing"
    return str(err.get("msg", "invalid value")).removeprefix("Value error, ")


def _documents(text: str, filename: str) -> list[tuple[Any, Marks]]:
    try:
        nodes = list(yaml.compose_all(text, Loader=yaml.SafeLoader))
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        raise ConfigError(f"invalid YAML: {exc.problem or exc}", file=filename,
                          line=mark.line + 1 if mark else None,
                          column=mark.column + 1 if mark else None) from None
    docs = []
    for node in nodes:
        if node is None:
            continue
        marks = Marks(filename)
        # Each document gets its own marks (paths restart at the document's root).
        docs.append((_construct(node, (), marks), marks))
    return docs


def _validate(data: Any, marks: Marks) -> tuple[SLOFile | None, list[ConfigError]]:
    if not isinstance(data, dict):
        return None, [marks.error("an SLO document must be a mapping (version, service, slos)")]
    try:
        return SLOFile.model_validate(data), []
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            path: tuple[str | int, ...] = tuple(
                p for p in err["loc"] if not (isinstance(p, str) and p.startswith("function-")))
            cause = err.get("ctx", {}).get("error")
            if isinstance(cause, LocatedValueError):
                path = (*path, *cause.path)
            problems.append(marks.error(_message(err), path))
        return None, problems


def _read(filename: str) -> str:
    try:
        with open(filename, encoding="utf-8") as fh:
            return fh.read()
    except OSError as exc:
        raise ConfigError(f"cannot read file: {exc.strerror}", file=filename) from None
    except UnicodeDecodeError:
        raise ConfigError("file is not valid UTF-8", file=filename) from None


def slo_file_problems(filename: str, text: str | None = None) -> tuple[list[SLOFile], list[ConfigError]]:
    """Every SLO document of a file and every problem found in it (all of them, for
    ``vigil slo validate``), including SLO ids used twice across the file's documents."""
    text = _read(filename) if text is None else text
    try:
        docs = _documents(text, filename)
    except ConfigError as exc:
        return [], [exc]
    if not docs:
        return [], [ConfigError("the file has no SLO document", file=filename)]
    specs: list[SLOFile] = []
    problems: list[ConfigError] = []
    seen: set[str] = set()
    for data, marks in docs:
        spec, errs = _validate(data, marks)
        problems += errs
        if spec is None:
            continue
        for i, slo in enumerate(spec.slos):
            if spec.slo_id(slo) in seen:
                problems.append(marks.error(f"SLO {spec.slo_id(slo)!r} is defined twice",
                                            ("slos", i, "name")))
            seen.add(spec.slo_id(slo))
        specs.append(spec)
    return specs, problems


def load_slo_file(filename: str, text: str | None = None) -> list[SLOFile]:
    """The SLO documents of ``filename``; raises the first problem as a ConfigError."""
    specs, problems = slo_file_problems(filename, text)
    if problems:
        raise problems[0]
    return specs


SHIPPED_DIR = Path(__file__).parent / "shipped"


def shipped_slo_files() -> list[str]:
    """Vigil's own SLO files for the runbook's objectives (``slo.shipped: true``)."""
    return sorted(str(p) for p in SHIPPED_DIR.glob("*.yml"))


def config_slo_files(config: Config) -> list[str]:
    """The SLO files the config names (absolute), the shipped ones first when enabled."""
    shipped = shipped_slo_files() if config.slo.shipped else []
    return shipped + [resolve_path(config, f) for f in config.slo.files]


def config_slos(config: Config) -> list[SLOFile]:
    """The SLOs of every file named in the config's ``slo.files``, in order."""
    return [spec for f in config_slo_files(config) for spec in load_slo_file(f)]
