"""The background loop of the on-call services: one pass about every ``interval_s`` while
this replica is primary (:mod:`vigil.oncall.lifecycle`, :mod:`vigil.oncall.escalation`)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

__all__ = ["run_while_primary"]


async def run_while_primary(one_pass: Callable[[], object], *, interval_s: float,
                            is_primary: Callable[[], bool], log: logging.Logger,
                            failed: str) -> None:
    """Run ``one_pass`` in a thread about every ``interval_s`` while ``is_primary()``. A
    failing pass (the database restarting) is logged once as ``failed: <error>`` and
    retried at the next; nothing is lost meanwhile, as every pass starts again from the
    database."""
    failing = False
    while True:
        await asyncio.sleep(interval_s)
        if not is_primary():
            continue
        try:
            await asyncio.to_thread(one_pass)
        except Exception as exc:
            if not failing:
                log.warning("%s: %s", failed, exc)
            failing = True
        else:
            failing = False
