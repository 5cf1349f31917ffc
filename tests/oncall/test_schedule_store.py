"""Overrides, swaps and feed tokens in the state database, on SQLite and PostgreSQL; two
replicas' stores on one database see each other's changes at once."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from tests.collect.exporters.conftest import _pg_base  # noqa: F401
from tests.state.conftest import postgres_server, store, two_stores  # noqa: F401
from vigil.state.schedule_store import ScheduleStore


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def test_overrides_are_kept_in_creation_order_and_filtered_by_range(store):  # noqa: F811
    schedules = ScheduleStore(store.engine)
    first = schedules.create_override("primary", "ann", utc(2026, 5, 1, 9), utc(2026, 5, 2, 9),
                                      created_by="admin", note="dentist")
    second = schedules.create_override("primary", "bob", utc(2026, 5, 1, 12), utc(2026, 5, 1, 14),
                                       created_by="bob")
    schedules.create_override("other", "carl", utc(2026, 5, 1), utc(2026, 5, 3), created_by="admin")
    rows = schedules.overrides("primary")
    assert [r.id for r in rows] == [first.id, second.id]
    assert (rows[0].user, rows[0].starts_at, rows[0].ends_at, rows[0].created_by, rows[0].note) == (
        "ann", utc(2026, 5, 1, 9), utc(2026, 5, 2, 9), "admin", "dentist")
    assert rows[0].created_at.tzinfo is not None
    assert [r.user for r in schedules.overrides("primary", ending_after=utc(2026, 5, 1, 14))] == ["ann"]
    assert schedules.overrides("primary", starting_before=utc(2026, 5, 1, 9)) == []
    assert schedules.get_override(second.id) == rows[1]


def test_an_override_must_end_after_it_starts(store):  # noqa: F811
    with pytest.raises(ValueError, match="end after it starts"):
        ScheduleStore(store.engine).create_override("p", "ann", utc(2026, 5, 2), utc(2026, 5, 1), created_by="a")


def test_swap_is_two_overrides_deleted_together(store):  # noqa: F811
    schedules = ScheduleStore(store.engine)
    bob_takes, ann_takes = schedules.create_swap(
        "primary", ("ann", utc(2026, 5, 1, 9), utc(2026, 5, 2, 9)),
        ("bob", utc(2026, 5, 2, 9), utc(2026, 5, 3, 9)), created_by="ann", note="holiday")
    assert (bob_takes.user, bob_takes.starts_at) == ("bob", utc(2026, 5, 1, 9))
    assert (ann_takes.user, ann_takes.starts_at) == ("ann", utc(2026, 5, 2, 9))
    assert bob_takes.swap_id == ann_takes.swap_id is not None
    single = schedules.create_override("primary", "carl", utc(2026, 5, 5), utc(2026, 5, 6), created_by="a")
    deleted = schedules.delete_override(ann_takes.id)
    assert {r.id for r in deleted} == {bob_takes.id, ann_takes.id}
    assert [r.id for r in schedules.overrides("primary")] == [single.id]
    assert schedules.delete_override(ann_takes.id) == []


def test_replicas_see_each_others_overrides_at_once(two_stores):  # noqa: F811
    first, second = (ScheduleStore(s.engine) for s in two_stores)
    row = first.create_override("primary", "ann", utc(2026, 5, 1), utc(2026, 5, 2), created_by="a")
    assert [r.id for r in second.overrides("primary")] == [row.id]
    second.delete_override(row.id)
    assert first.overrides("primary") == []


def test_feed_tokens_are_hashed_replaced_and_revoked(two_stores):  # noqa: F811
    first, second = (ScheduleStore(s.engine) for s in two_stores)
    token = first.new_feed_token("ann")
    assert second.feed_token_user(token) == "ann"
    assert second.feed_token_created("ann") is not None
    replacement = second.new_feed_token("ann")
    assert replacement != token
    assert first.feed_token_user(token) is None
    assert first.feed_token_user(replacement) == "ann"
    assert first.revoke_feed_token("ann") is True
    assert second.feed_token_user(replacement) is None
    assert second.revoke_feed_token("ann") is False
    with first.engine.connect() as conn:
        stored = conn.exec_driver_sql("SELECT token_sha256 FROM schedule_feed_tokens").all()
    assert stored == []
