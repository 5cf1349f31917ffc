"""Runs Prometheus's PromQL test scripts (``load`` / ``eval`` / ``clear``) against Vigil.

Two runners share the script reader (:mod:`.script`, with the series notation of
:mod:`vigil.promql.parser.series_notation`), the case
classification (:mod:`.classify`), the per-case checks (:mod:`.cases`) and the comparison
(:mod:`.compare`): :mod:`.runner` runs the engine in-process over a real TSDB in a
temporary directory; :mod:`.http` is a black box that loads each data state with
``vigil tsdb import`` and asks a ``vigil up`` server through ``/api/v1/query[_range]``.
Every eval has an identity ``file.test:LINE`` and one outcome: ``pass``, ``fail`` or
``unsupported: <reason>`` (:mod:`.report`). Command line: ``python -m vigil.promqltest``.
"""
