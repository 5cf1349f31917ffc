"""Go and Prometheus compatibility: the Go library behaviours whose exact output users, tools
and conformance tests compare against, in one low-level package below every stage (it imports
only ``vigil.errors``). Each module names the Go function it reproduces and the cases where
Vigil's earlier copies disagreed.

* :mod:`~vigil.gocompat.quote` - ``strconv.Quote``/``QuoteRune`` (``%q``) and ``Unquote``,
  including Go's ``\\xHH`` for bytes that are not UTF-8.
* :mod:`~vigil.gocompat.durations` - prometheus/common ``model.ParseDuration`` and
  ``model.Duration.String`` (``90d`` stays ``90d``), and the HTTP API's "float seconds or
  duration" parameters.
* :mod:`~vigil.gocompat.floats` - ``strconv.FormatFloat`` (``'e' 'f' 'g'``, shortest or fixed
  precision), ``%v`` of a float64, Prometheus's sample value spelling, ``encoding/json``'s
  float spelling, ``strconv.ParseFloat``.
* :mod:`~vigil.gocompat.times` - RFC 3339 as ``encoding/json`` (trimmed nanoseconds),
  go-openapi ``strfmt.DateTime`` (milliseconds) and ``time.RFC3339`` write it; ``time.Parse``.
"""
