"""The exceptions Vigil raises, all rooted at :class:`VigilError`.

    VigilError
    ├── ConfigError        bad configuration; carries file, line, column and the config path
    ├── ParseError         bad text in a format Vigil reads (PromQL, exposition, rule files)
    ├── StorageError       the time-series store refused or failed
    │   ├── OutOfOrderSample
    │   ├── DuplicateSampleForTimestamp
    │   └── OutOfBounds
    ├── QueryError         a query failed while evaluating (timeout, too many samples, ...)
    └── NotifyError        a notification could not be delivered; ``recoverable`` says if a
                           retry may succeed
"""

from __future__ import annotations


class VigilError(Exception):
    """Root of every error Vigil raises on purpose."""


class ConfigError(VigilError):
    """A configuration problem, located as ``file:line:col: path: message``."""

    def __init__(
        self,
        message: str,
        *,
        file: str | None = None,
        line: int | None = None,
        column: int | None = None,
        path: str | None = None,
    ) -> None:
        self.message = message
        self.file = file
        self.line = line
        self.column = column
        self.path = path
        super().__init__(str(self))

    def __str__(self) -> str:
        where = ""
        if self.file:
            where = self.file
            if self.line is not None:
                where += f":{self.line}"
                if self.column is not None:
                    where += f":{self.column}"
            where += ": "
        path = f"{self.path}: " if self.path else ""
        return f"{where}{path}{self.message}"


class ParseError(VigilError):
    """Text that does not parse. ``line``/``column`` are 1-based when known."""

    def __init__(self, message: str, *, line: int | None = None, column: int | None = None) -> None:
        self.message = message
        self.line = line
        self.column = column
        super().__init__(message)


class StorageError(VigilError):
    """The store could not do what was asked."""


class OutOfOrderSample(StorageError):
    """A sample older than the newest one of its series, outside the out-of-order window."""


class DuplicateSampleForTimestamp(StorageError):
    """A sample with the timestamp of the newest sample of its series but another value."""


class OutOfBounds(StorageError):
    """A sample too old for the head block to accept."""


class QueryError(VigilError):
    """A query that parsed but could not be evaluated."""


class NotifyError(VigilError):
    """Delivery failed. ``recoverable`` is True when retrying may succeed."""

    def __init__(self, message: str, *, recoverable: bool, retry_after_s: float | None = None) -> None:
        self.recoverable = recoverable
        self.retry_after_s = retry_after_s
        super().__init__(message)
