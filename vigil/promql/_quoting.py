"""PromQL's names for Go quoting; the implementation is :mod:`vigil.gocompat.quote`."""

from __future__ import annotations

from vigil.gocompat.quote import quote as go_quote
from vigil.gocompat.quote import quote_rune as go_quote_rune
from vigil.gocompat.quote import unquote

__all__ = ["go_quote", "go_quote_rune", "unquote"]
