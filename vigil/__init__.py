"""Vigil: a self-contained monitoring, alerting and incident-response platform.

The package is a one-way pipeline, each stage a subpackage with a narrow interface:

    collect -> tsdb (behind storage) -> promql -> rules -> alerting -> web

`vigil.app` assembles the stages from one validated configuration.
"""

import sys as _sys
import types as _types

__version__ = "0.1.0"
__all__ = ["__version__"]


def _httpx_cli(*args: object, **kwargs: object) -> object:
    """httpx's command-line tool, imported when called (never, inside Vigil)."""
    del _sys.modules["httpx._main"]
    from httpx._main import main

    return main(*args, **kwargs)


# ``import httpx`` imports its command-line tool, and with it rich and pygments (~70 modules,
# ~3 MB of every Vigil process) that Vigil never uses; a stand-in defers that to a call.
if "httpx" not in _sys.modules:
    _sys.modules["httpx._main"] = _types.ModuleType("httpx._main")
    _sys.modules["httpx._main"].main = _httpx_cli  # type: ignore[attr-defined]
