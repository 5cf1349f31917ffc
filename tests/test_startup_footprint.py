"""What a Vigil with the default configuration loads at start (issue 21, "start small"): the
client libraries of collectors it does not run, single sign-on, calendar feeds and the demo
stay out of the process, as does alembic when the state database is already at its newest
schema, and numba (with llvmlite, some 70 MB): the PromQL kernels run as plain Python for
the small inputs of rule evaluations and load the compiled kernels only for big queries, and
the log kernels load only once logs are ingested."""

from __future__ import annotations

import subprocess
import sys
import time

import httpx

from tests.support.ports import free_port

NOT_LOADED = ("psycopg", "redis", "paho", "dns", "kubernetes", "joserfc", "icalendar", "rich",
              "vigil.demo", "alembic", "numba", "llvmlite", "vigil.promql._kernel_jit",
              "vigil.logs._hintscan_kernel", "vigil.logs.store._bloom_kernels")


def test_the_default_app_loads_no_library_it_does_not_use(tmp_path):
    code = f"""
import sys
from vigil.app import App, check
from vigil.state.store import Store
Store.open_in({str(tmp_path / "data")!r}).close()  # the schema exists, as after a first start
for name in [m for m in sys.modules if m.split(".")[0] == "alembic"]:
    del sys.modules[name]
app = App(check(None, frozenset()), data_dir={str(tmp_path / "data")!r},
          listen="127.0.0.1:0", config_file=None, demo=False, web_config=None)
loaded = sorted(n for n in {NOT_LOADED!r} if n in sys.modules)
assert not loaded, loaded
"""
    subprocess.run([sys.executable, "-c", code], check=True, cwd=tmp_path, timeout=120)


def _mapped_libraries(pid: int) -> set[str]:
    with open(f"/proc/{pid}/maps") as f:
        return {line.split()[5].rsplit("/", 1)[-1] for line in f if len(line.split()) > 5}


def test_a_running_default_vigil_evaluates_its_metric_rules_without_numba(tmp_path):
    # The default configuration, only faster: self-scrape and rule evaluation every second.
    config = tmp_path / "vigil.yml"
    config.write_text("global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n")
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    proc = subprocess.Popen([sys.executable, "-m", "vigil", "up", "--config", str(config),
                             "--data-dir", str(tmp_path / "data"), "--listen",
                             f"127.0.0.1:{port}", "--log-level", "warning"], cwd=tmp_path)
    try:
        deadline = time.monotonic() + 90
        evaluated = set()
        while time.monotonic() < deadline:
            assert proc.poll() is None, f"vigil up exited with {proc.returncode}"
            try:
                groups = httpx.get(base + "/api/v1/rules", timeout=5).json()["data"]["groups"]
                # The shipped log rule groups run LogQL every minute over an empty log store
                # here; waiting a minute for them would test nothing about PromQL's kernels.
                groups = [g for g in groups if "/logs/shipped/" not in g.get("file", "")]
                up = httpx.get(base + "/api/v1/query", params={"query": "up"}, timeout=5).json()
            except (httpx.HTTPError, ValueError, KeyError):
                time.sleep(0.5)
                continue
            evaluated = {g["name"] for g in groups if g.get("evaluationTime", 0) > 0}
            if groups and len(evaluated) == len(groups) and up["data"]["result"]:
                break
            time.sleep(0.5)
        assert groups and len(evaluated) == len(groups), "rules not evaluated"
        # A few more rounds over a growing head, and a small range query from the API.
        time.sleep(3)
        r = httpx.get(base + "/api/v1/query_range", timeout=10, params={
            "query": "sum(rate(up[1m]))", "start": time.time() - 300, "end": time.time(),
            "step": 15}).json()
        assert r["status"] == "success", r
        heavy = {lib for lib in _mapped_libraries(proc.pid) if "llvm" in lib or "numba" in lib}
        assert not heavy, f"numba loaded by an idle default Vigil: {sorted(heavy)}"
    finally:
        proc.terminate()
        proc.wait(60)
