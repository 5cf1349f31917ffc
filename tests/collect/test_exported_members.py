"""The public surface of vigil.collect is what ``__all__`` says, and all of it exists."""

from __future__ import annotations

import importlib

import vigil.collect

MODULES = ["vigil.collect", "vigil.collect.exposition", "vigil.collect.scrape",
           "vigil.collect.manager", "vigil.collect.local", "vigil.collect.host"]


def test_all_names_exist_and_are_public() -> None:
    for mod_name in MODULES:
        mod = importlib.import_module(mod_name)
        for name in mod.__all__:
            assert hasattr(mod, name), f"{mod_name}.{name}"
            assert not name.startswith("_")
    assert {"Manager", "LocalTarget", "HostCollector", "parse"} <= set(vigil.collect.__all__)
