"""The store behaves the same on SQLite and on PostgreSQL (the several-replica setup):
migrations, and the alert upsert that POST /api/v2/alerts goes through."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from vigil.model import Labels
from vigil.model.alert import Alert
from vigil.state import Store

NOW = datetime(2026, 11, 22, 8, 0, tzinfo=timezone.utc)


def _alert(i: int, summary: str, ends: datetime | None) -> Alert:
    return Alert(Labels({"alertname": "Load", "instance": f"host-{i}"}),
                 Labels({"summary": summary}), NOW, ends, "http://prom/graph", NOW)


def test_upsert_replaces_alerts_by_fingerprint(store: Store) -> None:
    store.upsert_alerts([_alert(i, "first", None) for i in range(3)])
    store.upsert_alerts([_alert(1, "second", NOW + timedelta(minutes=5)), _alert(7, "new", None)])
    got = {a.labels.get("instance"): a for a in store.load_alerts()}
    assert sorted(got) == ["host-0", "host-1", "host-2", "host-7"]
    assert got["host-1"].annotations.get("summary") == "second"
    assert got["host-1"].ends_at == NOW + timedelta(minutes=5)
    assert got["host-0"].annotations.get("summary") == "first" and got["host-0"].ends_at is None
    assert got["host-7"].starts_at == NOW and got["host-7"].starts_at.tzinfo is not None


def test_an_alert_sent_twice_in_one_batch_keeps_the_last_copy(store: Store) -> None:
    store.upsert_alerts([_alert(1, "a", None), _alert(1, "b", None)])
    assert [a.annotations.get("summary") for a in store.load_alerts()] == ["b"]
    store.delete_alerts([_alert(1, "b", None).fingerprint()])
    assert store.load_alerts() == []
