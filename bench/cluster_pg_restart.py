"""PostgreSQL restarting under a 2-replica Vigil cluster: what stalls, what is lost, how long
until the work due meanwhile is done.

``--groups`` groups (one alert each) are POSTed to both replicas with ``group_wait: 2s``;
0.5 s later PostgreSQL is stopped (fast shutdown) for ``--down`` seconds, so the groups fall
due while it is down, and started again on the same port and data. While it is down another
batch is POSTed (those requests are expected to be refused: Prometheus re-sends firing alerts
every minute). Reported: refused POSTs, groups of the first batch notified / duplicates /
lost, seconds from PostgreSQL being back to the last first notification, replicas alive.

Run: ``.venv/bin/python bench/cluster_pg_restart.py [--quick] [--groups 50] [--down 5]``
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
    start_vigil,
    stop_all,
    workdir,
    write_results,
)

GROUP_WAIT_S = 2.0


def restart_round(pg: Postgres, nodes: list[Node], receiver: CountingReceiver, groups: int,
                  down_s: float) -> dict[str, Any]:
    names = [f"PgRestart{i}" for i in range(groups)]
    post_to_all([n.url for n in nodes], [alert(g) for g in names], clients=2)
    time.sleep(0.5)
    pg.stop()
    stopped = time.monotonic()
    _, refused = post_to_all([n.url for n in nodes],
                             [alert(f"WhileDown{i}") for i in range(groups)], clients=2)
    time.sleep(max(0.0, stopped + down_s - time.monotonic()))
    notified_while_down = sum(1 for g in names if receiver.first_arrival(g) is not None)
    pg.start()
    back = time.monotonic()
    deadline = back + 60
    while receiver.tally(names)["lost"] and time.monotonic() < deadline:
        time.sleep(0.1)
    receiver.wait_quiet(quiet_s=6, timeout=30)
    firsts = [t for g in names if (t := receiver.first_arrival(g)) is not None]
    return {"down_s": back - stopped, "refused_posts_while_down": refused,
            "posts_while_down": 2 * ((groups + 63) // 64),
            "notified_while_down": notified_while_down,
            "last_first_notification_after_back_s": max(firsts) - back if firsts else None,
            "replicas_alive": sum(1 for n in nodes if n.proc.poll() is None),
            **receiver.tally(names)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="10 groups: a smoke run")
    parser.add_argument("--groups", type=int, default=50)
    parser.add_argument("--down", type=float, default=5.0, help="seconds PostgreSQL is down")
    args = parser.parse_args()
    if args.quick:
        args.groups = 10
    with workdir("vigil-bench-pgrestart-") as work, CountingReceiver() as receiver, \
            Postgres() as pg:
        am_yaml = route_yaml(receiver.url, group_wait=GROUP_WAIT_S)
        url = pg.database("vigil_restart")
        nodes: list[Node] = []
        try:
            for replica in ("vigil-a", "vigil-b"):
                nodes.append(start_vigil(work, replica, am_yaml=am_yaml, state_url=url))
            result = restart_round(pg, nodes, receiver, args.groups, args.down)
        finally:
            stop_all(nodes)
    r = result
    print_table(["PostgreSQL down (s)", "POSTs refused while down", "groups", "notified",
                 "duplicates", "lost", "notified while down",
                 "last first notification after it is back (s)", "replicas alive"],
                [(r["down_s"], f"{r['refused_posts_while_down']} of {r['posts_while_down']}",
                  r["groups"], r["notified"], duplicates_cell(r), r["lost"],
                  r["notified_while_down"],
                  "-" if r["last_first_notification_after_back_s"] is None
                  else r["last_first_notification_after_back_s"], f"{r['replicas_alive']} of 2")])
    write_results("cluster_pg_restart", args, [result])


if __name__ == "__main__":
    main()
