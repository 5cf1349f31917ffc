"""The state store: schema migrations, rule alert state and outbox round trips."""

from datetime import datetime, timedelta, timezone

from sqlalchemy import inspect

from vigil.model import Labels
from vigil.state import Store, StoredAlert

NOW = datetime(2026, 11, 22, 8, 0, tzinfo=timezone.utc)


def test_open_creates_schema_and_is_idempotent(tmp_path):
    Store.open_in(str(tmp_path)).close()
    store = Store.open_in(str(tmp_path))
    tables = set(inspect(store.engine).get_table_names())
    assert {"rule_alerts", "alerts", "nflog", "outbox", "alembic_version"} <= tables


def test_rule_alerts_round_trip_with_timezones(tmp_path):
    store = Store.open_in(str(tmp_path))
    alert = StoredAlert(group_key="f.yml;g", rule_name="HighCPU", labels=Labels({"alertname": "HighCPU"}),
                        annotations=Labels({"summary": "hot"}), state="pending", active_at=NOW,
                        fired_at=None, resolved_at=None, last_sent_at=None, value=float("nan"))
    store.save_rule_alerts("f.yml;g", [alert])
    store.save_rule_alerts("f.yml;other", [])
    [loaded] = Store.open_in(str(tmp_path)).load_rule_alerts()
    assert loaded.active_at == NOW and loaded.active_at.tzinfo is not None
    assert loaded.labels == alert.labels and loaded.state == "pending"
    store.save_rule_alerts("f.yml;g", [])
    assert store.load_rule_alerts() == []


def test_outbox_delivery_updates_nflog_atomically(tmp_path):
    store = Store.open_in(str(tmp_path))
    entry_id = store.outbox_add(group_key="k", receiver="r", integration="webhook/0", payload={"a": 1},
                                firing=["b", "a"], resolved=[], now=NOW)
    [entry] = store.outbox_due(NOW)
    assert entry.id == entry_id and entry.firing == ["a", "b"]
    assert store.outbox_due(NOW - timedelta(seconds=1)) == []
    store.outbox_delivered(entry, NOW + timedelta(seconds=1))
    assert store.outbox_pending_count() == 0
    firing, resolved, sent_at = store.nflog_get("k", "r", "webhook/0")
    assert firing == {"a", "b"} and resolved == set() and sent_at == NOW + timedelta(seconds=1)
