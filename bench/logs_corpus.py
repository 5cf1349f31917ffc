"""The log store benchmarks' realistic corpus: a small web shop's day of logs, generated
(deterministic) with the cardinalities real logs have, written once to a file and reused.

Why not random ids everywhere: a bytes-on-disk figure is only worth what the entropy of the
sample is; real logs repeat their hosts, clients, paths, users and messages, and carry a
unique id only where services put one (a trace id, shared by the lines of one request). The
bench prints ``zstd -3`` and ``zstd -19`` of the raw file as the corpus's entropy reference.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterable, Iterator

import numpy as np

from vigil.model.labels import Labels

T0_US = 1_765_065_600 * 10**6  # 2025-12-07 00:00 UTC
LINES_PER_S = 120  # one busy small site: 10 M lines are about 23 hours
Block = tuple[np.ndarray, list[Labels], list[str], list[str]]  # ts_ns, labels, lines, levels
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def _zipf(rng: np.random.Generator, n_values: int, size: int, s: float = 1.1) -> np.ndarray:
    """Indexes ``< n_values`` drawn with Zipf weights (rank ``r`` has weight ``1 / r**s``):
    a few clients, paths and users make most of the traffic, as in real logs."""
    p = 1.0 / np.arange(1, n_values + 1) ** s
    return rng.choice(n_values, size=size, p=p / p.sum())


class _Pools:
    """The finite sets real log values come from, drawn once per corpus."""

    def __init__(self, rng: np.random.Generator) -> None:
        self.web = [f"web-{i:02d}" for i in range(1, 17)]
        self.api = [f"api-{i:02d}" for i in range(1, 13)]
        self.db = [f"db-{i:02d}" for i in range(1, 5)]
        self.other = [f"bastion-{i:02d}" for i in range(1, 4)] + [
            f"worker-{i:02d}" for i in range(1, 6)]
        self.hosts = self.web + self.api + self.db + self.other  # 40
        self.services = ["orders", "payments", "users", "catalog"]
        self.clients = [f"{rng.choice([31, 46, 78, 81, 85, 92, 185, 188, 203])}."
                        f"{rng.integers(256)}.{rng.integers(256)}.{rng.integers(1, 255)}"
                        for _ in range(5000)]
        self.internal = [f"10.{rng.integers(4)}.{rng.integers(16)}.{rng.integers(2, 250)}"
                         for _ in range(200)]
        self.users = [f"{rng.choice(['j', 'm', 'a', 's', 'k', 'l', 't', 'p'])}"
                      f"{rng.choice(['smith', 'jones', 'garcia', 'miller', 'davis', 'lopez', 'wilson', 'moore', 'taylor', 'lee', 'martin', 'white'])}"
                      f"{i}" for i in range(400)]
        resources = ["orders", "products", "users", "cart", "checkout", "search", "reviews",
                     "categories", "invoices", "shipping"]
        self.paths = ["/", "/healthz", "/metrics", "/login", "/logout", "/favicon.ico",
                      "/static/app.js", "/static/app.css", "/static/logo.svg"]
        for r in resources:
            self.paths += [f"/api/v1/{r}", f"/api/v1/{r}?page=2", f"/api/v2/{r}"]
            self.paths += [f"/api/v1/{r}/{rng.integers(1, 5000)}" for _ in range(28)]
        self.path_bytes = rng.integers(300, 60000, len(self.paths))
        self.agents = [
            "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
            f"Chrome/{v}.0.0.0 Safari/537.36" for v in range(110, 122)] + [
            "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like "
            f"Gecko) Version/17.{v} Safari/605.1.15" for v in range(5)] + [
            f"Mozilla/5.0 (X11; Linux x86_64; rv:{v}.0) Gecko/20100101 Firefox/{v}.0"
            for v in range(115, 121)] + [
            "curl/8.5.0", "Go-http-client/1.1", "Prometheus/2.48.0", "kube-probe/1.29",
            "python-requests/2.31.0", "Googlebot/2.1 (+http://www.google.com/bot.html)"]
        self.referers = ["-"] * 12 + ["https://shop.example.com/", "https://www.google.com/",
                                      "https://shop.example.com/cart",
                                      "https://shop.example.com/search?q=shoes"]
        self.app_msgs = [("info", "request completed"), ("info", "order created"),
                         ("info", "payment captured"), ("info", "stock reserved"),
                         ("info", "cache miss"), ("info", "user logged in"),
                         ("debug", "db query"), ("warn", "retrying upstream call"),
                         ("warn", "slow request"), ("error", "payment declined"),
                         ("error", "upstream timeout"), ("info", "email sent")]
        self.queries = ["select orders", "update stock", "insert order", "select user",
                        "checkpoint complete", "autovacuum", "connection accepted",
                        "connection closed"]
        self.kernel = ["EXT4-fs (nvme0n1p2): re-mounted. Opts: errors=remount-ro",
                       "TCP: request_sock_TCP: Possible SYN flooding on port 443. Sending cookies.",
                       "nf_conntrack: table full, dropping packet",
                       "e1000e: eth0 NIC Link is Up 1000 Mbps Full Duplex"]


def _stamps(sec: int) -> tuple[str, str, str]:
    t = time.gmtime(sec)
    return (f"{MONTHS[t.tm_mon - 1]} {t.tm_mday:2d} {t.tm_hour:02d}:{t.tm_min:02d}:{t.tm_sec:02d}",
            f"{t.tm_mday:02d}/{MONTHS[t.tm_mon - 1]}/{t.tm_year}:{t.tm_hour:02d}:{t.tm_min:02d}:"
            f"{t.tm_sec:02d} +0000",
            f"{t.tm_year}-{t.tm_mon:02d}-{t.tm_mday:02d}T{t.tm_hour:02d}:{t.tm_min:02d}:"
            f"{t.tm_sec:02d}")


def realistic(n: int, seed: int = 1, block: int = 100_000) -> Iterator[Block]:
    """The realistic corpus in blocks: ``(ts_ns, labels, lines, levels)``. 40 % nginx access
    lines (combined format plus request time, 16 web hosts, 5,000 client IPs, 300 paths, 30
    user agents, all Zipf-distributed; status and latency distributions), 25 % JSON lines of
    four services on 12 API hosts (400 users; a W3C trace id, as OpenTelemetry-instrumented
    services log, shared by the four lines or so one request logs), 15 % logfmt database lines, 12 % sshd (failed passwords from scanners, logins
    of real users, sessions), 8 % kernel (firewall drops, driver messages). About 120 lines a
    second; each entry's timestamp is the one in its line (seconds for nginx, sshd and kernel
    lines, milliseconds for the JSON and logfmt ones), never decreasing."""
    rng = np.random.default_rng(seed)
    pools = _Pools(rng)
    t_us = T0_US
    pid = {h: 1000 + i * 997 for i, h in enumerate(pools.hosts)}
    order_no = 1_000_000
    active = [""] * 8  # the trace ids of the requests in flight
    cached_sec, stamps = -1, ("", "", "")
    for first in range(0, n, block):
        size = min(block, n - first)
        gaps = rng.exponential(1e6 / LINES_PER_S, size).astype(np.int64) + 1
        ts_us = t_us + np.cumsum(gaps)
        t_us = int(ts_us[-1])
        kind = rng.random(size)
        client = _zipf(rng, len(pools.clients), size).tolist()
        path = _zipf(rng, len(pools.paths), size).tolist()
        agent = _zipf(rng, len(pools.agents), size).tolist()
        user = _zipf(rng, len(pools.users), size).tolist()
        status = rng.choice([200, 304, 301, 404, 401, 499, 500, 502], size,
                            p=[.85, .04, .02, .05, .01, .01, .015, .005]).tolist()
        latency = rng.lognormal(np.log(0.02), 1.0, size).tolist()
        small = rng.integers(0, 1 << 16, size).tolist()
        pick = rng.random(size).tolist()
        trace = rng.integers(0, 1 << 63, (size, 2)).tolist()
        labels, lines, levels = [], [], []
        stamp_ns = np.empty(size, dtype=np.int64)
        for i in range(size):
            us = int(ts_us[i])
            sec = us // 10**6
            if sec != cached_sec:
                cached_sec, stamps = sec, _stamps(sec)
            syslog, clf, iso = stamps
            ms = f"{iso}.{us // 1000 % 1000:03d}Z"
            k = kind[i]
            if k < 0.40:
                host = pools.web[small[i] % 16]
                st = status[i]
                size_b = int(pools.path_bytes[path[i]]) + small[i] % 64 if st == 200 else 150 + small[i] % 7
                line = (f'{pools.clients[client[i]]} - - [{clf}] "{"GET" if pick[i] < .8 else "POST"} '
                        f'{pools.paths[path[i]]} HTTP/1.1" {st} {size_b} '
                        f'"{pools.referers[small[i] % 16]}" "{pools.agents[agent[i]]}" '
                        f"{latency[i]:.3f}")
                app, level = "nginx", "error" if st >= 500 else "info"
            elif k < 0.65:
                host = pools.api[small[i] % 12]
                level, msg = pools.app_msgs[small[i] % 12 if pick[i] < .3 else small[i] % 7]
                extra = ""
                if msg == "order created":
                    order_no += 1
                    extra = f',"order_id":"ord-{order_no}"'
                slot = small[i] % 8  # a request logs several lines under one trace id
                if trace[i][0] & 3 == 0 or not active[slot]:
                    active[slot] = f"{trace[i][0]:016x}{trace[i][1]:016x}"
                line = (f'{{"ts":"{ms}","level":"{level}","service":"'
                        f'{pools.services[small[i] % 4]}","msg":"{msg}","user_id":"'
                        f'{pools.users[user[i]]}","duration_ms":{int(latency[i] * 1000)}'
                        f'{extra},"trace_id":"{active[slot]}"}}')
                app = pools.services[small[i] % 4]
            elif k < 0.80:
                host = pools.db[small[i] % 4]
                level = "warn" if latency[i] > 0.5 else "info"
                line = (f'time={ms} level={level} msg="{pools.queries[small[i] % 8]}" db=shop '
                        f"user=app_rw duration={latency[i] * 100:.1f}ms rows={small[i] % 500} "
                        f"client={pools.internal[client[i] % 200]}")
                app = "postgres"
            elif k < 0.92:
                host = pools.hosts[small[i] % 40] if pick[i] < .5 else pools.other[small[i] % 3]
                pid[host] += 1 + small[i] % 3
                prefix = f"{syslog} {host} sshd[{pid[host]}]: "
                if pick[i] < .6:
                    who = pools.users[user[i]][:5] if pick[i] < .2 else (
                        "root", "admin", "test", "oracle", "ubuntu", "git")[small[i] % 6]
                    line = (f"{prefix}Failed password for invalid user {who} from "
                            f"{pools.clients[client[i]]} port {32768 + small[i] % 28000} ssh2")
                    level = "warn"
                elif pick[i] < .8:
                    line = (f"{prefix}Accepted publickey for {pools.users[user[i] % 20]} from "
                            f"{pools.internal[client[i] % 200]} port {32768 + small[i] % 28000} "
                            f"ssh2: ED25519 SHA256:k{user[i] % 20:02d}Xb9vQe0LxT3mGJ8aWp4cNfRz")
                    level = "info"
                else:
                    line = (f"{prefix}pam_unix(sshd:session): session "
                            f"{'opened' if pick[i] < .9 else 'closed'} for user "
                            f"{pools.users[user[i] % 20]}(uid={1000 + user[i] % 20}) by (uid=0)")
                    level = "info"
                app = "sshd"
            else:
                host = pools.hosts[small[i] % 40]
                up = (us - T0_US) / 1e6 + 86400 + small[i] % 40 * 3600
                if pick[i] < .7:
                    msg = (f"[UFW BLOCK] IN=eth0 OUT= MAC=52:54:00:12:34:56:52:54:00:ab:cd:ef:08:00 "
                           f"SRC={pools.clients[client[i]]} DST=10.0.0.{small[i] % 40 + 10} LEN=44 "
                           f"TOS=0x00 PREC=0x00 TTL={40 + small[i] % 20} ID={small[i]} PROTO=TCP "
                           f"SPT={1024 + small[i] % 60000} DPT={(22, 23, 3389, 445, 8080)[small[i] % 5]} "
                           f"WINDOW=1024 RES=0x00 SYN URGP=0")
                else:
                    msg = pools.kernel[small[i] % 4]
                line = f"{syslog} {host} kernel: [{up:12.6f}] {msg}"
                app, level = "kernel", "info"
            # the entry's time is the one its line shows, as a shipper parsing it stores it
            stamp_ns[i] = us // 1000 * 10**6 if app not in ("nginx", "sshd", "kernel") else sec * 10**9
            labels.append(Labels.of(app=app, host=host))
            lines.append(line)
            levels.append(level)
        yield stamp_ns, labels, lines, levels


def write_corpus(directory: str, blocks: Iterable[Block]) -> None:
    """A corpus (the blocks of :func:`realistic` or the like) as ``raw.log`` (the lines) and ``meta.npz`` (each line's ns timestamp,
    stream and level indexes) plus ``streams.json`` (the streams' labels, the levels)."""
    os.makedirs(directory, exist_ok=True)
    streams: dict[Labels, int] = {}
    levels: dict[str, int] = {}
    ts_parts, stream_parts, level_parts = [], [], []
    with open(os.path.join(directory, "raw.log.tmp"), "w", encoding="utf-8") as f:
        for ts, labels, lines, lvls in blocks:
            f.write("\n".join(lines) + "\n")
            ts_parts.append(ts)
            stream_parts.append(np.array([streams.setdefault(s, len(streams)) for s in labels],
                                         dtype=np.int32))
            level_parts.append(np.array([levels.setdefault(v, len(levels)) for v in lvls],
                                        dtype=np.uint8))
    np.savez(os.path.join(directory, "meta.npz"), ts=np.concatenate(ts_parts),
             stream=np.concatenate(stream_parts), level=np.concatenate(level_parts))
    with open(os.path.join(directory, "streams.json"), "w") as f:
        json.dump({"streams": [list(map(list, s)) for s in streams], "levels": list(levels)}, f)
    os.replace(os.path.join(directory, "raw.log.tmp"), os.path.join(directory, "raw.log"))


def read_corpus(directory: str, batch: int) -> Iterator[Block]:
    """The corpus written by :func:`write_corpus`, in batches of ``batch`` lines."""
    with open(os.path.join(directory, "streams.json")) as f:
        names = json.load(f)
    streams = [Labels((k, v) for k, v in s) for s in names["streams"]]
    levels = names["levels"]
    meta = np.load(os.path.join(directory, "meta.npz"))
    ts, stream, level = meta["ts"], meta["stream"], meta["level"]
    pos = 0
    with open(os.path.join(directory, "raw.log"), encoding="utf-8") as f:
        while True:
            lines = [line.rstrip("\n") for _, line in zip(range(batch), f, strict=False)]
            if not lines:
                return
            end = pos + len(lines)
            yield (ts[pos:end], [streams[i] for i in stream[pos:end].tolist()], lines,
                   [levels[i] for i in level[pos:end].tolist()])
            pos = end
