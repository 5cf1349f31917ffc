"""Vigil: a self-contained monitoring, alerting and incident-response platform.

The package is a one-way pipeline, each stage a subpackage with a narrow interface:

    collect -> tsdb (behind storage) -> promql -> rules -> alerting -> web

`vigil.app` assembles the stages from one validated configuration.
"""

__version__ = "0.1.0"
__all__ = ["__version__"]
