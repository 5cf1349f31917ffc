"""Notifications per second delivered by a 2-replica Vigil cluster on PostgreSQL (many groups,
a fast receiver), with one Vigil on SQLite and a 2-node Alertmanager 0.25 cluster for scale.

``--groups`` groups of one alert each are POSTed to every node; group_wait is longer than the
posting takes, so all groups fall due within about the posting time and the senders then work
through a backlog. Rate = groups / (last first notification - first notification). Duplicates
(a group notified more than once) are counted after a quiet period.

Run: ``.venv/bin/python bench/cluster_notify.py [--quick] [--groups 2000]``
"""

from __future__ import annotations

import argparse
import time
from typing import Any

from cluster_common import (
    CountingReceiver,
    Node,
    Postgres,
    alert,
    duplicates_cell,
    post_to_all,
    print_table,
    route_yaml,
    start_alertmanagers,
    start_vigil,
    stop_all,
    workdir,
    write_results,
)

GROUP_WAIT_S = 5.0


def deliver(system: str, nodes: list[Node], receiver: CountingReceiver,
            groups: int) -> dict[str, Any]:
    names = [f"{system.split()[0][:2]}{len(nodes)}N{i}" for i in range(groups)]
    post_s, refused = post_to_all([n.url for n in nodes], [alert(g) for g in names], clients=4)
    deadline = time.monotonic() + 300
    while receiver.tally(names)["lost"] and time.monotonic() < deadline:
        time.sleep(0.2)
    # Alertmanager's second node sends what it did not see logged after 15 s.
    receiver.wait_quiet(quiet_s=20 if system.startswith("Alertmanager") else 5, timeout=120)
    firsts = sorted(t for g in names if (t := receiver.first_arrival(g)) is not None)
    span = firsts[-1] - firsts[0] if len(firsts) > 1 else float("nan")
    return {"system": system, "post_s": post_s, "refused_posts": refused, "delivery_s": span,
            "notifications_per_s": len(firsts) / span if span else float("nan"),
            "survivors_alive": all(n.proc.poll() is None for n in nodes), **receiver.tally(names)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="200 groups: a smoke run")
    parser.add_argument("--groups", type=int, default=2000)
    parser.add_argument("--only", choices=["vigil", "alertmanager"])
    args = parser.parse_args()
    if args.quick:
        args.groups = 200
    results = []
    with workdir("vigil-bench-notify-") as work, CountingReceiver() as receiver:
        am_yaml = route_yaml(receiver.url, group_wait=GROUP_WAIT_S)
        if args.only != "alertmanager":
            node = start_vigil(work / "single", "vigil-sqlite", am_yaml=am_yaml)
            try:
                results.append(deliver("Vigil 1 node, SQLite", [node], receiver, args.groups))
            finally:
                node.stop()
            with Postgres() as pg:
                url = pg.database("vigil_notify")
                nodes: list[Node] = []
                try:
                    for replica in ("vigil-a", "vigil-b"):
                        nodes.append(start_vigil(work / "pair", replica, am_yaml=am_yaml,
                                                 state_url=url))
                    results.append(deliver("Vigil 2 replicas + PostgreSQL", nodes, receiver,
                                           args.groups))
                finally:
                    stop_all(nodes)
        if args.only != "vigil":
            nodes = start_alertmanagers(work / "am", 2, am_yaml)
            try:
                results.append(deliver("Alertmanager 0.25 2-node cluster", nodes, receiver,
                                       args.groups))
            finally:
                stop_all(nodes)
    print_table(["system", "groups", "refused POSTs", "notifications/s", "delivery span (s)",
                 "notified", "duplicates", "lost", "nodes alive"],
                [(r["system"], r["groups"], r["refused_posts"], r["notifications_per_s"],
                  r["delivery_s"],
                  r["notified"], duplicates_cell(r), r["lost"],
                  "yes" if r["survivors_alive"] else "NO") for r in results])
    write_results("cluster_notify", args, results)


if __name__ == "__main__":
    main()
