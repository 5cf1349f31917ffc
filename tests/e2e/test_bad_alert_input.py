"""Bad input on the Alertmanager API gets a 400 with the reason, never a 500 (A4)."""

from __future__ import annotations

import httpx
import pytest

from tests.support.vigil_proc import VigilProcess

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def vigil(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("badinput")
    proc = VigilProcess(None, tmp / "data").start()
    yield proc
    proc.stop()


GOOD = {"labels": {"alertname": "A"}}


@pytest.mark.parametrize("body,message", [
    ([{"labels": {"alertname": "A"}, "annotations": ["x"]}], "annotations must be an object"),
    ([{"labels": {"alertname": 1}}], "value of 'alertname' must be a string"),
    ([{"labels": {"1bad": "x"}}], "invalid label name '1bad'"),
    ([{"labels": ["alertname"]}], "labels must be a non-empty object"),
    ([GOOD, {"labels": {"alertname": "B"}, "startsAt": 17}], "alert 1: startsAt: expected an RFC 3339"),
    ([{**GOOD, "startsAt": "2026-01-02T00:00:00Z", "endsAt": "2026-01-01T00:00:00Z"}],
     "start time must be before end time"),
    ([{**GOOD, "generatorURL": 5}], "generatorURL must be a string"),
    ([7], "alert 0: must be an object"),
])
def test_malformed_alerts_are_rejected_with_reason(vigil, body, message):
    resp = httpx.post(f"{vigil.url}/api/v2/alerts", json=body, timeout=10)
    assert resp.status_code == 400, resp.text
    assert message in resp.json()


def test_body_that_is_not_json(vigil):
    resp = httpx.post(f"{vigil.url}/api/v2/alerts", content=b"{not json", timeout=10,
                      headers={"Content-Type": "application/json"})
    assert resp.status_code == 400 and "not valid JSON" in resp.json()


@pytest.mark.parametrize("body,message", [
    ({"matchers": [{"name": "a", "value": "b", "isRegex": False}], "startsAt": "2030-01-02T00:00:00Z",
      "endsAt": "2030-01-01T00:00:00Z", "createdBy": "a", "comment": "c"}, "end"),
    ({"matchers": [{"name": "a", "value": "(", "isRegex": True}], "startsAt": "2030-01-01T00:00:00Z",
      "endsAt": "2030-01-02T00:00:00Z", "createdBy": "a", "comment": "c"}, "invalid regular expression"),
    ({"matchers": "a=b", "startsAt": "2030-01-01T00:00:00Z", "endsAt": "2030-01-02T00:00:00Z",
      "createdBy": "a", "comment": "c"}, "matchers must be a list"),
    ({"matchers": [{"name": "a", "value": "b", "isRegex": False}], "startsAt": "2030-01-01T00:00:00Z",
      "endsAt": "2030-01-02T00:00:00Z", "comment": "c"}, "createdBy must be a string"),
])
def test_malformed_silences_are_rejected_with_reason(vigil, body, message):
    resp = httpx.post(f"{vigil.url}/api/v2/silences", json=body, timeout=10)
    assert resp.status_code == 400, resp.text
    assert message in resp.json()
