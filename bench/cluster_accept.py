"""Alerts per second accepted by a 2-replica Vigil cluster on PostgreSQL versus a 2-node
Alertmanager 0.25 cluster (gossip on loopback), side by side, same route configuration.

Every alert is POSTed to both nodes of a cluster (``/api/v2/alerts``, batches of 64 as
Prometheus's notifier sends them, ``--clients`` threads), as a Prometheus HA pair does.
Reported: distinct alerts accepted per wall-clock second, the servers' CPU-seconds (for Vigil
including PostgreSQL's), then once the groups were notified: notifications per group
(``--alerts / 100`` groups, each should be notified exactly once). For scale, one Vigil
node (each alert posted once) on SQLite and on PostgreSQL first.

Run: ``.venv/bin/python bench/cluster_accept.py [--quick] [--alerts 10000] [--clients 4]``
"""

from __future__ import annotations

import argparse
import re
import time
from typing import Any

import httpx
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

GROUP_WAIT_S = 1.0
GROUP_SIZE = 100
# Alertmanager's second node sends what the first did not log after --cluster.peer-timeout
# (15 s); duplicates can only be counted after that.
SETTLE_S = 20.0


def measure(name: str, nodes: list[Node], receiver: CountingReceiver, count: int, clients: int,
            extra_cpu: Any = None, connections: Any = None) -> dict[str, Any]:
    prefix = re.sub(r"[^A-Za-z0-9]", "", name)  # groups of their own per system
    alerts = [alert(f"{prefix}Load{i // GROUP_SIZE}", f"host-{i}", severity="warning")
              for i in range(count)]
    groups = sorted({a["labels"]["alertname"] for a in alerts})

    def cpu() -> float:
        return sum(n.cpu_seconds() for n in nodes) + (extra_cpu() if extra_cpu else 0.0)

    cpu0 = cpu()
    elapsed, failed = post_to_all([n.url for n in nodes], alerts, clients=clients)
    cpu_used = cpu() - cpu0
    pg_connections = connections() if connections else None
    deadline = time.monotonic() + 120
    while receiver.tally(groups)["lost"] and time.monotonic() < deadline:
        time.sleep(0.2)
    time.sleep(SETTLE_S)
    active = [active_alerts(n) for n in nodes]
    return {"system": name, "alerts": count, "seconds": elapsed, "alerts_per_s": count / elapsed,
            "server_cpu_s": cpu_used, "failed_posts": failed,
            "postgresql_connections": pg_connections, "alerts_per_cpu_s": count / max(cpu_used, 1e-3),
            "active_per_node": active, **receiver.tally(groups)}


def active_alerts(node: Node) -> int | str:
    """How many alerts the node holds, or how it died (a replica can crash under the load)."""
    if node.proc.poll() is not None:
        return f"exited {node.proc.returncode} (see {node.log})"
    return len(httpx.get(f"{node.url}/api/v2/alerts", timeout=60).json())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="1,000 alerts: a smoke run")
    parser.add_argument("--alerts", type=int, default=10_000)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--only", choices=["vigil", "alertmanager"])
    args = parser.parse_args()
    if args.quick:
        args.alerts = 1_000
    results = []
    with workdir("vigil-bench-accept-") as work, CountingReceiver() as receiver:
        am_yaml = route_yaml(receiver.url, group_wait=GROUP_WAIT_S)
        if args.only != "alertmanager":
            with Postgres() as pg:
                # For scale: one node, each alert posted once, on SQLite then PostgreSQL.
                for label, state_url in (("SQLite", None), ("PostgreSQL", pg.database("single"))):
                    single = start_vigil(work / "single", f"vigil-{label.lower()}",
                                         am_yaml=am_yaml, state_url=state_url)
                    try:
                        results.append(measure(f"Vigil 1 node, {label}", [single], receiver,
                                               args.alerts, args.clients,
                                               pg.cpu_seconds if state_url else None))
                    finally:
                        single.stop()
                url = pg.database("vigil_accept")
                nodes = []
                try:
                    for replica in ("vigil-a", "vigil-b"):  # one after the other: migrations
                        nodes.append(start_vigil(work, replica, am_yaml=am_yaml, state_url=url))
                    results.append(measure("Vigil 2 replicas + PostgreSQL", nodes, receiver,
                                           args.alerts, args.clients, pg.cpu_seconds,
                                           lambda: pg.connections("vigil_accept")))
                finally:
                    stop_all(nodes)
        if args.only != "vigil":
            nodes = start_alertmanagers(work / "am", 2, am_yaml)
            try:
                results.append(measure("Alertmanager 0.25 2-node cluster", nodes, receiver,
                                       args.alerts, args.clients))
            finally:
                stop_all(nodes)
    print_table(["system", "alerts accepted/s", "per server CPU-s", "refused POSTs",
                 "active per node",
                 "groups", "notified", "duplicates", "lost"],
                [(r["system"], r["alerts_per_s"], r["alerts_per_cpu_s"], r["failed_posts"],
                  " / ".join(str(a) for a in r["active_per_node"]), r["groups"], r["notified"],
                  duplicates_cell(r), r["lost"]) for r in results])
    for r in results:
        if r["postgresql_connections"] is not None:
            print(f"{r['system']}: {r['postgresql_connections']} PostgreSQL connections "
                  "after the load (both replicas)")
    write_results("cluster_accept", args, results)


if __name__ == "__main__":
    main()
