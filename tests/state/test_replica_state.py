"""Two replicas' stores on one database (SQLite file, or a real PostgreSQL): what they write
at the same moment never collides, is decided once, and is claimed by one at a time."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone
from importlib import resources

import pytest
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import column, insert, inspect, select, table, update

from vigil.model import Labels
from vigil.model.alert import Alert
from vigil.state import NotifyDecision, OutboxEntry, Store, schema

NOW = datetime(2026, 11, 22, 8, 0, tzinfo=timezone.utc)
KEY = ('{}:{alertname="A"}', "ops", "webhook/0")


def _member(store: Store, member_id: str, *, heartbeat_age_s: float, left: bool = False) -> None:
    """A cluster member row whose last heartbeat is ``heartbeat_age_s`` old (database time)."""
    at = store.db_now() - timedelta(seconds=heartbeat_age_s)
    with store.engine.begin() as conn:
        conn.execute(insert(schema.cluster_members).values(
            id=member_id, name=member_id, url="", version="test", started_at=at, heartbeat_at=at,
            left_at=at if left else None, info={}))


def _queue(store: Store, n: int, *, group: str = "g") -> list[int]:
    return [store.outbox_add(group_key=f"{group}{i}", receiver="ops", integration="webhook/0",
                             payload={"i": i}, firing=[f"fp{i}"], resolved=[], now=NOW)
            for i in range(n)]


def _run_together(*calls) -> list:
    """Run the calls in threads released at the same instant; their results in order."""
    barrier = threading.Barrier(len(calls))

    def go(call):
        barrier.wait()
        return call()

    with ThreadPoolExecutor(len(calls)) as pool:
        return [f.result() for f in [pool.submit(go, c) for c in calls]]


def test_nflog_writes_of_the_same_key_from_two_replicas_never_collide(two_stores) -> None:
    # The bug of issue 15: delete + insert of the log raced into UniqueViolation on nflog_pkey.
    a, b = two_stores

    def write(store: Store, tag: str) -> None:
        for i in range(40):
            store.nflog_record(*KEY, [f"{tag}{i}"], [], NOW + timedelta(seconds=i))

    _run_together(lambda: write(a, "a"), lambda: write(b, "b"))
    firing, resolved, sent_at = a.nflog_get(*KEY)
    assert firing in ({"a39"}, {"b39"}) and resolved == set()
    assert sent_at == NOW + timedelta(seconds=39)


def test_delivered_and_logged_by_two_replicas_at_once(two_stores) -> None:
    a, b = two_stores
    ids = _queue(a, 30, group="same")
    entries = a.outbox_due(NOW)
    # Every entry has a different group, but all log the same key below: the upserts race.
    entries = [OutboxEntry(**{**e.__dict__, "group_key": KEY[0]}) for e in entries]
    half = len(entries) // 2
    _run_together(lambda: [a.outbox_delivered(e, NOW) for e in entries[:half]],
                  lambda: [b.outbox_delivered(e, NOW) for e in entries[half:]])
    assert {e.id for e in a.outbox_list(status="sent")} == set(ids)
    assert a.nflog_get(*KEY) is not None


def test_the_notify_decision_is_taken_once_across_replicas(two_stores) -> None:
    a, b = two_stores
    seen: list[object] = []

    def decide(previous):
        seen.append(previous)
        time.sleep(0.05)  # widen the window between reading and writing
        if previous is not None:
            return None
        return NotifyDecision({"text": "A fired"}, ["fp1"], [])

    results = _run_together(*[lambda s=s: s.outbox_notify(*KEY, decide, NOW) for s in (a, b, a, b)])
    assert len([r for r in results if r is not None]) == 1
    assert len(a.outbox_list(status="pending")) == 1
    # Every decision after the first saw the first one's pending entry.
    assert sorted(p is None for p in seen) == [False, False, False, True]


def test_a_newer_decision_supersedes_the_pending_entry_in_the_same_transaction(two_stores) -> None:
    a, b = two_stores
    first = a.outbox_notify(*KEY, lambda prev: NotifyDecision({"n": 1}, ["fp1"], []), NOW)
    second = b.outbox_notify(
        *KEY, lambda prev: NotifyDecision({"n": 2}, ["fp1", "fp2"], []) if prev[0] == {"fp1"} else None, NOW)
    statuses = {e.id: e.status for e in a.outbox_list()}
    assert statuses == {first: "superseded", second: "pending"}
    # A log-only decision writes the log and queues nothing.
    assert a.outbox_notify("other", "ops", "webhook/0",
                           lambda prev: NotifyDecision(None, [], ["fp9"]), NOW) is None
    assert a.nflog_get("other", "ops", "webhook/0") == (set(), {"fp9"}, NOW)


def test_two_workers_claiming_at_once_split_the_entries(two_stores) -> None:
    a, b = two_stores
    ids = _queue(a, 200)
    _member(a, "m-a", heartbeat_age_s=0)
    _member(a, "m-b", heartbeat_age_s=0)

    def drain(store: Store, member: str) -> list[int]:
        got: list[int] = []
        while batch := store.outbox_claim(member, NOW, member_timeout_s=5, limit=10):
            got += [e.id for e in batch]
            for e in batch:
                assert e.claimed_by == member
                store.outbox_delivered(e, NOW)
        return got

    got_a, got_b = _run_together(lambda: drain(a, "m-a"), lambda: drain(b, "m-b"))
    assert sorted(got_a + got_b) == ids  # each exactly once
    assert got_a and got_b
    assert a.outbox_pending_count() == 0


def test_a_live_members_claim_is_never_taken_but_a_dead_ones_is(two_stores) -> None:
    a, b = two_stores
    live, stale, gone, left, fresh = _queue(a, 5)
    _member(a, "alive", heartbeat_age_s=1)
    _member(a, "stale", heartbeat_age_s=30)
    _member(a, "left", heartbeat_age_s=0, left=True)
    t = schema.outbox
    with a.engine.begin() as conn:
        for entry_id, holder in ((live, "alive"), (stale, "stale"), (gone, "unknown"), (left, "left")):
            conn.execute(update(t).where(t.c.id == entry_id).values(claimed_by=holder, claimed_at=NOW))
    claimed = b.outbox_claim("me", NOW, member_timeout_s=5)
    assert [e.id for e in claimed] == [stale, gone, left, fresh]
    # Claimed by "me" now: another live member cannot take them, "me" can again (a retry).
    _member(a, "me", heartbeat_age_s=0)
    assert a.outbox_claim("other", NOW, member_timeout_s=5) == []
    assert [e.id for e in b.outbox_claim("me", NOW, member_timeout_s=5)] == [stale, gone, left, fresh]
    assert b.outbox_next_due_at("other", member_timeout_s=5) is None
    assert b.outbox_next_due_at("me", member_timeout_s=5) == NOW


def test_outcomes_are_guarded_by_status_and_claim(two_stores) -> None:
    a, b = two_stores
    (entry_id,) = _queue(a, 1)
    _member(a, "slow", heartbeat_age_s=60)  # looks dead
    [slow] = a.outbox_claim("slow", NOW, member_timeout_s=5)
    [taker] = b.outbox_claim("taker", NOW, member_timeout_s=5)  # takes the dead one's claim
    # The slow one's failure must not release the taker's claim.
    assert not a.outbox_failed(slow, "timeout", retry_at=NOW + timedelta(seconds=10))
    assert a.outbox_list()[0].claimed_by == "taker"
    assert not a.outbox_postpone(slow, NOW + timedelta(seconds=10))
    # Both delivered (the receiver got it twice; its notification id was the same): marked once.
    assert b.outbox_delivered(taker, NOW)
    assert not a.outbox_delivered(slow, NOW)
    [entry] = a.outbox_list()
    assert (entry.status, entry.attempts, entry.claimed_by) == ("sent", 1, None)
    assert slow.notification_id == taker.notification_id == entry.notification_id
    assert not a.outbox_failed(slow, "late", retry_at=None)
    assert a.outbox_list()[0].status == "sent"


def test_an_entry_superseded_in_flight_is_marked_sent_without_logging(two_stores) -> None:
    a, b = two_stores
    first = a.outbox_notify(*KEY, lambda prev: NotifyDecision({"n": 1}, ["fp1"], []), NOW)
    [claimed] = a.outbox_claim("m", NOW, member_timeout_s=5)
    second = b.outbox_notify(*KEY, lambda prev: NotifyDecision({"n": 2}, ["fp1", "fp2"], []), NOW)
    assert not a.outbox_delivered(claimed, NOW)
    assert {e.id: e.status for e in a.outbox_list()} == {first: "sent", second: "pending"}
    assert a.nflog_get(*KEY) is None


def test_alert_changes_are_found_by_their_database_time(two_stores) -> None:
    a, b = two_stores
    alert = Alert(Labels({"alertname": "A"}), Labels({}), NOW, None, "", NOW)
    before = a.db_now()
    a.upsert_alerts([alert])
    changed, read_at = b.alerts_changed_since(before)
    assert [(fp, x.labels) for fp, x in changed] == [(alert.fingerprint(), alert.labels)]
    assert read_at >= before
    assert b.alerts_changed_since(read_at + timedelta(seconds=1))[0] == []
    everything, _ = b.alerts_changed_since(None)
    assert len(everything) == 1
    # Rows the caller holds already (same update time) are left out before being decoded.
    asked: list[tuple[str, datetime]] = []
    assert b.alerts_changed_since(before, known=lambda fp, at: asked.append((fp, at)) or at == NOW)[0] == []
    assert asked == [(alert.fingerprint(), NOW)]
    [(fp, again)] = b.alerts_changed_since(before, known=lambda fp, at: at > NOW)[0]
    assert (fp, again.labels) == (alert.fingerprint(), alert.labels)
    # Only rows still ended before the cut-off are deleted: one re-opened meanwhile stays.
    ended = Alert(Labels({"alertname": "B"}), Labels({}), NOW, NOW + timedelta(minutes=1), "", NOW)
    a.upsert_alerts([ended])
    a.delete_alerts([alert.fingerprint(), ended.fingerprint()], ended_before=NOW + timedelta(hours=1))
    assert [x.labels for x in b.load_alerts()] == [alert.labels]


def test_versions_count_changes_and_silence_writes_bump_theirs(two_stores) -> None:
    a, b = two_stores
    assert b.state_version("silences") == 0
    row = {"id": "s1", "matchers": [], "starts_at": NOW, "ends_at": NOW + timedelta(hours=1),
           "created_by": "me", "comment": "c", "updated_at": NOW}
    assert a.silence_save(row, action="create", author="me", comment="c", at=NOW) == 1
    assert b.silence_save({**row, "comment": "d"}, action="update", author="me", comment="d", at=NOW) == 2
    assert a.state_version("silences") == 2
    assert b.silences_delete_expired_before(NOW + timedelta(days=1)) == 1
    assert a.state_version("silences") == 3
    assert b.silences_delete_expired_before(NOW + timedelta(days=1)) == 0
    assert a.state_version("silences") == 3


def test_run_once_claims_once_until_done_and_takes_over_the_dead(two_stores) -> None:
    a, b = two_stores
    _member(a, "m-a", heartbeat_age_s=0)
    _member(a, "m-b", heartbeat_age_s=0)
    results = _run_together(lambda: a.run_once_claim("esc:1", "m-a", member_timeout_s=5),
                            lambda: b.run_once_claim("esc:1", "m-b", member_timeout_s=5))
    assert sorted(results) == [False, True]
    winner, loser = ("m-a", "m-b") if results[0] else ("m-b", "m-a")
    assert a.run_once_claim("esc:1", winner, member_timeout_s=5)  # its own claim again
    assert not a.run_once_claim("esc:1", loser, member_timeout_s=5)
    assert not b.run_once_done("esc:1", loser)
    assert b.run_once_done("esc:1", winner, {"sent": 1})
    assert not a.run_once_claim("esc:1", winner, member_timeout_s=5)  # done: never again
    record = a.run_once_get("esc:1")
    assert record["claimed_by"] == winner and record["done_at"] is not None
    assert record["detail"] == {"sent": 1}
    # A claim held by a member without heartbeat for longer than the timeout is taken over.
    _member(a, "dead", heartbeat_age_s=30)
    assert a.run_once_claim("report:7", "dead", member_timeout_s=5, detail={"try": 1})
    assert b.run_once_claim("report:7", "m-b", member_timeout_s=5, detail={"try": 2})
    assert a.run_once_get("report:7")["claimed_by"] == "m-b"
    assert a.run_once_get("report:7")["detail"] == {"try": 2}
    assert a.run_once_get("never") is None


@pytest.mark.timeout(120)  # without the lock, concurrent upgrades can deadlock
def test_replicas_starting_together_upgrade_the_schema_once(pg_url) -> None:
    # Separate processes, as replicas are, released together once Python is up.
    start_at = time.time() + 3.0
    code = ("import sys, time; from vigil.state import Store; "
            "time.sleep(max(0.0, float(sys.argv[2]) - time.time())); Store.open(sys.argv[1]).close()")
    procs = [subprocess.Popen([sys.executable, "-c", code, pg_url, str(start_at)],
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT) for _ in range(3)]
    outputs = [p.communicate(timeout=100)[0].decode() for p in procs]
    assert [p.returncode for p in procs] == [0, 0, 0], outputs
    stores = [Store.open(pg_url)]
    try:
        with stores[0].engine.connect() as conn:
            head = conn.execute(select(column("version_num")).select_from(table("alembic_version"))
                                ).scalar_one()
            tables = set(inspect(conn).get_table_names())
        assert head == _head_revision()
        assert {"outbox", "nflog", "cluster_members", "run_once", "state_versions"} <= tables
    finally:
        for s in stores:
            s.close()


def _head_revision() -> str:
    cfg = Config()
    cfg.set_main_option("script_location", str(resources.files("vigil.state") / "migrations"))
    return ScriptDirectory.from_config(cfg).get_current_head()


def test_rule_state_and_silences_written_by_two_replicas_at_once_never_collide(two_stores) -> None:
    # Both are delete + insert of a key's rows; unguarded, the second insert hits the first's.
    from vigil.state import StoredAlert
    a, b = two_stores

    def rules(store: Store, tag: str) -> None:
        for i in range(30):
            store.save_rule_alerts("rules.yml;g", [StoredAlert(
                group_key="rules.yml;g", rule_name="R", labels=Labels({"alertname": "R"}),
                annotations=Labels({"by": f"{tag}{i}"}), state="firing", active_at=NOW,
                fired_at=NOW, resolved_at=None, last_sent_at=None, value=1.0)])

    def silences(store: Store, tag: str) -> None:
        for i in range(30):
            store.silence_save({"id": "s1", "matchers": [], "starts_at": NOW, "ends_at": NOW,
                                "created_by": tag, "comment": str(i), "updated_at": NOW},
                               action="update", author=tag, comment=str(i), at=NOW)

    _run_together(lambda: rules(a, "a"), lambda: rules(b, "b"),
                  lambda: silences(a, "a"), lambda: silences(b, "b"))
    [stored] = a.load_rule_alerts()
    assert stored.annotations.get("by") in ("a29", "b29")
    assert [s["comment"] for s in a.silences_load()] == ["29"]
    assert a.state_version("silences") == 60
