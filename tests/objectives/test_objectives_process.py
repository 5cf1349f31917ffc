"""A real ``vigil up`` process over a state database holding this week's alert episodes:
Vigil exports the objectives on its /metrics, its self-scrape stores them in the TSDB, and a
rule with the shipped "MTTA this week above 5 minutes" expression fires on them; the API
answers the same figure."""

from __future__ import annotations

import textwrap
from datetime import datetime, timedelta, timezone
from pathlib import Path

import httpx
import yaml

from tests.objectives.history import record_episode
from tests.support.vigil_proc import VigilProcess, eventually
from vigil.state import Store

SHIPPED = Path(__file__).parents[2] / "vigil" / "objectives" / "rules" / "objectives.yml"


def test_exported_mtta_reaches_the_tsdb_and_fires_the_shipped_rule(tmp_path):
    store = Store.open_in(str(tmp_path / "data"))
    store.migrate()
    now = datetime.now(timezone.utc)
    # This week: acknowledged after 400 s and 600 s -> MTTA 500 s, over the 5-minute target.
    record_episode(store, "DiskFull", now - timedelta(days=2), "P2", {"team": "db"}, 400, 900, "actionable")
    record_episode(store, "ApiDown", now - timedelta(days=1), "P1", {"team": "web"}, 600, None, None)
    store.close()
    # The shipped rule's expression, without its 15 minutes "for" (the figure does not change).
    [shipped] = [r for r in yaml.safe_load(SHIPPED.read_text())["groups"][0]["rules"]
                 if r["alert"] == "ObjectiveMTTAAboveTarget"]
    (tmp_path / "rules.yml").write_text(yaml.safe_dump({"groups": [{"name": "objectives", "interval": "1s", "rules": [
        {"alert": shipped["alert"], "expr": shipped["expr"], "labels": shipped["labels"]}]}]}))
    config = tmp_path / "vigil.yml"
    config.write_text(textwrap.dedent("""
        global: {scrape_interval: 1s, evaluation_interval: 1s}
        default_rules: false
        collectors: {host: {enabled: false}}
        rule_files: [rules.yml]
        objectives:
          export_interval: 1s
        """))
    vigil = VigilProcess(config, tmp_path / "data").start()
    try:
        stored = eventually(lambda: vigil.query('vigil_objective_mtta_seconds{priority="all",window="7d"}'),
                            timeout=40, interval=0.5, what="the exported MTTA in the TSDB")
        assert [float(s["value"][1]) for s in stored] == [500.0]
        assert stored[0]["metric"]["job"] == "vigil"
        firing = eventually(lambda: [a for a in vigil.get("/api/v1/alerts")["alerts"]
                                     if a["labels"]["alertname"] == "ObjectiveMTTAAboveTarget"
                                     and a["state"] == "firing"],
                            timeout=40, interval=0.5, what="the MTTA alert firing")
        assert firing[0]["labels"]["window"] == "7d" and float(firing[0]["value"]) == 500.0
        api = httpx.get(f"{vigil.url}/api/vigil/v1/objectives", timeout=10,
                        params={"start": (now - timedelta(days=7)).isoformat().replace("+00:00", "Z"),
                                "end": (now + timedelta(minutes=1)).isoformat().replace("+00:00", "Z")})
        targets = {t["name"]: t for t in api.json()["data"]["targets"]}
        assert (targets["mtta"]["actual"], targets["mtta"]["met"]) == (500, False)
        page = httpx.get(f"{vigil.url}/objectives", timeout=10)
        assert page.status_code == 200 and "8m 20s" in page.text
    finally:
        vigil.stop()
