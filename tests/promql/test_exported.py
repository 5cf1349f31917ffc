"""The public surface of vigil.promql: every name in __all__ exists and is documented."""

from __future__ import annotations

import importlib

import pytest

MODULES = ["vigil.promql", "vigil.promql.engine", "vigil.promql.parser", "vigil.promqltest.runner",
           "vigil.promql.parser.series_notation"]


@pytest.mark.parametrize("name", MODULES)
def test_all_names_exist_and_have_docstrings(name: str) -> None:
    mod = importlib.import_module(name)
    assert mod.__doc__
    for attr in mod.__all__:
        obj = getattr(mod, attr)
        if callable(obj):
            assert obj.__doc__, f"{name}.{attr} has no docstring"


def test_package_exports() -> None:
    import vigil.promql as promql

    assert set(promql.__all__) == {"Engine", "parse_expr"}
