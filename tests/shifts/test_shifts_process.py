"""A real ``vigil up`` process: as primary it opens the shift on its own and runs the shift's
checks once (claimed in the state database), Vigil's own ``up`` series as the evidence; the
checklist is then ticked and handed over with ``vigil shifts`` as a user would, and the hand-over
survives ``kill -9`` and a restart; the check run's claim is marked done in the state
database, so no replica or restart runs that shift's checks again."""

from __future__ import annotations

import signal
import textwrap

import httpx
from typer.testing import CliRunner

from tests.support.vigil_proc import VigilProcess, eventually
from vigil.cli import cli
from vigil.shifts.loop import claim_key
from vigil.state import Store

AUTH = ("root", "root-password-1")
API = "/api/vigil/v1/shifts"


def _current(vigil: VigilProcess) -> dict:
    resp = httpx.get(f"{vigil.url}{API}/current", auth=AUTH, timeout=10)
    resp.raise_for_status()
    return resp.json()["data"]


def test_the_primary_checks_the_shift_once_and_the_handover_survives_kill_9(tmp_path):
    config = tmp_path / "vigil.yml"
    (tmp_path / "root.pw").write_text(AUTH[1])
    config.write_text(textwrap.dedent("""
        default_rules: false
        collectors: {host: {enabled: false}}
        users:
          - {name: root, role: admin, password_file: root.pw}
        shifts:
          shifts:
            - name: day
              start: "00:00"
              items:
                - {title: Verify monitoring systems are healthy, key: monitoring, check: monitoring_healthy}
                - {title: Check tomorrow's maintenance windows, key: maintenance}
        """))
    vigil = VigilProcess(config, tmp_path / "data").start()
    try:
        # The loop's first pass (30 s after start) opens the shift and checks it.
        checked = eventually(lambda: (s := _current(vigil))["items"][0]["by"] == "vigil" and s,
                             timeout=50, interval=1, what="the shift's automatic check")
        monitoring = checked["items"][0]
        assert monitoring["status"] == "ok", monitoring
        assert monitoring["evidence"]["query"] == "up"
        assert {"__name__": "up", "instance": vigil.url.removeprefix("http://"), "job": "vigil"} in [
            s["labels"] for s in monitoring["evidence"]["series"]]

        token = httpx.post(f"{vigil.url}/api/vigil/v1/tokens", auth=AUTH, timeout=10,
                           json={"name": "shift-cli", "role": "responder"}).json()["data"]["token"]
        runner = CliRunner()
        common = ["--url", vigil.url, "--token", token]
        r = runner.invoke(cli, ["shifts", "tick", "current", "maintenance", "--note", "none planned", *common])
        assert r.exit_code == 0, r.output
        r = runner.invoke(cli, ["shifts", "handover", "current", "--note", "quiet day", *common])
        assert r.exit_code == 0, r.output

        vigil.stop(signal.SIGKILL)
        vigil.start()
        after = _current(vigil)
        assert after["id"] == checked["id"] and after["handover_note"] == "quiet day"
        assert after["items"][1]["status"] == "done" and after["items"][1]["note"] == "none planned"
    finally:
        vigil.stop()
    store = Store.open_in(str(tmp_path / "data"))
    claim = store.run_once_get(claim_key(checked["id"]))
    store.close()
    assert claim is not None and claim["done_at"] is not None and claim["detail"]["checked"] == 1
