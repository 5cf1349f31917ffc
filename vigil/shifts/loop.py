"""The shifts' loop on the primary: opens the current shift when it begins (carrying the
previous shift's open items) and runs its automatic checks once per shift.

"Once" holds across replicas and restarts: the run is claimed in the database under
``shift-checks:<shift id>`` before it starts and marked done after its results are recorded
(:meth:`~vigil.state.coordination.CoordinationStore.run_once_claim`), so a second replica, or
this one after a restart, finds the claim and does nothing; a claimer that died mid-run is
taken over. People can re-run the checks on demand (API, page, CLI) at any time.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, Protocol

from vigil.oncall.primary_loop import run_while_primary
from vigil.shifts.service import ShiftRecord, ShiftService

__all__ = ["CHECK_INTERVAL_S", "ShiftLoop", "claim_key"]

log = logging.getLogger(__name__)
CHECK_INTERVAL_S = 30.0


class RunOnce(Protocol):
    def run_once_claim(self, key: str, member_id: str, *, member_timeout_s: float,
                       detail: dict[str, Any] | None = None) -> bool: ...

    def run_once_done(self, key: str, member_id: str, detail: dict[str, Any] | None = None) -> bool: ...


def claim_key(shift_id: str) -> str:
    return f"shift-checks:{shift_id}"


class ShiftLoop:
    def __init__(self, service: ShiftService, claims: RunOnce, *, member_id: str,
                 member_timeout_s: Callable[[], float], is_primary: Callable[[], bool],
                 interval_s: float = CHECK_INTERVAL_S) -> None:
        self.service = service
        self.claims = claims
        self.member_id = member_id
        self.member_timeout_s = member_timeout_s
        self.is_primary = is_primary
        self.interval_s = interval_s

    def pass_once(self) -> ShiftRecord | None:
        """Open the current shift; run its checks if nobody has. Returns the shift when this
        pass ran its checks."""
        config = self.service.config()
        shift, _ = self.service.current()
        if not config.run_checks or not any(i.kind == "check" for i in shift.items):
            return None
        key = claim_key(shift.id)
        if not self.claims.run_once_claim(key, self.member_id, member_timeout_s=self.member_timeout_s(),
                                          detail={"shift": shift.id}):
            return None
        record = self.service.run_checks(shift.id)
        self.claims.run_once_done(key, self.member_id, {
            "shift": shift.id, "checked": sum(1 for i in record.items if i.kind == "check"),
            "ok": sum(1 for i in record.items if i.status == "ok")})
        log.info("shift %s: automatic checks run", shift.id)
        return record

    async def run(self) -> None:
        await run_while_primary(self.pass_once, interval_s=self.interval_s, is_primary=self.is_primary,
                                log=log, failed="shift checks failed")
