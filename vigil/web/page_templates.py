"""The Jinja environment the web UI's pages render with: Vigil's templates, HTML escaped,
block tags trimmed, an undefined name an error (not an empty string), ``version`` known to
every template (the footer shows it). A page module adds its own filters to the one it gets.
"""

from __future__ import annotations

import jinja2

__all__ = ["page_environment"]


def page_environment(version: str) -> jinja2.Environment:
    """A new environment over ``vigil/web/templates`` for a Vigil of ``version``."""
    env = jinja2.Environment(loader=jinja2.PackageLoader("vigil.web", "templates"),
                             autoescape=jinja2.select_autoescape(["html"]), trim_blocks=True,
                             lstrip_blocks=True, undefined=jinja2.StrictUndefined)
    env.globals["version"] = version
    return env
