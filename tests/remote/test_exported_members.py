"""vigil.remote's public surface is its ``__all__``, and it reaches the store only through
``vigil.storage`` (never ``vigil.tsdb`` or a stage above)."""

from __future__ import annotations

import ast
import importlib
import pathlib

import vigil.remote

MODULES = ["vigil.remote", "vigil.remote.codec", "vigil.remote.receiver", "vigil.remote.queue",
           "vigil.remote.relabel", "vigil.remote._fastdecode"]


def test_all_names_exist_and_are_public() -> None:
    for mod_name in MODULES:
        mod = importlib.import_module(mod_name)
        for name in mod.__all__:
            assert hasattr(mod, name), f"{mod_name}.{name}"
            assert not name.startswith("_")
    assert {"Receiver", "QueueManager", "RemoteWriteError", "encode_write_request"} <= set(
        vigil.remote.__all__)


def test_remote_imports_only_lower_layers() -> None:
    allowed = ("vigil.remote", "vigil.storage", "vigil.model", "vigil.errors", "vigil.config")
    for py in pathlib.Path(vigil.remote.__file__).parent.glob("*.py"):
        for node in ast.walk(ast.parse(py.read_text())):
            names = [node.module] if isinstance(node, ast.ImportFrom) and node.module else \
                [a.name for a in node.names] if isinstance(node, ast.Import) else []
            for name in names:
                if name.startswith("vigil"):
                    assert name.startswith(allowed), f"{py.name} imports {name}"
