"""Log store benchmark (quick, one machine): bytes on disk per raw byte, append speed, and a
needle search through the store next to ``grep -F`` over the same lines as a text file.

The sample is generated, deterministic and shaped like a mixed syslog host: sshd auth lines,
nginx access lines, JSON and logfmt application lines, kernel lines; request ids, IPs, users
and durations vary as they do in real logs. ``--file`` stores an existing text file instead
(one entry per line). The needle is a request id that occurs in exactly one line.

Run: ``.venv/bin/python bench/logs_store_bench.py [--lines 1000000] [--file PATH]``
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from vigil.logs.model import LogEntry, StreamSelection  # noqa: E402
from vigil.logs.store import LogStore, Options  # noqa: E402
from vigil.model.labels import Labels  # noqa: E402

NEEDLE = "req-needle-5e1f0c"
USERS = ["root", "admin", "deploy", "alice", "bob", "carol", "postgres", "ubuntu", "test", "guest"]
PATHS = ["/api/v1/orders", "/api/v1/users", "/login", "/static/app.js", "/healthz", "/metrics",
         "/api/v1/cart", "/search"]
AGENTS = ["Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 Chrome/120.0 Safari/537.36",
          "curl/8.5.0", "Go-http-client/1.1", "Prometheus/2.48.0", "kube-probe/1.29"]


def sample(n: int, seed: int = 1) -> list[tuple[int, Labels, str, str]]:
    rng = random.Random(seed)
    t = 1_765_000_000 * 10**9
    out = []
    needle_at = n // 2 + 17
    for i in range(n):
        t += rng.randrange(50_000, 2_000_000)
        host = f"web-{rng.randrange(8):02d}"
        ip = f"{rng.choice((10, 172, 192, 203))}.{rng.randrange(256)}.{rng.randrange(256)}.{rng.randrange(256)}"
        req = NEEDLE if i == needle_at else f"req-{rng.getrandbits(48):012x}"
        kind = rng.random()
        stamp = time.strftime("%b %d %H:%M:%S", time.gmtime(t // 10**9))
        if kind < 0.15:
            app, level = "sshd", "info"
            user = rng.choice(USERS)
            if rng.random() < 0.5:
                line = (f"{stamp} {host} sshd[{rng.randrange(1000, 65000)}]: Failed password for "
                        f"invalid user {user} from {ip} port {rng.randrange(1024, 65535)} ssh2")
                level = "warn"
            else:
                line = (f"{stamp} {host} sshd[{rng.randrange(1000, 65000)}]: Accepted publickey "
                        f"for {user} from {ip} port {rng.randrange(1024, 65535)} ssh2: RSA "
                        f"SHA256:{rng.getrandbits(128):032x}")
        elif kind < 0.55:
            app, status = "nginx", rng.choice((200, 200, 200, 200, 201, 204, 301, 404, 500, 502))
            level = "error" if status >= 500 else "info"
            line = (f'{ip} - - [{time.strftime("%d/%b/%Y:%H:%M:%S", time.gmtime(t // 10**9))} '
                    f'+0000] "{rng.choice(("GET", "GET", "POST", "PUT"))} '
                    f'{rng.choice(PATHS)}/{rng.randrange(100000)} HTTP/1.1" {status} '
                    f'{rng.randrange(200, 90000)} "-" "{rng.choice(AGENTS)}" '
                    f'rt={rng.random() * 2:.3f} request_id={req}')
        elif kind < 0.8:
            app, level = "orders", rng.choice(("info", "info", "info", "debug", "warn", "error"))
            line = json.dumps({
                "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t // 10**9)),
                "level": level,
                "msg": rng.choice(("order created", "payment captured", "stock reserved",
                                   "payment declined", "order shipped")),
                "order_id": f"o-{rng.getrandbits(32):08x}", "user": f"u{rng.randrange(50000)}",
                "duration_ms": rng.randrange(1, 6000), "request_id": req}, separators=(",", ":"))
        elif kind < 0.95:
            app, level = "db", rng.choice(("info", "warn"))
            line = (f'level={level} msg="{rng.choice(("slow query", "checkpoint complete", "connection accepted"))}" '
                    f"db=orders duration={rng.random() * 5:.3f}s rows={rng.randrange(10000)} "
                    f"client={ip}:{rng.randrange(1024, 65535)} query_id=q-{rng.getrandbits(32):08x}")
        else:
            app, level = "kernel", "info"
            line = (f"{stamp} {host} kernel: [{t // 10**6 % 10**9 / 1000:.6f}] "
                    f"{rng.choice(('eth0: link up', 'EXT4-fs (sda1): mounted filesystem', 'TCP: request_sock_TCP: Possible SYN flooding on port 443', 'oom-kill: constraint=CONSTRAINT_NONE'))}")
        out.append((t, Labels.of(app=app, host=host), line, level))
    return out


def from_file(path: str) -> list[tuple[int, Labels, str, str]]:
    with open(path, encoding="utf-8", errors="surrogateescape") as f:
        lines = f.read().splitlines()
    t0 = 1_765_000_000 * 10**9
    return [(t0 + i * 1000, Labels.of(file=os.path.basename(path)), line, "")
            for i, line in enumerate(lines)]


def cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--lines", type=int, default=1_000_000)
    ap.add_argument("--file")
    ap.add_argument("--batch", type=int, default=1000)
    args = ap.parse_args()
    rows = from_file(args.file) if args.file else sample(args.lines)
    entries = [LogEntry(t, labels, line, level) for t, labels, line, level in rows]
    with tempfile.TemporaryDirectory() as tmp:
        raw_path = os.path.join(tmp, "raw.log")
        with open(raw_path, "w", encoding="utf-8", errors="surrogateescape") as f:
            f.writelines(e.line + "\n" for e in entries)
        raw = os.path.getsize(raw_path)
        store_path = os.path.join(tmp, "store")
        c0, w0 = cpu(), time.perf_counter()
        with LogStore.open(store_path, Options()) as store:
            for i in range(0, len(entries), args.batch):
                store.append(entries[i:i + args.batch])
        ingest_cpu, ingest_wall = cpu() - c0, time.perf_counter() - w0
        on_disk = sum(os.path.getsize(os.path.join(d, f))
                      for d, _, fs in os.walk(store_path) for f in fs)
        subprocess.run(["zstd", "-q", "-3", "-k", raw_path], check=True)
        zstd_raw = os.path.getsize(raw_path + ".zst")

        if args.file:
            needles = [entries[len(entries) // 2].line[-12:]]
        else:  # one with a whole word inside ("needle"), one bare hex id (trigrams only)
            ids = [e.line.rsplit("req-", 1)[1][:12] for e in entries[-1000:] if "req-" in e.line]
            needles = [NEEDLE, ids[-1]]
        searches = []
        for needle in needles:
            with LogStore.open(store_path, Options()) as store:  # reopened: nothing cached
                sel = StreamSelection((), 0, 1 << 62, (needle,))
                w0 = time.perf_counter()
                hits = list(store.select(sel))
                store_s = time.perf_counter() - w0
                chunks = store.stats().chunks
            w0 = time.perf_counter()
            grep = subprocess.run(["grep", "-F", "-c", needle, raw_path], capture_output=True,
                                  text=True, check=False)
            grep_s = time.perf_counter() - w0
            w0 = time.perf_counter()
            zgrep = subprocess.run(["zstdgrep", "-F", "-c", needle, raw_path + ".zst"],
                                   capture_output=True, text=True, check=False)
            zgrep_s = time.perf_counter() - w0
            searches.append(f"needle {needle!r}: store {store_s * 1000:.1f} ms ({len(hits)} hit), "
                            f"grep -F {grep_s * 1000:.1f} ms ({grep.stdout.strip()} hit), "
                            f"zstdgrep {zgrep_s * 1000:.1f} ms ({zgrep.stdout.strip()} hit)")
    print(f"lines {len(entries):,}  raw {raw / 1e6:.1f} MB  chunks {chunks}")
    print(f"on disk {on_disk / 1e6:.2f} MB = {on_disk / raw:.3f} of raw "
          f"(zstd -3 of the raw file: {zstd_raw / raw:.3f})")
    print(f"append {len(entries) / ingest_cpu:,.0f} lines per CPU-second "
          f"({ingest_wall:.1f} s wall, batches of {args.batch})")
    print("\n".join(searches))

if __name__ == "__main__":
    main()
