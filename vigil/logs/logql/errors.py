"""LogQL's errors, worded as Loki words them so Grafana and logcli users see the same text."""

from __future__ import annotations

from vigil import errors

__all__ = ["ParseError", "QueryError"]


class ParseError(errors.ParseError):
    """``parse error at line L, col C: MSG``; line and column 0 when the error is about the
    query as a whole (a validation after parsing), printed then as ``parse error : MSG``."""

    def __init__(self, message: str, line: int = 0, col: int = 0) -> None:
        super().__init__(message, line=line, column=col)

    def __str__(self) -> str:
        if not self.line and not self.column:
            return f"parse error : {self.message}"
        return f"parse error at line {self.line}, col {self.column}: {self.message}"


class QueryError(errors.QueryError):
    """A query that parsed but failed while it ran (a pipeline error on a metric query)."""
