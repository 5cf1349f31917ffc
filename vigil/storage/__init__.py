"""The seam between the stages that write samples and those that read them.

Collectors and the rule engine write through an :class:`Appender`; the query engine reads
through a :class:`Querier`. ``vigil.tsdb`` implements :class:`Storage`; nothing above this
package imports ``vigil.tsdb`` directly. :mod:`vigil.storage.framing` holds the framed-record
files both write-ahead logs (the TSDB's and the log store's) keep.
"""

from vigil.storage.interface import (
    STALE_NAN,
    Appender,
    Querier,
    Series,
    SeriesSet,
    Storage,
    is_stale,
)

__all__ = ["STALE_NAN", "Appender", "Querier", "Series", "SeriesSet", "Storage", "is_stale"]
