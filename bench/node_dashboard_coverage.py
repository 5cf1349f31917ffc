"""How many panel queries of Grafana's "Node Exporter Full" dashboard get an answer from
Vigil's built-in host collector, against the real node_exporter on the same machine.

Starts Debian's ``prometheus-node-exporter`` (its defaults) scraped by Prometheus
(``/usr/bin/prometheus``), and a ``vigil up`` whose host collector reads the same machine,
both every second. After a warm-up, every panel query of
``tests/data/grafana/node-exporter-full.json`` is run as an instant query against both, with
the dashboard's variables substituted: ``$job`` (``node`` on both), ``$nodename`` and
``$node`` (the instance of ``node_uname_info`` on each side) and ``$__rate_interval``,
``$__interval``, ``$__range`` (4 s, 1 s and the warm-up, as Grafana derives them from a 1 s
scrape interval). A query *answers* when its result is not empty. Prints both counts, the
queries node_exporter answers and Vigil does not (and the reverse), and the host collector's
own time per collection (it runs every scrape interval, 15 s by default).

    .venv/bin/python bench/node_dashboard_coverage.py [--warmup 15] [--vigil-source DIR]

``--vigil-source`` runs Vigil from another checkout (e.g. ``git archive <commit> vigil``
unpacked into DIR) to measure an earlier state.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tests.support.ports import free_port  # noqa: E402
from tests.support.vigil_proc import eventually, wait_ready  # noqa: E402

DASHBOARD = Path(__file__).resolve().parents[1] / "tests/data/grafana/node-exporter-full.json"
NODE_EXPORTER = "/usr/bin/prometheus-node-exporter"
PROMETHEUS = "/usr/bin/prometheus"
RATE_INTERVAL = "4s"  # Grafana: max(4 x scrape interval, interval + scrape interval)
INTERVAL = "1s"


def panel_queries(dashboard: dict[str, Any]) -> list[tuple[str, str]]:
    """(panel title, expr) of every query target, rows' nested panels included."""
    out: list[tuple[str, str]] = []

    def walk(panels: list[dict[str, Any]]) -> None:
        for panel in panels:
            for target in panel.get("targets") or []:
                if target.get("expr"):
                    out.append((panel.get("title", ""), target["expr"]))
            walk(panel.get("panels") or [])

    walk(dashboard.get("panels") or [])
    return out


def substitute(expr: str, values: dict[str, str]) -> str:
    """``$name`` and ``${name}`` replaced (longest names first, so $node does not eat
    $nodename)."""
    for name in sorted(values, key=len, reverse=True):
        expr = re.sub(r"\$\{" + re.escape(name) + r"\}|\$" + re.escape(name) + r"\b",
                      lambda _m, v=values[name]: v, expr)
    return expr


def answers(base: str, expr: str) -> tuple[bool, str]:
    """(non-empty result, error text)."""
    resp = httpx.get(f"{base}/api/v1/query", params={"query": expr}, timeout=30)
    body = resp.json()
    if body.get("status") != "success":
        return False, str(body.get("error", resp.status_code))
    data = body["data"]
    if data["resultType"] in ("scalar", "string"):
        return True, ""
    return bool(data["result"]), ""


def node_variables(base: str) -> dict[str, str]:
    def uname() -> list[dict[str, Any]]:
        resp = httpx.get(f"{base}/api/v1/query", params={"query": 'node_uname_info{job="node"}'},
                         timeout=10)
        return resp.json()["data"]["result"]

    (series, *_) = eventually(uname, 60, what=f"node_uname_info at {base}")
    return {"job": "node", "nodename": series["metric"]["nodename"],
            "node": series["metric"]["instance"]}


def start(args: list[str], env: dict[str, str] | None = None,
          cwd: str | None = None) -> subprocess.Popen:
    return subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env,
                            cwd=cwd)


def run(warmup_s: float, vigil_source: str | None) -> dict[str, Any]:
    procs: list[subprocess.Popen] = []
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        try:
            ne_port, prom_port, vigil_port = free_port(), free_port(), free_port()
            procs.append(start([NODE_EXPORTER, f"--web.listen-address=127.0.0.1:{ne_port}"]))
            (tmp / "prometheus.yml").write_text(
                "global: {scrape_interval: 1s, scrape_timeout: 900ms}\n"
                "scrape_configs:\n  - job_name: node\n"
                f"    static_configs: [{{targets: ['127.0.0.1:{ne_port}']}}]\n")
            procs.append(start([PROMETHEUS, f"--config.file={tmp / 'prometheus.yml'}",
                                f"--storage.tsdb.path={tmp / 'prom'}",
                                f"--web.listen-address=127.0.0.1:{prom_port}"]))
            (tmp / "vigil.yml").write_text(
                "global: {scrape_interval: 1s, scrape_timeout: 900ms}\ndefault_rules: false\n"
                "collectors: {host: {enabled: true, job_name: node}}\n")
            env = dict(os.environ)
            if vigil_source:  # python -m puts the working directory first on sys.path
                env["PYTHONPATH"] = vigil_source
            procs.append(start([sys.executable, "-m", "vigil", "up", "--config",
                                str(tmp / "vigil.yml"), "--data-dir", str(tmp / "vigil"),
                                "--listen", f"127.0.0.1:{vigil_port}", "--log-level", "warning"],
                               env, cwd=vigil_source))
            prom, vigil = f"http://127.0.0.1:{prom_port}", f"http://127.0.0.1:{vigil_port}"
            wait_ready(vigil, 60, procs[-1])
            eventually(lambda: httpx.get(f"{prom}/-/ready", timeout=2).status_code == 200, 60,
                       what="prometheus")
            sides = {"node_exporter": (prom, node_variables(prom)),
                     "vigil": (vigil, node_variables(vigil))}
            time.sleep(warmup_s)
            queries = panel_queries(json.loads(DASHBOARD.read_text()))
            results: dict[str, list[tuple[bool, str]]] = {}
            for side, (base, values) in sides.items():
                values = {**values, "__rate_interval": RATE_INTERVAL, "__interval": INTERVAL,
                          "__range": f"{int(warmup_s)}s"}
                results[side] = [answers(base, substitute(expr, values))
                                 for _title, expr in queries]
        finally:
            for proc in procs:
                proc.terminate()
            for proc in procs:
                proc.wait(timeout=30)
    return {"queries": queries, "results": results}


COST_SNIPPET = """
import statistics, time
from vigil.collect import HostCollector
from vigil.config import HostCollectorConfig
collector = HostCollector(HostCollectorConfig())
page = collector.render()
times = []
for _ in range(ROUNDS):
    started = time.perf_counter()
    collector.render()
    times.append(time.perf_counter() - started)
times.sort()
print(f"{statistics.median(times) * 1e3:.1f} ms median, {times[int(len(times) * 0.9)] * 1e3:.1f} ms"
      f" p90 over {ROUNDS} collections; {page.count(chr(10))} lines per page")
"""


def collector_cost(vigil_source: str | None, rounds: int = 100) -> str:
    """The host collector's time per collection, in a fresh interpreter of that source."""
    env = dict(os.environ)
    if vigil_source:
        env["PYTHONPATH"] = vigil_source
    done = subprocess.run([sys.executable, "-c", COST_SNIPPET.replace("ROUNDS", str(rounds))],
                          capture_output=True, text=True, env=env, cwd=vigil_source, check=True)
    return done.stdout.strip()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--warmup", type=float, default=15.0, help="seconds of scraping first")
    parser.add_argument("--vigil-source", default=None,
                        help="run Vigil from this directory (PYTHONPATH) instead")
    args = parser.parse_args()
    out = run(args.warmup, args.vigil_source)
    queries, ne, vg = out["queries"], out["results"]["node_exporter"], out["results"]["vigil"]
    total = len(queries)
    ne_n, vg_n = sum(ok for ok, _ in ne), sum(ok for ok, _ in vg)
    print(f"Node Exporter Full: {total} panel queries ({len(set(e for _, e in queries))} "
          f"distinct)")
    print(f"  node_exporter {ne_n} answer ({100 * ne_n / total:.0f} %)")
    print(f"  vigil         {vg_n} answer ({100 * vg_n / total:.0f} %)")
    errors = [(q, err) for q, (_, err) in zip(queries, vg, strict=True) if err]
    gaps = [q for q, (a, _), (b, _) in zip(queries, ne, vg, strict=True) if a and not b]
    extra = [q for q, (a, _), (b, _) in zip(queries, ne, vg, strict=True) if b and not a]
    print(f"answered by node_exporter, not by Vigil: {len(gaps)}")
    for title, expr in gaps:
        print(f"  [{title}] {expr}")
    print(f"answered by Vigil, not by node_exporter: {len(extra)}")
    for title, expr in extra:
        print(f"  [{title}] {expr}")
    if errors:
        print(f"errors from Vigil: {len(errors)}")
        for (title, expr), err in errors:
            print(f"  [{title}] {expr}: {err}")
    print(f"host collector cost: {collector_cost(args.vigil_source)}")


if __name__ == "__main__":
    main()
