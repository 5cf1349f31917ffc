"""The web layer: the Prometheus HTTP API, the UI and the lifecycle endpoints.

``vigil/app.py`` builds a :class:`WebDeps` and calls :func:`create_app`; nothing here imports
the engine, the TSDB, the scrape manager or the rule manager, only the protocols in
:mod:`vigil.web.deps` and the shared value types. HTTP errors live only in this package.
"""

from vigil.web.app import create_app
from vigil.web.deps import QueryEngine, RulesRetriever, SeriesReader, TargetRetriever, WebDeps

__all__ = ["QueryEngine", "RulesRetriever", "SeriesReader", "TargetRetriever", "WebDeps",
           "create_app"]
