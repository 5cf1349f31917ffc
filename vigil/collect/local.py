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
from vigil.collect.scrape import PartialScrapeError, ScrapeError
from vigil.errors import VigilError

__all__ = ["CollectorError", "LocalScraper", "LocalTarget"]


class CollectorError(VigilError):
    """A collector could not collect (server down, wrong password, path missing).

    Raised out of ``collect()``. Without ``page`` the target is recorded as down (``up`` 0)
    with this message as its last error. With ``page`` (exposition text saying e.g.
    ``pg_up 0`` and ``vigil_collector_up 0``) the page is stored, ``up`` stays 1 — the
    collector itself answered, as an exporter whose backend is down does — and the message
    is still the target's last error on the targets page.
    """

    def __init__(self, message: str, *, page: str | None = None) -> None:
        super().__init__(message)
        self.page = page


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
    honor_labels: bool = False  # the exposed labels win over job/instance (the push endpoint)

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
        except CollectorError as e:
            if e.page is None:
                raise ScrapeError(str(e)) from None
            raise PartialScrapeError(str(e), e.page.encode("utf-8"),
                                     self._target.content_type) from None
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
