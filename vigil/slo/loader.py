"""Reading Sloth ``prometheus/v1`` SLO files: one or more YAML documents per file, each
validated into an :class:`~vigil.slo.model.SLOFile`, every problem located as
``file:line:col: path: message`` (a :class:`~vigil.errors.ConfigError`). The SLI queries are
parsed as PromQL (with the window set) and located at the query that fails.

:func:`config_slos` gives the SLOs of the files named in the config's ``slo`` section —
what the ``/slos`` page and the reports use; :func:`config_slo_rule_groups` their generated
rules, which the rule manager evaluates like rule files.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from vigil import __version__
from vigil.config.loader import resolve_path
from vigil.config.located import LocatedValueError
from vigil.config.model import Config
from vigil.config.yamlmarks import Marks, _construct
from vigil.errors import ConfigError, ParseError
from vigil.rules.rulefmt import RuleGroup, load_rule_text, parse_promql
from vigil.slo.generate import GenerateOptions, generate_slo_groups, rules_yaml
from vigil.slo.model import SLOFile
from vigil.slo.windows import WINDOW_PLACEHOLDER

__all__ = ["SHIPPED_DIR", "SLOFileCheck", "check_slo_file", "config_slo_files",
           "config_slo_rule_groups", "config_slos", "load_slo_file", "shipped_slo_files"]

SHIPPED_DIR = Path(__file__).parent / "shipped"


@dataclass
class SLOFileCheck:
    """What reading one file found: its documents, its problems (errors) and its warnings
    (fields Sloth would ignore, e.g. a misspelt ``pageAlert``)."""

    specs: list[SLOFile] = field(default_factory=list)
    marks: list[Marks] = field(default_factory=list)
    problems: list[ConfigError] = field(default_factory=list)
    warnings: list[ConfigError] = field(default_factory=list)


def _message(err: Any) -> str:
    if err.get("type") == "missing":
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
        marks = Marks(filename)  # paths restart at each document's root
        docs.append((_construct(node, (), marks), marks))
    return docs


def _unknown_fields(model: type[BaseModel], data: Any, path: tuple[str | int, ...],
                    marks: Marks) -> list[ConfigError]:
    """Fields the spec does not have, which Sloth (and so Vigil) ignores: warnings."""
    if not isinstance(data, dict):
        return []
    out: list[ConfigError] = []
    for key, value in data.items():
        info = model.model_fields.get(str(key))
        if info is None:
            out.append(marks.error("unknown field, ignored", (*path, key)))
            continue
        sub = info.annotation
        args = getattr(sub, "__args__", ())
        for candidate in (sub, *args):
            if isinstance(candidate, type) and issubclass(candidate, BaseModel):
                out += _unknown_fields(candidate, value, (*path, key), marks)
            elif getattr(candidate, "__origin__", None) is list and isinstance(value, list):
                item = candidate.__args__[0]
                if isinstance(item, type) and issubclass(item, BaseModel):
                    for i, v in enumerate(value):
                        out += _unknown_fields(item, v, (*path, key, i), marks)
    return out


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


def _query_problems(spec: SLOFile, marks: Marks, features: Iterable[str]) -> list[ConfigError]:
    """Each SLI query parsed as PromQL with a window, located at the query."""
    out = []
    for i, slo in enumerate(spec.slos):
        queries = ([("events", "error_query", slo.sli.events.error_query),
                    ("events", "total_query", slo.sli.events.total_query)]
                   if slo.sli.events is not None else
                   [("raw", "error_ratio_query", slo.sli.raw.error_ratio_query)]
                   if slo.sli.raw is not None else [])
        for kind, name, query in queries:
            try:
                parse_promql(WINDOW_PLACEHOLDER.sub("5m", query), features)
            except ParseError as exc:
                out.append(marks.error(f"invalid PromQL: {exc.message}",
                                       ("slos", i, "sli", kind, name)))
    return out


def _read(filename: str) -> str:
    try:
        with open(filename, encoding="utf-8") as fh:
            return fh.read()
    except OSError as exc:
        raise ConfigError(f"cannot read file: {exc.strerror}", file=filename) from None
    except UnicodeDecodeError:
        raise ConfigError("file is not valid UTF-8", file=filename) from None


def check_slo_file(filename: str, text: str | None = None,
                   features: Iterable[str] = ()) -> SLOFileCheck:
    """Every SLO document of a file, every problem and every warning in it (all of them, for
    ``vigil slo validate``), including an SLO id defined twice across the documents."""
    result = SLOFileCheck()
    try:
        docs = _documents(_read(filename) if text is None else text, filename)
    except ConfigError as exc:
        result.problems.append(exc)
        return result
    if not docs:
        result.problems.append(ConfigError("the file has no SLO document", file=filename))
    seen: set[str] = set()
    for data, marks in docs:
        spec, errs = _validate(data, marks)
        result.problems += errs
        result.warnings += _unknown_fields(SLOFile, data, (), marks)
        if spec is None:
            continue
        result.problems += _query_problems(spec, marks, features)
        for i, slo in enumerate(spec.slos):
            if spec.slo_id(slo) in seen:
                result.problems.append(marks.error(
                    f"SLO {spec.slo_id(slo)!r} is defined twice", ("slos", i, "name")))
            seen.add(spec.slo_id(slo))
        result.specs.append(spec)
        result.marks.append(marks)
    return result


def load_slo_file(filename: str, text: str | None = None,
                  features: Iterable[str] = ()) -> list[SLOFile]:
    """The SLO documents of ``filename``; raises the first problem as a ConfigError."""
    result = check_slo_file(filename, text, features)
    if result.problems:
        raise result.problems[0]
    return result.specs


def shipped_slo_files() -> list[str]:
    """Vigil's own SLO files for the runbook's objectives (``slo.shipped: true``)."""
    return sorted(str(p) for p in SHIPPED_DIR.glob("*.yml"))


def config_slo_files(config: Config) -> list[str]:
    """The SLO files the config names (absolute), the shipped ones first when enabled."""
    shipped = shipped_slo_files() if config.slo.shipped else []
    return shipped + [resolve_path(config, f) for f in config.slo.files]


def config_slos(config: Config) -> list[SLOFile]:
    """The SLOs of every file named in the config's ``slo`` section, in order."""
    return [spec for f in config_slo_files(config) for spec in load_slo_file(f)]


def slo_rule_groups(filename: str, specs: Iterable[SLOFile], features: Iterable[str] = (),
                    opts: GenerateOptions | None = None) -> list[RuleGroup]:
    """The generated rules of ``specs`` as rule groups keyed by the SLO file, parsed by the
    rule-file reader (the same checks as any rule file)."""
    opts = opts or GenerateOptions(version=f"vigil-{__version__}", mode="vigil-config")
    groups: list[RuleGroup] = []
    for spec in specs:
        for slo in spec.slos:
            text = rules_yaml(generate_slo_groups(spec, slo, opts))
            groups += load_rule_text(text, filename, features=features)
    return groups


def config_slo_rule_groups(config: Config, features: Iterable[str] = ()) -> list[RuleGroup]:
    """The rules of every SLO the config names, for :class:`vigil.rules.Manager`."""
    features = list(features)
    return [g for f in config_slo_files(config)
            for g in slo_rule_groups(f, load_slo_file(f, features=features), features)]
