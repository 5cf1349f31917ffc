"""The PromQL kernels' two ways (:mod:`vigil.promql._kernel`) timed on the same inputs: the
plain Python loops and the numba-compiled copy, per call and per work unit (samples read +
series x steps written + samples summed by the scanning functions), for ``rate`` and ``sum_over_time`` range queries and an instant
selection of growing size; and what loading the compiled kernels costs a fresh process
(import of numba and the kernels from the on-disk cache, first call, RSS before and after).
This is where :data:`vigil.promql._kernel.PLAIN_LIMIT` comes from.

``flock /tmp/vigil-bench.lock .venv/bin/python bench/kernel_paths.py``
"""

from __future__ import annotations

import subprocess
import sys
import time
from functools import partial

import numpy as np

from vigil.promql import _kernel

STALE_BITS = 0x7FF0000000000002


def inputs(series: int, samples: int, steps: int) -> tuple[np.ndarray, ...]:
    t = np.tile(np.arange(samples, dtype=np.int64) * 15_000, series)
    v = np.cumsum(np.ones(series * samples))
    offsets = np.arange(series + 1, dtype=np.int64) * samples
    ends = np.linspace(300_000, samples * 15_000, steps).astype(np.int64)
    return t, v, offsets, ends - 300_000, ends


def best_of(call, repeat: int = 5) -> float:
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        call()
        best = min(best, time.perf_counter() - t0)
    return best


def load_cost() -> str:
    code = ("import time\n"
            "def rss():\n"
            "    return int(open('/proc/self/status').read().split('VmRSS:')[1].split()[0])/1024\n"
            "import numpy as np\n"
            "from vigil.promql import _kernel\n"
            "r0 = rss(); t0 = time.perf_counter(); c0 = time.process_time()\n"
            "_kernel.MODE = 'compiled'\n"
            "_kernel.evaluate('rate', np.arange(10) * 15000, np.arange(10.0), np.array([0, 10]),"
            " np.array([0]), np.array([150000]), 300000)\n"
            "print(f'{time.perf_counter() - t0:.2f} s wall, {time.process_time() - c0:.2f} "
            "CPU-s, RSS {r0:.0f} -> {rss():.0f} MB')\n")
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True).stdout.strip()


def main() -> None:
    print("loading the compiled kernels in a fresh process (warm cache):", load_cost())
    print(f"{'input':38}{'work':>10}{'plain ms':>10}{'compiled ms':>13}"
          f"{'plain µs/unit':>15}{'ratio':>8}")
    for series, samples, steps in [(1, 20, 1), (5, 40, 1), (20, 40, 1), (10, 240, 60),
                                   (50, 240, 120), (100, 240, 240), (500, 240, 240)]:
        t, v, offsets, starts, ends = inputs(series, samples, steps)
        work = {"rate": _kernel._range_work(_kernel.KERNEL_FUNCTIONS["rate"], t, series, steps,
                                            300_000),
                "sum_over_time": _kernel._range_work(_kernel.KERNEL_FUNCTIONS["sum_over_time"],
                                                     t, series, steps, 300_000),
                "instant": len(t) + series * steps}
        calls = {
            "rate": partial(_kernel.evaluate, "rate", t, v, offsets, starts, ends, 300_000),
            "sum_over_time": partial(_kernel.evaluate, "sum_over_time", t, v, offsets, starts,
                                     ends, 300_000),
            "instant": partial(_kernel.instant_select, t, v, offsets, ends, 300_000, STALE_BITS),
        }
        for name, call in calls.items():
            took = {}
            for mode in ("python", "compiled"):
                _kernel.MODE = mode
                call()
                took[mode] = best_of(call)
            label = f"{name} {series}x{samples} samples, {steps} st"
            print(f"{label:38}{work[name]:>10,}{took['python'] * 1e3:>10.2f}"
                  f"{took['compiled'] * 1e3:>13.3f}{took['python'] / work[name] * 1e6:>15.2f}"
                  f"{took['python'] / took['compiled']:>8.0f}")


if __name__ == "__main__":
    main()
