"""Go and Prometheus compatibility: the few Go library behaviours whose exact output users and
tools compare against, in one place below every stage (it imports only ``vigil.errors``).

* :mod:`~vigil.gocompat.quote` - ``strconv.Quote``/``QuoteRune`` (``%q``) and ``Unquote``,
  including Go's ``\\xHH`` for bytes that are not UTF-8.
"""
