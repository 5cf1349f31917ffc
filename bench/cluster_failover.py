"""Failover time of a 2-replica Vigil cluster on PostgreSQL (and, for scale, of a 2-node
Alertmanager 0.25 cluster): ``kill -9`` the node that would notify, while a group waits.

Each round POSTs one new group (one alert) to both nodes, kills the primary (Vigil: the one
``/api/vigil/v1/cluster`` names, the first replica when there is no such API; Alertmanager:
gossip position 0) ``--kill-after`` seconds later, before the group is due, and waits for
the notification. Reported per system, over ``--rounds`` rounds: how late the notification
came (arrival - when it was due), the time from the kill to the notification, for Vigil the
time until the survivor's cluster API calls it primary, and duplicates. After each round the
killed node is started again, so the next round kills the other one.

Run: ``.venv/bin/python bench/cluster_failover.py [--quick] [--rounds 5]
[--member-timeout 5s] [--heartbeat-interval 1s]``
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from typing import Any

from cluster_common import (
    CountingReceiver,
    Node,
    Postgres,
    alert,
    alertmanager_first_sender,
    duplicates_cell,
    eventually,
    post_to_all,
    print_table,
    route_yaml,
    start_alertmanagers,
    start_vigil,
    stop_all,
    vigil_primary,
    vigil_role,
    workdir,
    write_results,
)
from cluster_common import _am_cluster as am_cluster

GROUP_WAIT_S = 2.0


def rounds(system: str, nodes: list[Node], receiver: CountingReceiver, count: int,
           kill_after: float, pick: Callable[[list[Node]], Node],
           rejoined: Callable[[list[Node]], bool]) -> dict[str, Any]:
    late, to_delivery, to_primary, names = [], [], [], []
    for r in range(count):
        name = f"{system[:2]}Failover{r}"
        names.append(name)
        victim = pick(nodes)
        started = time.monotonic()
        post_to_all([n.url for n in nodes], [alert(name)], clients=1)
        due = started + GROUP_WAIT_S
        time.sleep(max(0.0, started + kill_after - time.monotonic()))
        victim.kill()
        killed = time.monotonic()
        survivor = next(n for n in nodes if n is not victim)
        primary_at = None
        while time.monotonic() < killed + 60:
            if primary_at is None and system == "Vigil" and vigil_role(survivor) == "primary":
                primary_at = time.monotonic()
            if receiver.first_arrival(name) is not None and (primary_at or system != "Vigil"
                                                             or vigil_role(survivor) is None):
                break
            time.sleep(0.05)
        arrived = receiver.first_arrival(name)
        if arrived is not None:
            late.append(arrived - due)
            to_delivery.append(arrived - killed)
        if primary_at is not None:
            to_primary.append(primary_at - killed)
        nodes[nodes.index(victim)] = victim.restart()  # type: ignore[misc]
        eventually(lambda: rejoined(nodes), timeout=90, interval=0.5, what="rejoined")
    receiver.wait_quiet(quiet_s=20 if system == "Alertmanager" else 6, timeout=60)

    def stats(xs: list[float]) -> dict[str, float | None]:
        return {"median": statistics.median(xs) if xs else None, "max": max(xs) if xs else None}

    return {"system": system, "rounds": count, "delivered": len(late),
            "late_s": stats(late), "kill_to_delivery_s": stats(to_delivery),
            "kill_to_primary_s": stats(to_primary), **receiver.tally(names)}


def _vigil_pick(nodes: list[Node]) -> Node:
    return vigil_primary(nodes)[0]


def _vigil_rejoined(nodes: list[Node]) -> bool:
    roles = [vigil_role(n) for n in nodes]
    return all(r is None for r in roles) or sorted(map(str, roles)).count("primary") == 1


def _am_rejoined(nodes: list[Node]) -> bool:
    return all(am_cluster(n)["status"] == "ready" and len(am_cluster(n)["peers"]) == 2
               for n in nodes)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="2 rounds: a smoke run")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--kill-after", type=float, default=0.5,
                        help="seconds after the POST (group_wait is 2 s)")
    parser.add_argument("--member-timeout", default="5s", help="Vigil's cluster.member_timeout")
    parser.add_argument("--heartbeat-interval", default="1s",
                        help="Vigil's cluster.heartbeat_interval")
    parser.add_argument("--only", choices=["vigil", "alertmanager"])
    args = parser.parse_args()
    if args.quick:
        args.rounds = 2
    results = []
    with workdir("vigil-bench-failover-") as work, CountingReceiver() as receiver:
        am_yaml = route_yaml(receiver.url, group_wait=GROUP_WAIT_S)
        if args.only != "alertmanager":
            with Postgres() as pg:
                url = pg.database("vigil_failover")
                nodes: list[Node] = []
                try:
                    for replica in ("vigil-a", "vigil-b"):
                        nodes.append(start_vigil(
                            work, replica, am_yaml=am_yaml, state_url=url,
                            cluster={"member_timeout": args.member_timeout,
                                     "heartbeat_interval": args.heartbeat_interval}))
                    results.append(rounds("Vigil", nodes, receiver, args.rounds, args.kill_after,
                                          _vigil_pick, _vigil_rejoined))
                finally:
                    stop_all(nodes)
        if args.only != "vigil":
            nodes = start_alertmanagers(work / "am", 2, am_yaml)
            try:
                results.append(rounds("Alertmanager", nodes, receiver, args.rounds,
                                      args.kill_after, alertmanager_first_sender, _am_rejoined))
            finally:
                stop_all(nodes)

    def cell(s: dict[str, float | None]) -> str:
        return "-" if s["median"] is None else f"{s['median']:.1f} / {s['max']:.1f}"

    print_table(["system", "rounds", "delivered", "late by (median / max s)",
                 "kill → delivery (s)", "kill → survivor primary (s)", "duplicates", "lost"],
                [(r["system"], r["rounds"], r["delivered"], cell(r["late_s"]),
                  cell(r["kill_to_delivery_s"]), cell(r["kill_to_primary_s"]), duplicates_cell(r),
                  r["lost"]) for r in results])
    timers = ("" if (args.member_timeout, args.heartbeat_interval) == ("5s", "1s")
              else f"-{args.member_timeout}-{args.heartbeat_interval}")
    write_results(f"cluster_failover{timers}", args, results)


if __name__ == "__main__":
    main()
