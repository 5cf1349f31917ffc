"""The shift store and the public history: a shift opened twice is one shift; a person's
tick keeps its note; an automatic check result does not undo a person's tick; the hand-over
carries exactly the open items into the next shift, once, keeping where they came from."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pytest

from vigil.shifts.service import ShiftService
from vigil.state import Store
from vigil.state.shift_store import NewShift, NewShiftItem, ShiftStore, ShiftStoreError

T0 = datetime(2026, 12, 7, 9, 0, tzinfo=timezone.utc)


def _shift(name: str, start: datetime, hours: int, *items: NewShiftItem) -> NewShift:
    return NewShift(f"{start.date().isoformat()}-{name}", name, start.date(), start,
                    start + timedelta(hours=hours), items)


MORNING = _shift("morning", T0, 4, NewShiftItem("critical_services", "Verify all critical services are green",
                                                "critical_services", {"query": "up"}),
                 NewShiftItem("backups", "Review backup completion status"),
                 NewShiftItem("iot", "Check IoT device connectivity"))
MIDDAY = _shift("midday", T0 + timedelta(hours=4), 5, NewShiftItem("jobs", "Verify scheduled jobs ran"))


@pytest.fixture
def store(tmp_path) -> ShiftStore:
    return ShiftStore(Store.open_in(str(tmp_path)).engine)


def test_open_twice_is_one_shift_with_its_items_in_order(store: ShiftStore) -> None:
    first, created = store.open(MORNING)
    again, created_again = store.open(MORNING)
    assert (created, created_again) == (True, False)
    assert [i.key for i in again.items] == ["critical_services", "backups", "iot"]
    assert first == again
    assert again.items[0].check_kind == "critical_services" and again.items[1].check_kind is None
    assert all(i.status == "open" for i in again.items)


def test_tick_check_results_and_handover_carry_open_items(store: ShiftStore) -> None:
    store.open(MORNING)
    store.tick(MORNING.id, "backups", by="alice", note="last full backup 02:10, 41 GB")
    store.record_checks(MORNING.id, [("critical_services", "failed", {"query": "up", "series": 2}),
                                     ("backups", "failed", {"query": "backup_age"})])
    row = store.get(MORNING.id)
    assert row is not None
    by_key = {i.key: i for i in row.items}
    assert (by_key["critical_services"].status, by_key["critical_services"].checked_by) == ("failed", "vigil")
    # A person's tick stands; the check's evidence is kept beside it.
    assert (by_key["backups"].status, by_key["backups"].checked_by) == ("done", "alice")
    assert by_key["backups"].note == "last full backup 02:10, 41 GB"
    assert by_key["backups"].evidence == {"query": "backup_age"}

    store.handover(MORNING.id, by="alice", note="db-2 down since 08:40, ticket OPS-12", next_shift=MIDDAY)
    store.handover(MORNING.id, by="alice", note="db-2 down since 08:40, ticket OPS-12", next_shift=MIDDAY)
    midday = store.get(MIDDAY.id)
    assert midday is not None
    assert [(i.key, i.carried_from) for i in midday.items] == [
        ("jobs", None),
        (f"carried:{MORNING.id}:critical_services", MORNING.id),
        (f"carried:{MORNING.id}:iot", MORNING.id)]

    history = ShiftService(store).history(T0, T0 + timedelta(days=1))
    assert [(r.name, r.date) for r in history] == [("morning", date(2026, 12, 7)), ("midday", date(2026, 12, 7))]
    morning = history[0]
    assert morning.handover_note == "db-2 down since 08:40, ticket OPS-12"
    assert morning.handed_over_by == "alice" and morning.next_shift_id == MIDDAY.id
    assert [i.key for i in morning.open_items] == ["critical_services", "iot"]
    as_dict = morning.as_dict()
    assert as_dict["open_items"] == ["critical_services", "iot"] and as_dict["done"] == 1
    assert as_dict["items"][1]["by"] == "alice" and as_dict["items"][0]["kind"] == "check"
    assert ShiftService(store).history(T0 + timedelta(hours=1), T0 + timedelta(days=1))[0].name == "midday"


def test_changes_to_unknown_shift_or_item_name_what_is_missing(store: ShiftStore) -> None:
    store.open(MORNING)
    with pytest.raises(ShiftStoreError, match="has no item 'nope'"):
        store.tick(MORNING.id, "nope", by="a", note="")
    with pytest.raises(ShiftStoreError, match="no shift '2026-01-01-x'"):
        store.tick("2026-01-01-x", "backups", by="a", note="")
    with pytest.raises(ShiftStoreError, match="no shift"):
        store.handover("2026-01-01-x", by="a", note="", next_shift=None)


def test_an_open_item_the_next_shift_also_lists_is_marked_carried_not_listed_twice(store: ShiftStore) -> None:
    tomorrow = _shift("morning", T0 + timedelta(days=1), 4, *MORNING.items)
    store.open(MORNING)
    store.tick(MORNING.id, "iot", by="alice", note="fine")
    store.handover(MORNING.id, by="alice", note="db-2 down", next_shift=tomorrow)
    store.handover(MORNING.id, by="alice", note="db-2 down", next_shift=tomorrow)
    row = store.get(tomorrow.id)
    assert row is not None
    assert [(i.key, i.carried_from) for i in row.items] == [
        ("critical_services", MORNING.id), ("backups", MORNING.id), ("iot", None)]
