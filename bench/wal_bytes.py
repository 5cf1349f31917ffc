"""WAL bytes per sample and ingest CPU per sample, Vigil vs Prometheus 2.42, same payloads.

Sends the remote-write requests of ``bench/ingest_remote_write.py`` (``--series``
node_exporter-like series × ``--scrapes`` samples over ``--span-h`` hours, default 1.5, so no
block is cut and everything stays in the WAL and the head) to each server in turn, waits
until its CPU is idle, then reads the bytes on disk of its WAL (``wal/``: segments and
checkpoint) and, for Prometheus, of its memory-mapped head chunks (``chunks_head/``; Vigil's
head has no files), and the samples it appended (its own
``*_head_samples_appended_total`` counter, so Vigil's self-scrape counts as written). CPU is
the server process's (``/proc/<pid>/stat``) during the sends.

``--vigil-before DIR`` also runs the Vigil found in ``DIR`` (a checkout of the code before
WAL compression, e.g. ``git archive ea2fba7 vigil | tar -x -C DIR``), so that before and after
are measured in the same run. After each Vigil server stops, this checkout opens its TSDB and
reports the CPU its WAL replay took (for ``vigil-before``: reading the WAL written before
compression). ``--repeat`` runs every server that many times (best and spread reported).
``--commit-ab ROUNDS`` compares the commit path in this process, the old and the new codec
alternating (:func:`commit_ab`). First, and alone with ``--codec-only``, it times the record
codec: encoding and decoding samples records of 2,000 and of 100 samples
(:func:`codec_figures`).

    .venv/bin/python bench/wal_bytes.py --series 100000 --scrapes 80 --vigil-before /tmp/before --repeat 3
    .venv/bin/python bench/wal_bytes.py --codec-only --commit-ab 6 --vigil-before /tmp/before
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import httpx  # noqa: E402
import numpy as np  # noqa: E402
from ingest_remote_write import (  # noqa: E402
    cpu_s,
    dir_bytes,
    first_timestamp,
    free_port,
    make_payloads,
    make_series,
    send_all,
    settle,
    wait_ready,
)

from vigil.tsdb import _records  # noqa: E402


def _appended(base: str, name: str) -> int:
    total = 0.0
    for line in httpx.get(base + "/metrics", timeout=60).text.splitlines():
        if line.startswith(name + " ") or line.startswith(name + "{"):
            total += float(line.rsplit(" ", 1)[1])
    return int(total)


def _bytes(path: str) -> int:
    return dir_bytes(path) if os.path.isdir(path) else 0


def run_server(kind: str, work: str, payloads: list[bytes], before_dir: str | None) -> dict:
    """Start one server, send everything, wait for idle; bytes and CPU figures."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    data = os.path.join(work, f"{kind}-data")
    env = None
    if kind == "prometheus":
        cfg = os.path.join(work, "prometheus.yml")
        with open(cfg, "w") as f:
            f.write("global:\n  scrape_interval: 1h\n")
        argv = ["/usr/bin/prometheus", f"--config.file={cfg}", f"--storage.tsdb.path={data}",
                f"--web.listen-address=127.0.0.1:{port}", "--web.enable-remote-write-receiver"]
        wal, head, counter = (os.path.join(data, "wal"), os.path.join(data, "chunks_head"),
                              "prometheus_tsdb_head_samples_appended_total")
    else:
        cfg = os.path.join(work, "vigil.yml")
        with open(cfg, "w") as f:
            f.write("default_rules: false\ncollectors:\n  host:\n    enabled: false\n")
        argv = [sys.executable, "-m", "vigil", "up", "--config", cfg, "--data-dir", data,
                "--listen", f"127.0.0.1:{port}", "--log-level", "warning"]
        wal, head, counter = (os.path.join(data, "tsdb", "wal"), None,
                              "vigil_tsdb_head_samples_appended_total")
        if kind == "vigil-before":
            env = dict(os.environ, PYTHONPATH=before_dir or "")  # its vigil first
    log_file = open(os.path.join(work, f"{kind}.log"), "w")  # noqa: SIM115 (closed below)
    proc = subprocess.Popen(argv, env=env, cwd=work, stdout=subprocess.DEVNULL, stderr=log_file)
    try:
        wait_ready(base + "/-/ready", proc)
        time.sleep(3)
        pid = proc.pid
        wal0, cpu0 = _bytes(wal), cpu_s(pid)
        wall = send_all(base, payloads)
        cpu = cpu_s(pid) - cpu0
        settle(proc, os.path.join(data, "blocks"), 0)
        appended = _appended(base, counter)
        wal_b = _bytes(wal)
        head_b = _bytes(head) if head else 0
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(600)
        log_file.close()
    replay = _replay(os.path.join(data, "tsdb")) if kind != "prometheus" else {}
    shutil.rmtree(data, ignore_errors=True)
    return {"server": kind, **replay, "samples_appended": appended, "wal_bytes": wal_b,
            "wal_bytes_before_sends": wal0, "head_file_bytes": head_b,
            "wal_bytes_per_sample": round(wal_b / appended, 2),
            "wal_and_head_bytes_per_sample": round((wal_b + head_b) / appended, 2),
            "cpu_s_sends": round(cpu, 2), "wall_s": round(wall, 1)}


def _replay(tsdb_dir: str) -> dict:
    """Open the stopped server's TSDB with this checkout's code (which reads the WAL of the
    code before compression too): CPU to replay its WAL, and the samples it holds."""
    from vigil.tsdb import DB

    t = time.process_time()
    db = DB.open(tsdb_dir, wal_fsync="off", compact_interval_s=3600)
    cpu = time.process_time() - t
    samples = db.stats()["samples"]
    db.close()
    return {"replay_cpu_s": round(cpu, 2), "samples_replayed": samples}


def codec_figures(repeat: int) -> dict:
    """CPU per sample to encode and decode samples records like the bench's scrapes, of
    2,000 samples (a remote-write request) and of 100 (a small scrape or rule group): as
    before compression, as commits write them now (snappy) and as checkpoints do (zstd)."""
    rng = np.random.default_rng(1)
    total = 400_000
    kind = np.arange(total) % 3
    vals = np.where(kind == 0, rng.integers(0, 10**6, total).astype(float),
                    np.where(kind == 1, np.round(rng.normal(500, 50, total), 2), 42.0))

    def raw(refs: np.ndarray, ts: np.ndarray, v: np.ndarray) -> bytes:  # the old layout
        return b"".join((bytes([_records.SAMPLES]), len(refs).to_bytes(4, "little"),
                         refs.tobytes(), ts.tobytes(), v.tobytes()))

    def snappy(refs: np.ndarray, ts: np.ndarray, v: np.ndarray) -> bytes:
        return _records.encode_samples(refs, ts, v, codec="snappy")

    def zstd(refs: np.ndarray, ts: np.ndarray, v: np.ndarray) -> bytes:
        return _records.encode_samples(refs, ts, v, codec="zstd")

    out: dict = {}
    for n in (2000, 100):
        recs = [(np.arange(i, i + n, dtype=np.uint64) + 1,
                 np.full(n, 1_700_000_000_000 + i * 15, np.int64), vals[i:i + n])
                for i in range(0, total, n)]
        for name, enc in (("uncompressed", raw), ("snappy", snappy), ("zstd", zstd)):
            enc_s, dec_s = [], []
            for _ in range(repeat):
                t = time.process_time()
                payloads = [enc(*r) for r in recs]
                enc_s.append(time.process_time() - t)
                t = time.process_time()
                for p in payloads:
                    _records.decode(p)
                dec_s.append(time.process_time() - t)
            out[f"{name}_{n}"] = {
                "bytes_per_sample": round(sum(map(len, payloads)) / total, 2),
                "encode_ns_per_sample": sorted(round(s / total * 1e9) for s in enc_s),
                "decode_ns_per_sample": sorted(round(s / total * 1e9) for s in dec_s)}
    return out


def commit_ab(before_dir: str, rounds: int, n_series: int = 20_000, scrapes: int = 30,
              batch: int = 2000) -> dict:
    """In this process, the TSDB's column-wise append and commit (the remote-write path) with
    the record codec of ``before_dir`` and with this checkout's, alternating ``rounds`` times:
    CPU per sample of the commits and WAL bytes per sample. Less noisy than the servers'
    figures on a shared machine, as both codecs run in the same conditions, turn by turn."""
    import importlib.util

    import vigil.tsdb.appender as appender_module
    from vigil.model import Labels
    from vigil.tsdb import DB

    spec = importlib.util.spec_from_file_location(
        "records_before", os.path.join(before_dir, "vigil", "tsdb", "_records.py"))
    assert spec is not None and spec.loader is not None
    before = importlib.util.module_from_spec(spec)
    sys.modules["records_before"] = before  # dataclasses look their module up there
    spec.loader.exec_module(before)
    labels = [Labels.of(__name__=f"m{i % 7}", instance=f"10.0.{i // 250}.{i % 250}:9100",
                        job="node", cpu=str(i % 8)) for i in range(n_series)]
    kind = np.arange(n_series) % 3

    def run(codec: object) -> tuple[float, int]:
        appender_module._records = codec  # type: ignore[assignment]
        rng = np.random.default_rng(1)
        cur = rng.integers(0, 10_000, n_series).astype(float)
        path = tempfile.mkdtemp(prefix="vigil-bench-wal-ab-")
        db = DB.open(path, wal_fsync="off", compact_interval_s=3600)
        cpu = 0.0
        try:
            for k in range(scrapes):
                cur = np.where(kind == 0, cur + rng.integers(0, 500, n_series),
                               np.where(kind == 1, np.round(cur + rng.normal(0, 2, n_series), 2),
                                        cur))
                vals = cur.tolist()
                ts = [1_700_000_000_000 + k * 15_000] * batch
                for a in range(0, n_series, batch):
                    t = time.process_time()
                    app = db.appender()
                    app.append_columns(labels[a:a + batch], ts, vals[a:a + batch])
                    app.commit()
                    cpu += time.process_time() - t
            return cpu, db.stats()["wal_bytes"]
        finally:
            db.close()
            shutil.rmtree(path, ignore_errors=True)
            appender_module._records = _records

    got: dict[str, list[tuple[float, int]]] = {"before": [], "now": []}
    for _ in range(rounds):
        got["before"].append(run(before))
        got["now"].append(run(_records))
    n = n_series * scrapes
    return {name: {"commit_ns_per_sample": sorted(round(c / n * 1e9) for c, _ in rs),
                   "wal_bytes_per_sample": round(rs[0][1] / n, 2)} for name, rs in got.items()}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--series", type=int, default=100_000)
    p.add_argument("--scrapes", type=int, default=80)
    p.add_argument("--batch", type=int, default=2000, help="samples per request")
    p.add_argument("--span-h", type=float, default=1.5,
                   help="hours the timestamps span; keep under 3 so that no block is cut")
    p.add_argument("--vigil-before", help="directory holding the package `vigil` before "
                                          "WAL compression, run as a third server")
    p.add_argument("--repeat", type=int, default=1)
    p.add_argument("--codec-only", action="store_true")
    p.add_argument("--commit-ab", type=int, default=0, metavar="ROUNDS",
                   help="with --vigil-before: also compare the commit path in this process, "
                        "the old and the new codec alternating ROUNDS times")
    args = p.parse_args()
    print(json.dumps({"codec": codec_figures(max(args.repeat, 3))}), flush=True)
    if args.commit_ab:
        if not args.vigil_before:
            p.error("--commit-ab needs --vigil-before")
        print(json.dumps({"commit_ab": commit_ab(args.vigil_before, args.commit_ab)}),
              flush=True)
    if args.codec_only:
        return
    if args.series < 1 or args.scrapes < 2 or not 0 < args.span_h < 3:
        p.error("--series positive, --scrapes at least 2, 0 < --span-h < 3")
    if args.vigil_before and not os.path.isfile(
            os.path.join(args.vigil_before, "vigil", "__init__.py")):
        p.error(f"{args.vigil_before} holds no vigil package")
    step_ms = int(args.span_h * 3600_000 / (args.scrapes - 1))
    payloads = make_payloads(make_series(args.series), args.scrapes, args.batch,
                             first_timestamp(), step_ms)
    servers = ["vigil"] + (["vigil-before"] if args.vigil_before else []) + ["prometheus"]
    work = tempfile.mkdtemp(prefix="vigil-bench-wal-")
    results: dict[str, list[dict]] = {s: [] for s in servers}
    try:
        for _ in range(args.repeat):
            for s in servers:
                results[s].append(run_server(s, work, payloads, args.vigil_before))
                print(json.dumps(results[s][-1]), flush=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    n = args.series * args.scrapes
    for s, rs in results.items():
        cpu = sorted(r["cpu_s_sends"] for r in rs)
        b = sorted(r["wal_and_head_bytes_per_sample"] for r in rs)
        print(f"# {s}: WAL+head {b[0]}–{b[-1]} bytes/sample (WAL only "
              f"{min(r['wal_bytes_per_sample'] for r in rs)}); ingest "
              f"{cpu[0] / n * 1e6:.2f}–{cpu[-1] / n * 1e6:.2f} CPU-µs/sample "
              f"({n / cpu[0]:,.0f} samples per CPU-s at best)"
              + (f"; WAL replay {min(r['replay_cpu_s'] for r in rs)} CPU-s with this checkout"
                 if "replay_cpu_s" in rs[0] else ""))


if __name__ == "__main__":
    main()
