"""The shape of the house (docs/architecture.md): data flows one way between stages, no
module imports itself through a circle of others, every package says what it is, and each
module's ``__all__`` names only what exists."""

from __future__ import annotations

import ast
import importlib
import pkgutil
from collections import deque
from pathlib import Path

import pytest

import vigil

ROOT = Path(vigil.__file__).parent

# compiled: numba's njit as every kernel uses it (imported lazily by kernel modules only).
BASE = {"errors", "model", "gocompat", "compiled"}
# Which stages each stage may import. Later stages see earlier ones; never the reverse.
ALLOWED: dict[str, set[str]] = {
    "errors": set(), "compiled": set(), "gocompat": {"errors"}, "model": {"errors"},
    "storage": BASE,
    "selfmetrics": set(),
    "config": BASE,
    "tsdb": BASE | {"storage", "selfmetrics"},
    "collect": BASE | {"storage", "config", "selfmetrics"},
    # The remote query engine (storage.remote) answers with PromQL's value types.
    "remote": BASE | {"storage", "config", "promql"},
    "promql": BASE | {"storage"},
    # Prometheus's PromQL test scripts run against the engine over a real TSDB.
    "promqltest": BASE | {"storage", "tsdb", "promql"},
    # The state store sits below the stages it serves (rules, alerting, later on-call).
    "state": BASE | {"config"},
    # People and access (issue 14): below every stage that checks who is asking.
    "access": BASE | {"config", "state"},
    # Replicas (issue 15): membership and leases in the state database, below the stages
    # that ask "am I the primary?" (they get a callable, not the package).
    "cluster": BASE | {"config", "state"},
    # On call (issue 16): alert lifecycle, priorities, schedules; reads alerting's views.
    "oncall": BASE | {"config", "state", "access", "alerting"},
    # Incidents build on on-call (episodes, pages) and read PromQL results only through a
    # query callable handed in by the assembly.
    "incidents": BASE | {"config", "state", "access", "alerting", "oncall"},
    # Dashboards as code: the Perses model, Grafana import, lint (parses PromQL).
    "dashboards": BASE | {"config", "promql"},
    # SLOs as code (issue 19): Sloth's format in, recording and alerting rule groups out.
    "slo": BASE | {"config", "promql", "rules"},
    # Objectives (issue 19): MTTA/MTTR/false positives from on-call and incident records,
    # availability and error budgets through PromQL.
    "objectives": BASE | {"config", "state", "promql", "oncall", "incidents", "slo"},
    # Shift checklists (issue 19): items Vigil verifies from on-call, incidents and PromQL.
    "shifts": BASE | {"config", "state", "access", "promql", "oncall", "incidents"},
    # Reports (issue 19) read everything before them; delivered by e-mail through alerting's
    # SMTP settings.
    "reports": BASE | {"config", "state", "promql", "alerting", "oncall", "incidents",
                       "objectives", "slo", "shifts"},
    # Logs (issue 20): ingest, the log store and LogQL; metric queries answer with PromQL's
    # value types.
    "logs": BASE | {"config", "storage", "selfmetrics", "promql"},
    "rules": BASE | {"storage", "config", "promql", "state", "selfmetrics"},
    "alerting": BASE | {"config", "rules", "state", "selfmetrics"},
    "demo": BASE | {"collect", "config", "rules"},
    "web": BASE | {"storage", "config", "collect", "remote", "promql", "rules", "state",
                   "alerting", "selfmetrics", "access", "oncall", "incidents",
                   "dashboards", "slo", "objectives", "shifts", "reports", "logs"},
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


def _module_name(path: Path, root: Path) -> str:
    parts = path.relative_to(root.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _runtime_imports(tree: ast.AST) -> list[ast.Import | ast.ImportFrom]:
    """Every import that can run: at module level, in functions and classes, in ``try`` and
    ``else`` branches; not the body of ``if TYPE_CHECKING:`` (only type checkers read it)."""
    found: list[ast.Import | ast.ImportFrom] = []
    todo: list[ast.AST] = [tree]
    while todo:
        node = todo.pop()
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            found.append(node)
        elif isinstance(node, ast.If) and _is_type_checking(node.test):
            todo.extend(node.orelse)
        else:
            todo.extend(ast.iter_child_nodes(node))
    return found


def import_graph(root: Path = ROOT) -> dict[str, set[str]]:
    """Module -> the vigil modules it imports at run time. ``from pkg import name`` points
    at ``pkg.name`` when that is a module, else at ``pkg``."""
    paths = {_module_name(p, root): p for p in root.rglob("*.py")}
    graph: dict[str, set[str]] = {}
    for name, path in paths.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        edges: set[str] = set()
        for node in _runtime_imports(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                edges.update(a.name for a in node.names if a.name in paths)
                continue
            base = node.module or ""
            if node.level:  # relative: from . import x, from ..y import z
                anchor = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                base = ".".join([*anchor, *([node.module] if node.module else [])])
            for alias in node.names:
                target = f"{base}.{alias.name}"
                if target in paths:
                    edges.add(target)
                elif base in paths:
                    edges.add(base)
        edges.discard(name)
        graph[name] = edges
    return graph


def import_circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The circles (``[a, b, ..., a]``, starting at their smallest module) among modules
    that import each other: for every module in such a group, the shortest circle through it."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[set[str]] = []
    for start in sorted(graph):
        if start in index:
            continue
        # Tarjan's algorithm, iteratively: (node, its remaining successors).
        work = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, successors = work[-1]
            advanced = False
            for succ in successors:
                if succ not in index:
                    index[succ] = low[succ] = len(index)
                    stack.append(succ)
                    on_stack.add(succ)
                    work.append((succ, iter(sorted(graph[succ]))))
                    advanced = True
                    break
                if succ in on_stack:
                    low[node] = min(low[node], index[succ])
            if advanced:
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                group = set()
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    group.add(member)
                    if member == node:
                        break
                if len(group) > 1:
                    groups.append(group)
    circles = set()
    for group in groups:
        for module in group:
            circle = _shortest_circle(graph, group, module)[:-1]
            turn = circle.index(min(circle))
            circles.add((*circle[turn:], *circle[:turn], min(circle)))
    return sorted(list(c) for c in circles)


def _shortest_circle(graph: dict[str, set[str]], group: set[str], first: str) -> list[str]:
    came_from: dict[str, str] = {}
    queue = deque([first])
    while queue:
        node = queue.popleft()
        for succ in sorted(graph[node] & group):
            if succ == first:
                path = [node]
                while path[-1] != first:
                    path.append(came_from[path[-1]])
                return [first, *reversed(path[:-1]), first]
            if succ not in came_from:
                came_from[succ] = node
                queue.append(succ)
    raise AssertionError(f"no circle through {first}")  # a strongly connected group has one


def test_no_import_circles():
    circles = import_circles(import_graph())
    for circle in circles:
        print("import circle:", " -> ".join(circle))
    assert circles == [], "import circles:\n" + "\n".join(" -> ".join(c) for c in circles)


def test_circle_finder_sees_a_circle_through_a_function_level_import():
    graph: dict[str, set[str]] = {"a": {"b", "d"}, "b": {"c"}, "c": {"a"}, "d": set()}
    assert import_circles(graph) == [["a", "b", "c", "a"]]
    tree = ast.parse("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import x\n"
                     "else:\n    import y\ndef f():\n    import z\n")
    imported = sorted(a.module or "" if isinstance(a, ast.ImportFrom) else a.names[0].name
                      for a in _runtime_imports(tree))
    assert imported == ["typing", "y", "z"]


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
