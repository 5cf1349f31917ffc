"""Duplicates and losses when one node of a 2-node cluster is killed (``kill -9``): a Vigil
pair on PostgreSQL versus an Alertmanager 0.25 pair (gossip), same route configuration.

For each system and each moment, a fresh cluster gets ``--groups`` groups (one alert each)
POSTed to both nodes, as a Prometheus pair sends them; then the node that would notify first
(Alertmanager: position 0 in the gossip member list; Vigil: the primary its cluster API
names, or the first replica when there is no such API) is killed:

* ``waiting``: half-way through group_wait, before any notification is due;
* ``notifying``: once a tenth of the groups have been notified, while the rest are being
  delivered (the receiver takes ``--receiver-delay`` per request, so some are in flight).

The receiver counts, per group, every notification that arrives (a request that reached it
counts even if its sender died before the answer). Reported: groups notified, duplicates,
groups lost, and how long after the kill the last first notification arrived.

Run: ``.venv/bin/python bench/cluster_kill.py [--quick] [--groups 100]``
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

from cluster_common import (
    CountingReceiver,
    Node,
    Postgres,
    alert,
    alertmanager_first_sender,
    duplicates_cell,
    post_to_all,
    print_table,
    route_yaml,
    start_alertmanagers,
    start_vigil,
    stop_all,
    vigil_primary,
    workdir,
    write_results,
)

GROUP_WAIT_S = 2.0
# Alertmanager's survivor waits --cluster.peer-timeout (15 s) before it sends; Vigil's takes
# over after cluster.member_timeout (5 s). Watch long enough for both, and for late copies.
WATCH_S = 30.0


def kill_round(system: str, moment: str, nodes: list[Node], receiver: CountingReceiver,
               groups: int, pick: Any) -> dict[str, Any]:
    names = [f"{system[:2]}{moment}{i}" for i in range(groups)]
    victim, how = pick(nodes)
    posted = time.monotonic()
    _, refused = post_to_all([n.url for n in nodes], [alert(g) for g in names], clients=2)
    if moment == "waiting":
        time.sleep(max(0.0, posted + GROUP_WAIT_S / 2 - time.monotonic()))
    else:  # once a tenth of the groups arrived: the rest are being sent or queued
        deadline = posted + GROUP_WAIT_S + 30
        while (sum(1 for g in names if receiver.first_arrival(g) is not None) < max(1, groups // 10)
               and time.monotonic() < deadline):
            time.sleep(0.01)
    before_kill = sum(1 for g in names if receiver.first_arrival(g) is not None)
    victim.kill()
    killed = time.monotonic()
    deadline = killed + WATCH_S
    while time.monotonic() < deadline:
        time.sleep(0.25)
    firsts = [t for g in names if (t := receiver.first_arrival(g)) is not None]
    survivors_ok = all(n.proc.poll() is None for n in nodes if n is not victim)
    return {"system": system, "moment": moment, "killed": f"{victim.name} ({how})",
            "post_s": killed - posted, "refused_posts": refused, "notified_before_kill": before_kill,
            "last_first_notification_after_kill_s": max(firsts) - killed if firsts else None,
            "survivor_alive": survivors_ok, **receiver.tally(names)}


def vigil_round(work: Path, pg: Postgres, receiver: CountingReceiver, moment: str,
                groups: int) -> dict[str, Any]:
    am_yaml = route_yaml(receiver.url, group_wait=GROUP_WAIT_S)
    url = pg.database(f"vigil_kill_{moment}")
    nodes: list[Node] = []
    try:
        for replica in ("vigil-a", "vigil-b"):
            nodes.append(start_vigil(work / moment, replica, am_yaml=am_yaml, state_url=url))

        def pick(ns: list[Node]) -> tuple[Node, str]:
            node, from_api = vigil_primary(ns)
            return node, "primary" if from_api else "no cluster API: first replica"

        return kill_round("Vigil", moment, nodes, receiver, groups, pick)
    finally:
        stop_all(nodes)


def alertmanager_round(work: Path, receiver: CountingReceiver, moment: str,
                       groups: int) -> dict[str, Any]:
    am_yaml = route_yaml(receiver.url, group_wait=GROUP_WAIT_S)
    nodes = start_alertmanagers(work / f"am-{moment}", 2, am_yaml)
    try:
        return kill_round("Alertmanager", moment, nodes, receiver, groups,
                          lambda ns: (alertmanager_first_sender(ns), "position 0"))
    finally:
        stop_all(nodes)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="20 groups, one moment: a smoke run")
    parser.add_argument("--groups", type=int, default=100)
    parser.add_argument("--receiver-delay", type=float, default=0.2,
                        help="seconds the receiver takes per notification")
    parser.add_argument("--only", choices=["vigil", "alertmanager"])
    args = parser.parse_args()
    moments = ["waiting", "notifying"]
    if args.quick:
        args.groups, moments = 20, ["notifying"]
    results = []
    with workdir("vigil-bench-kill-") as work, \
            CountingReceiver(delay_s=args.receiver_delay) as receiver:
        for moment in moments:
            if args.only != "alertmanager":
                with Postgres() as pg:
                    results.append(vigil_round(work / "vigil", pg, receiver, moment, args.groups))
            if args.only != "vigil":
                results.append(alertmanager_round(work, receiver, moment, args.groups))
    print_table(["system", "killed while", "node killed", "groups", "notified", "duplicates",
                 "lost", "notified before kill", "last first notification after kill (s)",
                 "survivor alive"],
                [(r["system"], r["moment"], r["killed"], r["groups"], r["notified"],
                  duplicates_cell(r), r["lost"], r["notified_before_kill"],
                  "-" if r["last_first_notification_after_kill_s"] is None
                  else round(r["last_first_notification_after_kill_s"], 1),
                  "yes" if r["survivor_alive"] else "NO (crashed)") for r in results])
    write_results("cluster_kill", args, results)


if __name__ == "__main__":
    main()
