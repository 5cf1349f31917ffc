"""The SLO API and page over a real TSDB (tests/slo/support.py): the statuses equal the
hand-computed ones of tests/slo/test_status.py, a bad time is named, viewers may read,
anonymous callers may not, an SLO file broken after the reload is reported at its line."""

from __future__ import annotations

import httpx
import pytest

from tests.incidents.support import basic
from tests.slo.support import END, serve_slos

API = "/api/vigil/v1/slos"


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    base = tmp_path_factory.mktemp("slo-web")
    with serve_slos(base) as url:
        yield url, base


def test_api_statuses(served):
    url, _ = served
    r = httpx.get(url + API, headers=basic("vic"))
    assert r.status_code == 200
    data = r.json()["data"]
    assert data["time"] == END.isoformat().replace("+00:00", "Z")
    assert [(t["severity"], t["shortWindow"], t["longWindow"], t["burnRate"]) for t in data["thresholds"]] == [
        ("page", "5m", "1h", pytest.approx(14.4)), ("page", "30m", "6h", 6.0),
        ("ticket", "2h", "1d", 3.0), ("ticket", "6h", "3d", 1.0)]
    avail, relaxed = data["slos"]
    assert (avail["sloId"], avail["objectivePercent"], avail["window"]) == ("shop-avail", 99.9, "30d")
    assert avail["errorBudgetLeftRatio"] == pytest.approx(-27)
    assert avail["burnRates"][0] == {"window": "5m", "errorRatio": pytest.approx(0.1),
                                     "burnRate": pytest.approx(100)}
    assert avail["met"] is False
    assert relaxed["errorBudgetLeftRatio"] == pytest.approx(1 - 0.028 / 0.5)
    assert relaxed["met"] is True


def test_api_time_parameter_and_access(served):
    url, _ = served
    r = httpx.get(url + API, params={"time": "2026-03-02T09:00:00Z"}, headers=basic("vic"))
    # At 09:00 the errors were 1 % everywhere: burn 10 on every window.
    rates = r.json()["data"]["slos"][0]["burnRates"]
    assert [round(b["burnRate"], 6) for b in rates] == [10.0] * 7
    r = httpx.get(url + API, params={"time": "yesterday"}, headers=basic("vic"))
    assert (r.status_code, r.json()["errorType"]) == (400, "bad_data")
    assert r.json()["error"].startswith("time: ")
    assert httpx.get(url + API).status_code == 401


def test_page_shows_budget_and_burn_rates(served):
    url, _ = served
    r = httpx.get(url + "/slos", headers=basic("vic"))
    assert r.status_code == 200
    row = r.text.split('id="slo-shop-avail"')[1].split("</tr>")[0]
    assert "-2700.0 %" in row and "Checkout requests without a 5xx." in row
    cells = row.split('<td class="num burn')[1:]
    assert len(cells) == 7
    assert " over over-page" in cells[0] and "100×" in cells[0]          # 5m: 100 > 14.4
    assert "55.76×" in cells[2] and " over over-page" in cells[2]         # 1h: 3290/59000/0.001
    relaxed = r.text.split('id="slo-shop-relaxed"')[1].split("</tr>")[0]
    assert "94.4 %" in relaxed and "over" not in relaxed                 # 0.1/0.5 = 0.2×


def test_a_broken_slo_file_is_reported(served):
    url, base = served
    good = (base / "shop.yml").read_text()
    (base / "shop.yml").write_text(good.replace("objective: 50", "objective: 500"))
    try:
        r = httpx.get(url + API, headers=basic("vic"))
        assert r.status_code == 500 and f"{base / 'shop.yml'}:13:5: slos[1].objective" in r.json()["error"]
        page = httpx.get(url + "/slos", headers=basic("vic"))
        assert page.status_code == 500 and "slos[1].objective" in page.text
    finally:
        (base / "shop.yml").write_text(good)
