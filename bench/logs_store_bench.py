"""Log store benchmark (issue 20 part 6), all side by side in one run: bytes on disk per raw
byte (with ``zstd -3`` and ``zstd -19`` of the raw file as the corpus's entropy reference),
append CPU rate, needle searches through the store next to ``grep -F`` over the raw file and
``zstdgrep`` over its ``zstd -3`` copy (best of 3 each), and ``count_over_time`` over every
line through the LogQL engine and through ``select_columns`` directly.

Corpus (default): the realistic one of ``bench/logs_corpus.py`` — a web shop's day: nginx
access lines (16 hosts, 5,000 client IPs, 300 paths, 30 user agents, Zipf-distributed;
status and latency distributions), JSON lines of four services with a W3C trace id per
request, logfmt database lines, sshd and kernel lines; increasing microsecond timestamps.
It is generated once to ``--corpus-dir`` and reused. ``--high-entropy`` uses the old sample
instead (:func:`sample`: a random 48-bit request id on most lines, random IPs and users),
whose ``zstd -3`` alone is about 0.22 of raw. ``--file PATH`` stores a text file (one entry
per line). ``--levels`` prints, for one chunk of the corpus, the sealed chunk's size and
encode CPU time at several zstd levels (how the default level was chosen).

Needles: a trace id with its quotes (``"4bf9…"``: a whole word, so the word Bloom filter
skips chunks), a bare 12-hex-digit fragment of another trace id (the long-word 5-gram filter
skips chunks) and that fragment's first 7 digits (too short for any filter: every chunk's
lines are searched).

Run: ``.venv/bin/python bench/logs_store_bench.py [--lines 10000000] [--high-entropy]
[--file PATH] [--levels] [--keep-store PATH]``
"""

from __future__ import annotations

import argparse
import glob
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
sys.path.insert(0, str(ROOT / "bench"))

import numpy as np  # noqa: E402
from logs_corpus import read_corpus, realistic, write_corpus  # noqa: E402

from vigil.logs.logql import LogQLEngine  # noqa: E402
from vigil.logs.model import LogEntry, StreamSelection  # noqa: E402
from vigil.logs.store import LogStore, Options  # noqa: E402
from vigil.logs.store import chunk as chunkfile  # noqa: E402
from vigil.logs.store._chunk2 import encode_body  # noqa: E402
from vigil.model.labels import Labels  # noqa: E402

NEEDLE = "req-needle-5e1f0c"
ZSTD19_PREFIX = 64 << 20  # zstd -19 is measured on the raw file's first 64 MiB
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


def _blocks(rows: list[tuple[int, Labels, str, str]], size: int = 100_000):
    for i in range(0, len(rows), size):
        part = rows[i:i + size]
        yield (np.array([r[0] for r in part], dtype=np.int64), [r[1] for r in part],
               [r[2] for r in part], [r[3] for r in part])


def corpus_dir(args: argparse.Namespace) -> str:
    """Generate the corpus (once) and return its directory."""
    kind = ("file-" + Path(args.file).name if args.file
            else f"high-entropy-{args.lines}" if args.high_entropy else f"realistic-{args.lines}")
    directory = os.path.join(args.corpus_dir, kind)
    if not os.path.exists(os.path.join(directory, "raw.log")):
        w0 = time.perf_counter()
        if args.file:
            blocks = _blocks(from_file(args.file))
        elif args.high_entropy:
            blocks = _blocks(sample(args.lines))
        else:
            blocks = realistic(args.lines)
        write_corpus(directory, blocks)
        print(f"corpus written to {directory} in {time.perf_counter() - w0:.0f} s")
    raw = os.path.join(directory, "raw.log")
    if not os.path.exists(f"{raw}.3.zst"):  # the entropy reference, kept with the corpus
        subprocess.run(["zstd", "-q", "-3", "-f", raw, "-o", f"{raw}.3.zst"], check=True)
    if not os.path.exists(f"{raw}.19.zst"):  # -19 of a prefix: of 1.5 GB it takes an hour
        with open(raw, "rb") as f:
            subprocess.run(["zstd", "-q", "-19", "-T0", "-c"], input=f.read(ZSTD19_PREFIX),
                           stdout=open(f"{raw}.19.zst", "wb"), check=True)
    return directory


def best_of(n: int, fn) -> tuple[float, float, object]:
    """(best wall s, spread: worst - best, last result) of ``n`` runs."""
    times, result = [], None
    for _ in range(n):
        w0 = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - w0)
    return min(times), max(times) - min(times), result


def append_all(directory: str, store_path: str, batch: int) -> tuple[int, float, float, float]:
    """Append the corpus in batches; returns (lines, append CPU s, of which sealing chunks,
    wall s). Building the LogEntry objects is not counted (that is ingest's)."""
    sealing = [0.0]
    real_write = chunkfile.write_chunk

    def timed_write(*a, **kw):
        c0 = cpu()
        try:
            return real_write(*a, **kw)
        finally:
            sealing[0] += cpu() - c0

    chunkfile.write_chunk = timed_write
    n, append_cpu, w0 = 0, 0.0, time.perf_counter()
    try:
        with LogStore.open(store_path, Options()) as store:
            for ts, labels, lines, levels in read_corpus(directory, batch):
                entries = [LogEntry(t, s, line, v) for t, s, line, v in
                           zip(ts.tolist(), labels, lines, levels, strict=True)]
                c0 = cpu()
                store.append(entries)
                append_cpu += cpu() - c0
                n += len(entries)
            c0 = cpu()
        append_cpu += cpu() - c0  # the close cuts the rest of the head
    finally:
        chunkfile.write_chunk = real_write
    return n, append_cpu, sealing[0], time.perf_counter() - w0


def levels_table(directory: str) -> None:
    """One chunk's worth of the corpus (8 MiB of lines) encoded at several zstd levels."""
    entries: list[LogEntry] = []
    text = 0
    for ts, labels, lines, levels in read_corpus(directory, 1000):
        entries += [LogEntry(t, s, line, v) for t, s, line, v in
                    zip(ts.tolist(), labels, lines, levels, strict=True)]
        text += sum(map(len, lines))
        if text >= 8 << 20:
            break
    raw = text + len(entries)
    print(f"one chunk: {len(entries):,} lines, {raw / 1e6:.1f} MB raw")
    for level in (1, 2, 3, 5, 7, 9, 12, 15, 19):
        best = 1e9
        for _ in range(3):
            c0 = cpu()
            body = encode_body(entries, level)
            best = min(best, cpu() - c0)
        size = sum(len(f) for f in body.frames)
        print(f"  zstd level {level:2d}: body {size / raw:.4f} of raw, encode "
              f"{best * 1000:6.0f} ms CPU = {len(entries) / best:,.0f} lines/CPU-s")


def needles_of(directory: str, n: int, file_mode: bool) -> list[str]:
    """A word needle (a whole trace id in its quotes), a fragment needle (12 hex digits from
    inside another trace id) and a short one (its first 7: under the 8 word bytes the 5-gram
    filter needs, so no filter skips a chunk: a full scan); for a text file, the tail of its
    middle line."""
    wanted = {n // 2: "word", n * 3 // 4: "fragment"}
    found: dict[str, str] = {}
    pos = 0
    for _, _, lines, _ in read_corpus(directory, 100_000):
        for i, line in enumerate(lines):
            kind = wanted.get(pos + i)
            if kind is None:
                continue
            if file_mode:
                found[kind] = line[-12:]
            elif '"trace_id":"' in line:  # the realistic corpus
                ident = line.split('"trace_id":"', 1)[1][:32]
                found[kind] = f'"{ident}"' if kind == "word" else ident[10:22]
            elif "req-" in line:  # the high-entropy sample: its planted needle, a bare id
                found[kind] = NEEDLE if kind == "word" else line.rsplit("req-", 1)[1][:12]
            else:
                wanted[pos + i + 1] = kind  # the next line may have an id
        pos += len(lines)
    if "fragment" in found and not file_mode:
        found["short"] = found["fragment"][:7]
    return [found[k] for k in ("word", "fragment", "short") if k in found]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--lines", type=int, default=1_000_000)
    ap.add_argument("--file")
    ap.add_argument("--high-entropy", action="store_true")
    ap.add_argument("--batch", type=int, default=1000)
    ap.add_argument("--levels", action="store_true")
    ap.add_argument("--corpus-dir", default="/tmp/vigil-logs-corpus")
    ap.add_argument("--store-dir", default=None, help="where the store goes (default: a temp dir)")
    ap.add_argument("--keep-store", help="use (and keep) the store at this path; if it has "
                    "chunks already, skip the append and measure only the rest")
    args = ap.parse_args()
    directory = corpus_dir(args)
    if args.levels:
        levels_table(directory)
        return
    raw_path = os.path.join(directory, "raw.log")
    raw = os.path.getsize(raw_path)
    zstd3, zstd19 = (os.path.getsize(f"{raw_path}.{lv}.zst") for lv in (3, 19))
    prefix = min(raw, ZSTD19_PREFIX)
    with tempfile.TemporaryDirectory(dir=args.store_dir) as tmp:
        store_path = args.keep_store or os.path.join(tmp, "store")
        if glob.glob(os.path.join(store_path, "chunks", "*", "*.chunk")):
            with LogStore.open(store_path, Options()) as store:
                n = store.stats().entries
            append_cpu = sealing_cpu = append_wall = float("nan")
            print(f"store {store_path} reused: append not measured")
        else:
            n, append_cpu, sealing_cpu, append_wall = append_all(directory, store_path,
                                                                 args.batch)
        on_disk = sum(os.path.getsize(os.path.join(d, f))
                      for d, _, fs in os.walk(store_path) for f in fs)
        with LogStore.open(store_path, Options()) as store:
            stats = store.stats()
        print(f"lines {n:,}  raw {raw / 1e6:.1f} MB  chunks {stats.chunks}")
        print(f"on disk {on_disk / 1e6:.2f} MB = {on_disk / raw:.4f} of raw; "
              f"zstd -3 of the raw file {zstd3 / raw:.4f}, zstd -19 {zstd19 / prefix:.4f}"
              + (f" (of its first {prefix >> 20} MiB)" if prefix < raw else ""))
        print(f"append {n / append_cpu:,.0f} lines per CPU-second "
              f"({append_cpu:.1f} CPU-s, of which sealing chunks {sealing_cpu:.1f}; without "
              f"sealing {n / max(append_cpu - sealing_cpu, 1e-9):,.0f} lines per CPU-s; "
              f"{append_wall:.0f} s wall, batches of {args.batch})")
        for needle in needles_of(directory, n, bool(args.file)):
            def search(needle=needle) -> tuple[float, list[LogEntry]]:
                with LogStore.open(store_path, Options()) as store:  # reopened: nothing cached
                    w0 = time.perf_counter()
                    hits = list(store.select(StreamSelection((), 0, 1 << 62, (needle,))))
                    return time.perf_counter() - w0, hits

            def grep(cmd: list[str]) -> str:
                return subprocess.run(cmd, capture_output=True, text=True,
                                      check=False).stdout.strip()

            runs = [search() for _ in range(3)]
            store_s, hits = min(r[0] for r in runs), runs[-1][1]
            store_spread = max(r[0] for r in runs) - store_s
            exact = sum(needle in e.line for e in hits)
            grep_s, grep_spread, grep_n = best_of(3, lambda n=needle: grep(
                ["grep", "-F", "-c", n, raw_path]))
            zg_s, zg_spread, zg_n = best_of(3, lambda n=needle: grep(
                ["zstdgrep", "-F", "-c", n, f"{raw_path}.3.zst"]))
            print(f"needle {needle!r}: store {store_s * 1000:.0f} ms (+{store_spread * 1000:.0f}; "
                  f"{exact} hits) | grep -F {grep_s * 1000:.0f} ms (+{grep_spread * 1000:.0f}; "
                  f"{grep_n} hits) | zstdgrep {zg_s * 1000:.0f} ms (+{zg_spread * 1000:.0f}; "
                  f"{zg_n} hits)")
        with LogStore.open(store_path, Options()) as store:
            everything = StreamSelection((), 0, 1 << 62)
            cols_s, cols_spread, counted = best_of(3, lambda: sum(
                len(b.ts_ns) for b in store.select_columns(everything)))
            start = min(m.min_ts for m in store._chunks.values())
            end = max(m.max_ts for m in store._chunks.values()) + 1
            span_s = -(-(end - start) // 10**9)
            query = f'sum(count_over_time({{app=~".+"}}[{span_s}s]))'
            engine = LogQLEngine(store)
            q_s, q_spread, vector = best_of(3, lambda: engine.instant(query, end))
        print(f"select_columns over every line: {cols_s * 1000:.0f} ms (+{cols_spread * 1000:.0f}; "
              f"{counted:,} rows)")
        print(f"LogQL {query} at the end: {q_s * 1000:.0f} ms (+{q_spread * 1000:.0f}; {vector})")


if __name__ == "__main__":
    main()
