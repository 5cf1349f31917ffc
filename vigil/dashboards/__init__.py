"""Dashboards as code (issue 18): the Perses dashboard model, variable interpolation, lint,
and the folders dashboards are read from and saved to.

A dashboard is a Perses ``kind: Dashboard`` document (YAML or JSON): panels keyed by name,
grid layouts placing them by ``$ref``, variables, a default ``duration`` and
``refreshInterval``. :mod:`.model` holds the pydantic models (with Vigil's extra panel kinds
StatusGrid, AlertList and Heatmap), :mod:`.interpolate` the one implementation of ``$var``,
``${var:format}`` and the ``$__interval`` family, :mod:`.lint` the offline checks used by
``vigil dashboards lint``, the API and the shipped-dashboards test, and :mod:`.store` the
files on disk. The package reads PromQL only through :mod:`vigil.promql`'s parser; it never
queries: the web layer resolves variables against the TSDB and hands the values in.
"""
