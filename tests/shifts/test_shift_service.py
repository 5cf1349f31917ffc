"""A day of shifts through ShiftService on real parts (TSDB + PromQL engine, alert episodes,
state database): the morning shift opens with the runbook's list, Vigil checks what it can
with evidence, people tick the rest with notes, the hand-over carries the open items into
the mid-day shift, and the history shows it all."""

from __future__ import annotations

from datetime import datetime, timedelta

from tests.shifts.support import now_s, open_episode, shifts_config, write_samples
from vigil.config.shifts import ShiftsConfig
from vigil.promql import Engine
from vigil.shifts.calendar import shift_at
from vigil.shifts.checks import ShiftChecker
from vigil.shifts.service import ShiftService
from vigil.state import Store
from vigil.state.lifecycle_store import LifecycleStore
from vigil.state.shift_store import ShiftStore
from vigil.tsdb import DB

# The morning shift starts an hour before the test runs and the mid-day one three hours
# later, so "now" is always in the morning shift, whatever the time of day (the time zone is
# UTC, as now_s).
CONFIG = """
shifts:
  shifts:
    - name: morning
      start: "MORNING"
      items:
        - {title: Verify all critical services are green, check: critical_services}
        - {title: No unacknowledged P1/P2 alerts, check: unacknowledged_alerts}
        - {title: Review backup completion status, key: backups, check: backups_done}
        - {title: Certificates valid, key: certificates, check: certificates_valid}
        - {title: Scheduled jobs ran, key: jobs, check: scheduled_jobs_ran}
        - {title: Replication healthy, key: replication, check: replication_healthy}
        - {title: Check IoT device connectivity, key: iot}
        - {title: Review failed login attempts, key: logins}
    - name: midday
      start: "MIDDAY"
      items:
        - {title: Check pending Celery tasks, key: celery}
"""


def config_around(at: datetime) -> ShiftsConfig:
    return shifts_config(CONFIG.replace("MORNING", f"{(at.hour - 1) % 24:02d}:00")
                         .replace("MIDDAY", f"{(at.hour + 3) % 24:02d}:00"))


def test_a_shift_checked_ticked_handed_over_and_in_history(tmp_path) -> None:
    at = now_s()
    config = config_around(at)
    store = Store.open_in(str(tmp_path / "state"))
    episodes = LifecycleStore(store.engine)
    with DB.open(str(tmp_path / "tsdb")) as db:
        write_samples(db, at - timedelta(seconds=5), [
            ({"__name__": "probe_success", "instance": "https://erp.example"}, 1.0),
            ({"__name__": "vigil_backup_newest_age_seconds", "dir": "/backups"}, 3600.0),
            ({"__name__": "probe_ssl_earliest_cert_expiry", "instance": "erp.example:443"},
             at.timestamp() + 90 * 86400),
            ({"__name__": "probe_ssl_earliest_cert_expiry", "instance": "old.example:443"},
             at.timestamp() + 10 * 86400),
            ({"__name__": "odoo_cron_last_success_timestamp_seconds", "job": "odoo"}, at.timestamp() - 3600),
            ({"__name__": "celery_beat_last_success_timestamp_seconds", "job": "celery"}, at.timestamp() - 60)])
        open_episode(episodes, "DatabaseDown", "P1")
        service = ShiftService(ShiftStore(store.engine), config=lambda: config,
                               checker=ShiftChecker(Engine(db), episodes))
        shift, opened = service.current(at)
        assert opened and not service.current(at)[1]
        expected = shift_at(config, at)
        assert (shift.id, shift.starts_at, shift.ends_at) == (expected.id, expected.starts_at, expected.ends_at)
        assert [i.kind for i in shift.items] == ["check"] * 6 + ["manual"] * 2
        assert all(i.status == "open" for i in shift.items)

        record = service.run_checks(shift.id, at)
    items = {i.key: i for i in record.items}
    assert {k: i.status for k, i in items.items()} == {
        "verify_all_critical_services_are_green": "ok", "no_unacknowledged_p1_p2_alerts": "failed",
        "backups": "ok", "certificates": "failed", "jobs": "ok", "replication": "error",
        "iot": "open", "logins": "open"}
    certificates = items["certificates"]
    assert certificates.by == "vigil" and certificates.evidence is not None
    assert certificates.evidence["query"] == "(probe_ssl_earliest_cert_expiry - time()) / 86400"
    assert certificates.evidence["series"][0]["labels"] == {"instance": "old.example:443"}
    assert round(certificates.evidence["series"][0]["value"]) == 10
    assert items["jobs"].evidence["series_count"] == 2  # both jobs' last successes, by job
    assert items["no_unacknowledged_p1_p2_alerts"].evidence["episodes"][0]["labels"] == {"alertname": "DatabaseDown"}

    service.tick(shift.id, "iot", by="alice", note="all 212 sensors reporting")
    service.tick(shift.id, "replication", by="alice", note="single database, no replica yet")
    handed = service.handover(shift.id, by="alice", note="P1 DatabaseDown with bob; cert of old.example renewing")
    nxt = shift_at(config, shift.ends_at)
    assert handed.next_shift_id == nxt.id
    assert [i.key for i in handed.open_items] == [
        "no_unacknowledged_p1_p2_alerts", "certificates", "logins"]

    midday = service.get(nxt.id)
    assert midday is not None
    assert [(i.key, i.title, i.carried_from) for i in midday.items] == [
        ("celery", "Check pending Celery tasks", None),
        (f"carried:{shift.id}:no_unacknowledged_p1_p2_alerts", "No unacknowledged P1/P2 alerts", shift.id),
        (f"carried:{shift.id}:certificates", "Certificates valid", shift.id),
        (f"carried:{shift.id}:logins", "Review failed login attempts", shift.id)]
    # A carried check is checked again in the new shift (it keeps its query).
    assert midday.items[2].kind == "check" and midday.items[2].status == "open"

    history = service.history(shift.starts_at, nxt.ends_at)
    assert [r.id for r in history] == [shift.id, nxt.id]
    assert history[0].handover_note == "P1 DatabaseDown with bob; cert of old.example renewing"
    ticked = {i.key: i for i in history[0].items}["replication"]
    assert (ticked.status, ticked.done, ticked.by, ticked.note) == (
        "done", True, "alice", "single database, no replica yet")
    assert ticked.evidence is not None and ticked.evidence["error"].startswith("no data")
    assert history[0].done_count == 5
    store.close()


def test_opening_a_shift_carries_what_the_last_one_left_open_without_a_handover(tmp_path) -> None:
    at = now_s()
    config = config_around(at)
    store = Store.open_in(str(tmp_path / "state"))
    service = ShiftService(ShiftStore(store.engine), config=lambda: config)
    first, _ = service.current(at - timedelta(days=2))  # a shift nobody handed over
    service.tick(first.id, "iot", by="carl", note="ok")
    current, _ = service.current(at)
    carried = [i for i in current.items if i.carried_from]
    assert {i.carried_from for i in carried} == {first.id}
    assert len(carried) == len(first.items) - 1  # all but the ticked one
    store.close()
