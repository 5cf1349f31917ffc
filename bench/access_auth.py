"""Cost of authentication per API request (issue 14), in process.

The same read (``GET /api/v1/status/buildinfo``, a viewer route) is sent ``--requests``
times through the whole ASGI app (gate, routing, handler) with httpx's ASGI transport, no
network, once per way of asking:

- ``no access database``: the gate with no service (security headers and route lookup only);
- ``open local mode``: nobody configured, the implicit local admin;
- ``bearer token``: SHA-256 of the token, one token row and one user row from SQLite;
- ``session cookie``: one session row and one user row;
- ``basic auth (remembered)``: a user row, then the remembered argon2 success;
- ``basic auth (argon2 each time)``: the cache is cleared before every request.

Prints each case's best median over ``--rounds`` rounds (microseconds per request) and the
difference to the first line. The state
database is SQLite in a temporary directory.

Run: ``.venv/bin/python bench/access_auth.py [--requests 2000] [--rounds 3]``
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import dataclasses
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.web.fakes import make_deps  # noqa: E402
from vigil.access import AccessService, Role  # noqa: E402
from vigil.state import Store  # noqa: E402
from vigil.web import create_app  # noqa: E402
from vigil.web.access_gate import SESSION_COOKIE, AccessPolicy  # noqa: E402

PATH = "/api/v1/status/buildinfo"


async def _measure(app, n: int, headers: dict[str, str], before=None) -> float:
    transport = httpx.ASGITransport(app=app)
    times = []
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as client:
        for i in range(n + 50):
            if before is not None:
                before()
            start = time.perf_counter()
            r = await client.get(PATH, headers=headers)
            elapsed = time.perf_counter() - start
            assert r.status_code == 200, r.text
            if i >= 50:  # warm-up
                times.append(elapsed)
    return statistics.median(times) * 1e6


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        store = Store.open_in(tmp)
        service = AccessService(store.access)
        base = make_deps()
        open_store = Store.open_in(tmp + "/open")
        open_service = AccessService(open_store.access)
        service.add_user("ann", Role.ADMIN, actor="bench", password="ann-password")
        token = service.create_token("bench", Role.VIEWER, actor="bench")
        session_id, _ = service.login("ann", "ann-password")
        basic = "Basic " + base64.b64encode(b"ann:ann-password").decode()

        def app(policy):
            return create_app(dataclasses.replace(base, access=policy))

        cases = [
            ("no access database", app(None), {}, None),
            ("open local mode", app(AccessPolicy(open_service)), {}, None),
            ("bearer token", app(AccessPolicy(service)), {"Authorization": f"Bearer {token}"}, None),
            ("session cookie", app(AccessPolicy(service)), {"Cookie": f"{SESSION_COOKIE}={session_id}"}, None),
            ("basic auth (remembered)", app(AccessPolicy(service)), {"Authorization": basic}, None),
            ("basic auth (argon2 each time)", app(AccessPolicy(service)), {"Authorization": basic},
             service._basic_ok.clear),
        ]
        # Rounds over all cases, keeping each case's best median: the machine is shared,
        # and a slow moment should not be charged to one way of authenticating.
        best: dict[str, float] = {}
        for _ in range(args.rounds):
            for name, application, headers, before in cases:
                n = args.requests if before is None else max(20, args.requests // 50)
                median = asyncio.run(_measure(application, n, headers, before))
                best[name] = min(best.get(name, median), median)
        baseline = best[cases[0][0]]
        print(f"{'case':32} {'median µs/request':>18} {'over baseline':>14}")
        for name, *_ in cases:
            print(f"{name:32} {best[name]:18.0f} {best[name] - baseline:14.0f}")
        store.close()
        open_store.close()


if __name__ == "__main__":
    main()
