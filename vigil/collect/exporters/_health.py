"""Collector health: turn a failed collection into a page that says so.

:func:`guarded` wraps a collector's ``collect``. When it raises, the wrapper raises
:class:`CollectorError` carrying a page with the collector's own "up" metric at 0 (``pg_up``,
``redis_up``; collectors without one get none), ``vigil_collector_up{collector} 0`` and
``vigil_collector_last_error_info{collector,error} 1``. The scrape loop stores that page, keeps
``up`` at 1 (the collector answered, as an exporter whose server is down does) and shows the
message as the target's last error. An unexpected exception (a bug) is reported the same way,
so one broken collector never stops the others or Vigil.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from vigil.collect.exporters._expfmt import CollectorError, Page

__all__ = ["failure_page", "guarded"]

log = logging.getLogger(__name__)

# Errors can quote long server messages; a label value should stay readable.


def failure_page(name: str, message: str, up_metric: str | None = None) -> str:
    """The exposition page of collector ``name`` that failed with ``message``."""
    page = Page()
    if up_metric:
        page.sample(up_metric, 0, help_text="Whether the last scrape could reach the server")
    page.collector_health(name, [message])
    return page.text()


def guarded(kind: str, name: str, collect: Callable[[], str],
            up_metric: str | None = None) -> Callable[[], str]:
    """``collect``, but failures raise :class:`CollectorError` with a :func:`failure_page`."""

    last_bug = ""

    def run() -> str:
        nonlocal last_bug
        try:
            page = collect()
        except CollectorError as e:
            if e.page is not None:
                raise
            message = str(e)
        except Exception as e:  # a bug in one collector must not look like a dead target
            message = f"{kind} {name}: {type(e).__name__}: {e}"
            if message != last_bug:  # the traceback once, not every scrape
                log.exception("%s collector %r failed unexpectedly", kind, name)
            last_bug = message
        else:
            last_bug = ""
            return page
        raise CollectorError(message, page=failure_page(name, message, up_metric))

    return run
