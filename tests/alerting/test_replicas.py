"""Two replicas (Dispatcher + OutboxWorker + Silences, each on its own Store) on one real
PostgreSQL database, running their real asyncio loops against a webhook receiver that
counts what arrives: every group is notified exactly once, whoever is primary, through a
primary switch, a split brain and a replica dying with claimed deliveries."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta, timezone

import httpx
import pytest
from sqlalchemy import insert, update

from tests.collect.exporters.conftest import _pg_base, postgres_server  # noqa: F401
from tests.support.webhook import WebhookReceiver
from vigil.alerting.dispatch import Dispatcher
from vigil.alerting.notify import OutboxWorker
from vigil.alerting.notify.integration import NOTIFICATION_ID_HEADER
from vigil.alerting.service import Alerting
from vigil.alerting.silence import Silences
from vigil.alerting.silence.silences import SilenceInput
from vigil.config import load_config_text
from vigil.model import Alert, Labels
from vigil.model.matchers import Matcher
from vigil.selfmetrics import SelfMetrics
from vigil.state import Store, schema


class CountingReceiver(WebhookReceiver):
    """The shared webhook receiver, counting what arrived by group and by notification id."""

    def groups(self) -> Counter[str]:
        with self._cond:
            return Counter(body["groupLabels"]["alertname"] for body in self.received)

    def ids(self) -> Counter[str]:
        with self._cond:
            return Counter(headers.get(NOTIFICATION_ID_HEADER, "") for headers in self.request_headers)

    async def wait_for_count(self, count: int, timeout: float = 20.0) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while len(self.received) < count:
            assert loop.time() < deadline, f"only {len(self.received)} of {count} arrived"
            await asyncio.sleep(0.05)


def _config(url: str):
    return load_config_text(f"""
alerting:
  receivers:
    - name: ops
      webhook_configs: [{{url: "{url}"}}]
  route:
    receiver: ops
    group_by: [alertname]
    group_wait: 1s
    group_interval: 1h
    repeat_interval: 4h
""").alerting


class Replica:
    """One replica's alerting stage; ``primary`` and ``alive`` are switched by the test."""

    def __init__(self, name: str, url: str, receiver: CountingReceiver, *, primary: bool,
                 member_timeout_s: float = 5.0) -> None:
        self.name = name
        self.primary = primary
        self.alive = True
        self.store = Store.open(url)
        self.metrics = SelfMetrics()
        self.silences = Silences(self.store)
        self.dispatcher = Dispatcher(_config(receiver.url), self.store, external_url="http://vigil",
                                     silencer=self.silences, tick_s=0.05,
                                     is_primary=lambda: self.primary)
        self.worker = OutboxWorker(self.store, self.dispatcher.integrations(), self.metrics,
                                   member_id=name, member_timeout_s=member_timeout_s,
                                   is_primary=lambda: self.primary, poll_s=0.1, claim_limit=10)
        self.enqueued = 0  # flushes of this replica that queued a notification

        def on_enqueue() -> None:
            self.enqueued += 1
            self.worker.wake()

        self.dispatcher.on_enqueue = on_enqueue
        self.alerting = Alerting(self.dispatcher, self.silences, resolve_timeout_s=300)
        now = self.store.db_now()
        with self.store.engine.begin() as conn:
            conn.execute(insert(schema.cluster_members).values(
                id=name, name=name, url="", version="test", started_at=now, heartbeat_at=now,
                left_at=None, info={}))
        self.tasks: list[asyncio.Task] = []

    def start(self, *, dispatch: bool = True, deliver: bool = True) -> None:
        self.dispatcher.restore()
        if dispatch:
            self.tasks.append(asyncio.create_task(self.dispatcher.run()))
        if deliver:
            self.tasks.append(asyncio.create_task(self.worker.run()))
        self.tasks.append(asyncio.create_task(self._heartbeat_and_sync()))

    async def _heartbeat_and_sync(self) -> None:
        # What the app does around the alerting stage (vigil.cluster: heartbeats; the app:
        # dispatcher.sync and silences.sync about every second; faster here).
        t = schema.cluster_members
        while True:
            await asyncio.to_thread(self.dispatcher.sync)
            with self.store.engine.begin() as conn:
                conn.execute(update(t).where(t.c.id == self.name).values(heartbeat_at=self.store.db_now()))
            await asyncio.sleep(0.2)

    def kill(self) -> None:
        """kill -9: every loop stops where it is; its heartbeat ages from now on."""
        self.alive = False
        for task in self.tasks:
            task.cancel()

    def sent(self) -> float:
        return self.metrics.notifications_sent.labels("webhook")._value.get()


def _alerts(names: list[str]) -> list[Alert]:
    now = datetime.now(timezone.utc)
    return [Alert(Labels({"alertname": n, "instance": "host-1"}), Labels({"summary": n}),
                  now - timedelta(seconds=1), now + timedelta(minutes=10), "", now) for n in names]


@pytest.fixture
def receiver() -> Iterator[CountingReceiver]:
    with CountingReceiver() as counting:
        yield counting


@pytest.fixture
def pg_url(postgres_server, tmp_path) -> str:  # noqa: F811 (the imported fixture)
    dbname = f"vigil_replicas_{tmp_path.name.lower().replace('-', '_')}"[:60]
    with postgres_server.connect(autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{dbname}"')
        conn.execute(f'CREATE DATABASE "{dbname}"')
    return (f"postgresql+psycopg://{postgres_server.user}:{postgres_server.password}"
            f"@127.0.0.1:{postgres_server.port}/{dbname}")


def _run(scenario: Callable[[], object]) -> None:
    async def main() -> None:
        try:
            await scenario()
        finally:
            for task in asyncio.all_tasks() - {asyncio.current_task()}:
                task.cancel()
    asyncio.run(main())


GROUPS = [f"Alert{i:02d}" for i in range(20)]


def test_alerts_posted_to_both_replicas_notify_each_group_once(pg_url, receiver) -> None:

    async def scenario() -> None:
        a = Replica("a", pg_url, receiver, primary=True)
        b = Replica("b", pg_url, receiver, primary=False)
        a.start()
        b.start()
        a.alerting.put_alerts(_alerts(GROUPS))
        b.alerting.put_alerts(_alerts(GROUPS))
        b.dispatcher.put(_alerts(["OnlyOnB"]))  # a learns of it through sync
        await receiver.wait_for_count(21)
        await asyncio.sleep(1.5)  # anything doubled would arrive by now
        assert receiver.groups() == Counter({n: 1 for n in [*GROUPS, "OnlyOnB"]})
        assert len(receiver.ids()) == 21 and all(receiver.ids())  # every one has its own id
        assert a.sent() + b.sent() == 21  # the follower may help deliver
        assert b.enqueued == 0 and a.enqueued == 21  # but only the primary notifies
        # The follower holds every group too, ready to take over.
        assert len(b.dispatcher.groups()) == 21 and len(a.dispatcher.groups()) == 21

    _run(scenario)


def test_primary_switch_and_a_killed_replica_lose_nothing_and_double_nothing(pg_url, receiver) -> None:

    async def scenario() -> None:
        a = Replica("a", pg_url, receiver, primary=True, member_timeout_s=1.0)
        b = Replica("b", pg_url, receiver, primary=False, member_timeout_s=1.0)
        # a queues all 20 groups but delivers by hand: 5, then claims 10 more and dies.
        a.start(deliver=False)
        b.start(deliver=False)
        a.alerting.put_alerts(_alerts(GROUPS))
        b.alerting.put_alerts(_alerts(GROUPS))
        for _ in range(100):
            if a.store.outbox_pending_count() == 20:
                break
            await asyncio.sleep(0.05)
        assert a.store.outbox_pending_count() == 20
        async with httpx.AsyncClient() as client:
            assert await a.worker.deliver_due(client, limit=5) == 5
        held = a.store.outbox_claim("a", datetime.now(timezone.utc), member_timeout_s=1.0, limit=10)
        assert len(held) == 10
        a.kill()
        b.primary = True  # the lease moves: b's groups are all due at once
        b.tasks.append(asyncio.create_task(b.worker.run()))
        b.dispatcher.put(_alerts(["AfterSwitch"]))
        await receiver.wait_for_count(21)
        await asyncio.sleep(1.5)
        assert receiver.groups() == Counter({n: 1 for n in [*GROUPS, "AfterSwitch"]})
        assert b.sent() == 16  # the 5 never claimed, the 10 of the dead one, the new group
        assert b.store.outbox_pending_count() == 0

    _run(scenario)


def test_split_brain_still_notifies_each_group_once(pg_url, receiver) -> None:

    async def scenario() -> None:
        a = Replica("a", pg_url, receiver, primary=True)
        b = Replica("b", pg_url, receiver, primary=True)
        a.start()
        b.start()
        a.alerting.put_alerts(_alerts(GROUPS))
        b.alerting.put_alerts(_alerts(GROUPS))
        await receiver.wait_for_count(20)
        await asyncio.sleep(1.5)
        assert receiver.groups() == Counter({n: 1 for n in GROUPS})
        assert a.sent() + b.sent() == 20

    _run(scenario)


def test_two_workers_deliver_200_entries_once_each_spread_over_both(pg_url, receiver) -> None:

    async def scenario() -> None:
        a = Replica("a", pg_url, receiver, primary=True)
        b = Replica("b", pg_url, receiver, primary=False)
        now = datetime.now(timezone.utc)
        for i in range(200):
            a.store.outbox_add(group_key=f"g{i}", receiver="ops", integration="webhook/0",
                               payload={"groupLabels": {"alertname": f"N{i}"}}, firing=[f"fp{i}"],
                               resolved=[], now=now)
        a.start(dispatch=False)
        b.start(dispatch=False)
        await receiver.wait_for_count(200)
        await asyncio.sleep(0.5)
        assert len(receiver.received) == 200
        assert set(receiver.ids().values()) == {1}  # 200 distinct ids, each once
        assert set(receiver.ids()) == {e.notification_id for e in a.store.outbox_list(300)}
        assert a.sent() > 0 and b.sent() > 0 and a.sent() + b.sent() == 200
        assert a.store.outbox_pending_count() == 0

    _run(scenario)


def test_sync_merges_other_replicas_alerts_without_writing_them_back(pg_url, receiver) -> None:
    a = Replica("a", pg_url, receiver, primary=True)
    b = Replica("b", pg_url, receiver, primary=False)
    a.dispatcher.restore()
    b.dispatcher.restore()
    a.dispatcher.put(_alerts(["X", "Y"]))
    before, _ = a.store.alerts_changed_since(None)
    assert b.dispatcher.sync() == 2
    assert b.dispatcher.sync() == 0  # idempotent
    assert sorted(x.labels.get("alertname") for x in b.dispatcher.alerts()) == ["X", "Y"]
    after, _ = a.store.alerts_changed_since(None)
    assert [x.updated_at for _, x in after] == [x.updated_at for _, x in before]
    # A newer update on a reaches b; an older copy does not overwrite it.
    [x, _y] = _alerts(["X", "Y"])
    newer = Alert(x.labels, Labels({"summary": "changed"}), x.starts_at, x.ends_at, "",
                  x.updated_at + timedelta(seconds=5))
    a.dispatcher.put([newer])
    assert b.dispatcher.sync() == 1
    by_name = {x.labels.get("alertname"): x for x in b.dispatcher.alerts()}
    assert by_name["X"].annotations.get("summary") == "changed"


def test_a_silence_made_on_one_replica_holds_on_the_other_at_once(pg_url, receiver) -> None:
    a = Replica("a", pg_url, receiver, primary=True)
    b = Replica("b", pg_url, receiver, primary=False)
    b.dispatcher.restore()
    b.dispatcher.put(_alerts(["Noisy"]))
    now = datetime.now(timezone.utc)
    sid = a.silences.set(SilenceInput((Matcher.equal("alertname", "Noisy"),), now, now + timedelta(hours=1),
                                      "alice", "maintenance"))
    assert [s.id for s in b.silences.list()] == [sid]
    [view] = b.alerting.alerts()
    assert view.state == "suppressed" and view.silenced_by == (sid,)
    b.silences.expire(sid, author="bob")
    assert a.silences.get(sid).state(datetime.now(timezone.utc)) == "expired"
    # Without changes, sync costs one version read and re-reads nothing.
    assert not a.silences.sync() and not b.silences.sync()


def test_a_new_primary_holds_alerts_about_to_run_out_until_their_sender_can_resend(
        tmp_path, receiver) -> None:
    # The rules become primary a moment after the dispatcher: an alert projected to end in
    # that moment must not be notified resolved, then firing again.
    now = datetime(2026, 11, 22, 8, 0, tzinfo=timezone.utc)
    store = Store.open_in(str(tmp_path))
    primary = False
    dispatcher = Dispatcher(_config(receiver.url), store, external_url="http://vigil",
                            clock=lambda: now, tick_s=0.01, is_primary=lambda: primary)
    dispatcher.restore(grace_s=8)
    soon, gone, explicit = (
        Alert(Labels({"alertname": name}), Labels({}), now - timedelta(minutes=5), end, "",
              now - timedelta(seconds=1) if name != "Explicit" else end)
        for name, end in (("Soon", now + timedelta(seconds=2)), ("Gone", now - timedelta(seconds=1)),
                          ("Explicit", now + timedelta(seconds=2))))
    dispatcher.put([soon, gone, explicit])

    async def become_primary() -> None:
        nonlocal primary
        task = asyncio.create_task(dispatcher.run())
        await asyncio.sleep(0.05)
        ends = {a.labels.get("alertname"): a.ends_at for a in dispatcher.alerts()}
        assert ends["Soon"] == now + timedelta(seconds=2)  # a follower holds nothing
        primary = True
        await asyncio.sleep(0.05)
        task.cancel()

    asyncio.run(become_primary())
    ends = {a.labels.get("alertname"): a.ends_at for a in dispatcher.alerts()}
    assert ends == {"Soon": now + timedelta(seconds=8), "Gone": now - timedelta(seconds=1),
                    "Explicit": now + timedelta(seconds=2)}
    [group] = [g for g in dispatcher.groups() if g.labels.get("alertname") == "Soon"]
    assert next(iter(group.alerts.values())).ends_at == now + timedelta(seconds=8)
    assert dispatcher.hold_projected(now) == 0  # already held
