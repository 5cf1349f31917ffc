"""The real amtool (Debian's prometheus-alertmanager) against a running Vigil: add and
query alerts, add, query and expire silences (A2, A4)."""

from __future__ import annotations

import json
import subprocess

import httpx
import pytest

from tests.support.vigil_proc import eventually

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def vigil(alerting_vigil):
    return alerting_vigil


def amtool(vigil, *args: str) -> str:
    result = subprocess.run(["amtool", f"--alertmanager.url={vigil.url}", *args],
                            capture_output=True, text=True, timeout=30)
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_alerts_added_and_queried_with_amtool(vigil):
    amtool(vigil, "alert", "add", "alertname=DiskFull", "severity=warning", "instance=db-1",
           "--annotation=summary=disk almost full")
    alerts = json.loads(amtool(vigil, "alert", "query", "-o", "json"))
    [alert] = [a for a in alerts if a["labels"]["alertname"] == "DiskFull"]
    assert alert["labels"] == {"alertname": "DiskFull", "severity": "warning", "instance": "db-1"}
    assert alert["annotations"] == {"summary": "disk almost full"}
    assert alert["status"]["state"] == "active"
    assert alert["receivers"] == [{"name": "ops"}]
    assert "DiskFull" in amtool(vigil, "alert", "query", "alertname=DiskFull")


def test_silence_add_query_expire_with_amtool(vigil):
    amtool(vigil, "alert", "add", "alertname=HighCPU", "instance=web-1")
    silence_id = amtool(vigil, "silence", "add", "alertname=HighCPU", "instance=~web-.*",
                        "--author=alice", "--comment=kernel upgrade", "--duration=1h").strip()
    assert len(silence_id) == 36

    [silence] = json.loads(amtool(vigil, "silence", "query", "-o", "json"))
    assert silence["id"] == silence_id and silence["createdBy"] == "alice"
    assert silence["status"]["state"] == "active"
    assert {"name": "instance", "value": "web-.*", "isRegex": True, "isEqual": True} in silence["matchers"]

    # The alert is now suppressed: hidden from the default query, shown with --silenced.
    assert "HighCPU" not in amtool(vigil, "alert", "query")
    silenced = json.loads(amtool(vigil, "alert", "query", "--silenced", "-o", "json"))
    [alert] = [a for a in silenced if a["labels"]["alertname"] == "HighCPU"]
    assert alert["status"]["state"] == "suppressed" and alert["status"]["silencedBy"] == [silence_id]

    amtool(vigil, "silence", "expire", silence_id)
    assert json.loads(amtool(vigil, "silence", "query", "-o", "json")) == []
    expired = json.loads(amtool(vigil, "silence", "query", "--expired", "-o", "json"))
    assert [s["id"] for s in expired] == [silence_id]
    eventually(lambda: "HighCPU" in amtool(vigil, "alert", "query"), what="alert active again")


def test_api_v2_rejects_bad_bodies_with_reasons(vigil):
    cases = [
        ("/api/v2/alerts", {"labels": {}}, "body must be a list"),
        ("/api/v2/alerts", [{"labels": {}}], "labels must be a non-empty object"),
        ("/api/v2/alerts", [{"labels": {"a": "b"}, "startsAt": "yesterday"}], "not an RFC 3339 time"),
        ("/api/v2/silences", {"matchers": [], "startsAt": "2030-01-01T00:00:00Z",
                              "endsAt": "2030-01-02T00:00:00Z", "createdBy": "a", "comment": "c"},
         "at least one matcher"),
    ]
    for path, body, message in cases:
        resp = httpx.post(f"{vigil.url}{path}", json=body, timeout=10)
        assert resp.status_code == 400, (path, resp.text)
        assert message in resp.json()
    assert httpx.get(f"{vigil.url}/api/v2/silence/does-not-exist", timeout=10).status_code == 404
    status = httpx.get(f"{vigil.url}/api/v2/status", timeout=10).json()
    assert status["cluster"]["status"] == "disabled" and "receivers" in status["config"]["original"]
