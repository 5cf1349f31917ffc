"""The public surface of vigil.rules is what ``__all__`` says."""

from __future__ import annotations

import vigil.rules


def test_all_names_exist_and_are_documented() -> None:
    for name in vigil.rules.__all__:
        obj = getattr(vigil.rules, name)
        assert obj is not None, name
        if callable(obj) and not name.endswith("Func"):
            assert obj.__doc__, f"{name} has no docstring"


def test_nothing_public_is_left_out() -> None:
    public = {n for n in dir(vigil.rules) if not n.startswith("_") and n[0].isupper()}
    assert public - set(vigil.rules.__all__) == set()
