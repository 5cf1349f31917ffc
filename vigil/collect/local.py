"""Built-in collectors that produce exposition text in-process (Vigil's own metrics, the host).

A :class:`LocalTarget` is scraped by the :class:`~vigil.collect.manager.Manager` exactly like
an HTTP target — same ``up``/``scrape_*`` series, staleness and target status — except that
the "request" is a call to ``collect`` in a worker thread, and its ``scrape_url`` is
``local://<job>/<instance>``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from vigil.collect.exposition import TEXT_CONTENT_TYPE
from vigil.collect.scrape import ScrapeError

__all__ = ["LocalScraper", "LocalTarget"]


@dataclass(frozen=True)
class LocalTarget:
    """A collector run in-process.

    ``collect`` returns Prometheus text format 0.0.4 (or OpenMetrics if ``content_type``
    says so). It is called from a worker thread, one call at a time per target, and may
    block briefly (reading ``/proc``). ``interval_s`` defaults to the global scrape interval.
    """

    job: str
    instance: str
    collect: Callable[[], bytes | str]
    interval_s: float | None = None
    labels: Mapping[str, str] = field(default_factory=dict)
    content_type: str = f"{TEXT_CONTENT_TYPE}; version=0.0.4"

    @property
    def scrape_url(self) -> str:
        # The manager keys targets by URL: two collectors of one kind must not collide.
        return f"local://{self.job}/{self.instance}"


class LocalScraper:
    """Scrapes a :class:`LocalTarget` by calling its collector in a thread."""

    def __init__(self, target: LocalTarget) -> None:
        self._target = target

    async def scrape(self, timeout_s: float) -> tuple[bytes, str | None]:
        try:
            async with asyncio.timeout(timeout_s):
                body = await asyncio.to_thread(self._target.collect)
        except TimeoutError:
            raise ScrapeError(f"local collector {self._target.job!r}: "
                              "context deadline exceeded") from None
        except Exception as e:  # a broken collector must not stop the scrape loop
            raise ScrapeError(f"local collector {self._target.job!r} failed: "
                              f"{type(e).__name__}: {e}") from e
        if isinstance(body, str):
            body = body.encode("utf-8")
        return body, self._target.content_type

    async def close(self) -> None:
        return None
