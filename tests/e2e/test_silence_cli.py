"""``vigil silence`` as a subprocess against a running Vigil: add, query, update and expire
silences with equality and regex matchers, and the errors users see (A2)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import datetime

import httpx
import pytest

from tests.support.ports import free_port

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def vigil(alerting_vigil):
    return alerting_vigil


def run(*args: str, url: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "VIGIL_URL"}
    if url is not None:
        env["VIGIL_URL"] = url
    return subprocess.run([sys.executable, "-m", "vigil", "silence", *args], capture_output=True,
                          text=True, timeout=30, env=env)


def ok(vigil, *args: str) -> str:
    result = run(*args, url=vigil.url)
    assert result.returncode == 0, result.stderr
    return result.stdout


def query_json(vigil, *args: str) -> list[dict]:
    return json.loads(ok(vigil, "query", "--json", *args))


def alert(vigil, name: str) -> dict:
    alerts = httpx.get(f"{vigil.url}/api/v2/alerts", timeout=10).json()
    [found] = [a for a in alerts if a["labels"]["alertname"] == name]
    return found


def test_add_query_update_expire(vigil):
    resp = httpx.post(f"{vigil.url}/api/v2/alerts", timeout=10,
                      json=[{"labels": {"alertname": "HighCPU", "instance": "web-1"}}])
    assert resp.status_code == 200
    assert alert(vigil, "HighCPU")["status"]["state"] == "active"

    # --url is taken over $VIGIL_URL, which points nowhere here.
    added = run("add", "alertname=HighCPU", 'instance=~"web-.*"', "--comment", "kernel upgrade",
                "--author", "alice", "--duration", "1h", "--url", vigil.url,
                url=f"http://127.0.0.1:{free_port()}")
    assert added.returncode == 0, added.stderr
    silence_id = added.stdout.strip()
    assert len(silence_id) == 36

    [silence] = query_json(vigil)
    assert silence["id"] == silence_id and silence["createdBy"] == "alice"
    assert silence["comment"] == "kernel upgrade" and silence["status"]["state"] == "active"
    assert silence["matchers"] == [
        {"name": "alertname", "value": "HighCPU", "isRegex": False, "isEqual": True},
        {"name": "instance", "value": "web-.*", "isRegex": True, "isEqual": True},
    ]
    table = ok(vigil, "query")
    assert silence_id in table and 'instance=~"web-.*"' in table and "kernel upgrade" in table
    # A matcher filter the silence does not have hides it.
    assert silence_id in ok(vigil, "query", "alertname=HighCPU")
    assert query_json(vigil, "alertname=Other") == []

    suppressed = alert(vigil, "HighCPU")
    assert suppressed["status"]["state"] == "suppressed"
    assert silence_id in suppressed["status"]["silencedBy"]

    # Extend to 3h from now and change the comment; the server picks the id.
    ends_before = datetime.fromisoformat(silence["endsAt"])
    updated_id = ok(vigil, "update", silence_id, "--duration", "3h", "--comment", "longer").strip()
    [updated] = query_json(vigil)
    assert updated["id"] == updated_id and updated["comment"] == "longer"
    assert (datetime.fromisoformat(updated["endsAt"]) - ends_before).total_seconds() > 3600
    assert updated_id in alert(vigil, "HighCPU")["status"]["silencedBy"]

    ok(vigil, "expire", updated_id)
    assert updated_id not in ok(vigil, "query")
    assert query_json(vigil) == []
    assert updated_id in [s["id"] for s in query_json(vigil, "--expired")]
    assert updated_id in ok(vigil, "query", "--expired")


def test_add_with_explicit_start_and_end_is_pending(vigil):
    silence_id = ok(vigil, "add", "alertname=Deploy", "env!=prod", "--comment", "later", "--start", "2099-01-01T00:00:00Z",
                    "--end", "2099-01-01T02:00:00+00:00").strip()
    [silence] = [s for s in query_json(vigil) if s["id"] == silence_id]
    assert silence["status"]["state"] == "pending"
    assert silence["startsAt"].startswith("2099-01-01T00:00:00") and silence["endsAt"].startswith("2099-01-01T02:00:00")
    assert {"name": "env", "value": "prod", "isRegex": False, "isEqual": False} in silence["matchers"]
    ok(vigil, "expire", silence_id)


def test_errors_exit_1_with_clear_messages(vigil):
    bad = run("add", 'instance=~"web-(["', "--comment", "x", url=vigil.url)
    assert bad.returncode == 1 and 'instance=~"web-(["' in bad.stderr and "regular expression" in bad.stderr

    garbage = run("add", "alertname", "--comment", "x", url=vigil.url)
    assert garbage.returncode == 1 and "bad matcher" in garbage.stderr and "alertname" in garbage.stderr

    # The server's own message for a matcher that matches everything (400).
    empty = run("add", 'instance=~".*"', "--comment", "x", url=vigil.url)
    assert empty.returncode == 1 and "must not match the empty string" in empty.stderr

    unknown = "00000000-0000-0000-0000-000000000000"
    for args in (["expire", unknown], ["update", unknown, "--comment", "x"]):
        result = run(*args, url=vigil.url)
        assert result.returncode == 1 and f"silence {unknown} not found" in result.stderr, result.stderr

    nowhere = f"http://127.0.0.1:{free_port()}"
    for args in (["query"], ["add", "a=b", "--comment", "x"]):
        result = run(*args, url=nowhere)
        assert result.returncode == 1 and f"cannot reach Vigil at {nowhere}" in result.stderr, result.stderr

    both = run("add", "a=b", "--comment", "x", "--duration", "1h", "--end", "2099-01-01T00:00:00Z", url=vigil.url)
    assert both.returncode == 1 and "not both" in both.stderr
