"""The shape of the house (docs/architecture.md): data flows one way between stages, every
package says what it is, and each module's ``__all__`` names only what exists."""

from __future__ import annotations

import ast
import importlib
import pkgutil
from pathlib import Path

import pytest

import vigil

ROOT = Path(vigil.__file__).parent

BASE = {"errors", "model", "gocompat"}
# Which stages each stage may import. Later stages see earlier ones; never the reverse.
ALLOWED: dict[str, set[str]] = {
    "errors": set(), "gocompat": {"errors"}, "model": {"errors"}, "storage": BASE,
    "selfmetrics": set(),
    "config": BASE,
    "tsdb": BASE | {"storage", "selfmetrics"},
    "collect": BASE | {"storage", "config", "selfmetrics"},
    "remote": BASE | {"storage", "config"},
    "promql": BASE | {"storage"},
    # Prometheus's PromQL test scripts run against the engine over a real TSDB.
    "promqltest": BASE | {"storage", "tsdb", "promql"},
    # The state store sits below the stages it serves (rules, alerting, later on-call).
    "state": BASE | {"config"},
    # promqltest: the test scripts' series notation, for the rule unit tests.
    "rules": BASE | {"storage", "config", "promql", "promqltest", "state", "selfmetrics"},
    "alerting": BASE | {"config", "rules", "state", "selfmetrics"},
    "demo": BASE | {"collect", "config", "rules"},
    "web": BASE | {"storage", "config", "collect", "remote", "promql", "rules", "state",
                   "alerting", "selfmetrics"},
}


def _stage(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def _imports(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
    return {m for m in found if m.startswith("vigil.")}


def test_stages_import_only_earlier_stages():
    violations = []
    for path in ROOT.rglob("*.py"):
        stage = path.relative_to(ROOT).parts[0].removesuffix(".py")
        if stage not in ALLOWED:
            continue  # app, cli and __main__ assemble everything
        for module in _imports(path):
            other = _stage(module)
            if other and other != stage and other not in ALLOWED[stage]:
                violations.append(f"{path.relative_to(ROOT.parent)} imports {module}")
    assert violations == []


def test_every_stage_is_listed():
    stages = {p.name.removesuffix(".py") for p in ROOT.iterdir()
              if (p.is_dir() and (p / "__init__.py").exists()) or p.suffix == ".py"}
    assert stages - set(ALLOWED) == {"__init__", "__main__", "app", "cli"}


MODULES = sorted(m.name for m in pkgutil.walk_packages(vigil.__path__, "vigil.")
                 if "migrations" not in m.name and not m.name.endswith("__main__"))


@pytest.mark.parametrize("name", MODULES)
def test_all_names_exist_and_are_public(name):
    module = importlib.import_module(name)
    for attr in getattr(module, "__all__", ()):
        assert hasattr(module, attr), f"{name}.__all__ names missing {attr}"
        assert not attr.startswith("_"), f"{name}.__all__ exports private {attr}"


@pytest.mark.parametrize("name", [m for m in MODULES
                                  if (ROOT.parent / m.replace(".", "/") / "__init__.py").exists()])
def test_every_package_says_what_it_is(name):
    assert (importlib.import_module(name).__doc__ or "").strip(), f"{name} has no docstring"
