"""Workers on two replicas sharing one database: each piece of work is done once.

Two ``Dispatcher`` objects (or two alert-worker rounds) on one real SQLite file stand for two
replicas; Rasa is the dispatch tests' ``FakeRasa`` and the provider their ``RecordingSender``.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any, Dict, List, Mapping

from sqlalchemy import select

from bot.alerts import run_once
from bot.channels.dispatch import Assistant, Dispatcher, Inbound
from bot.channels.http import Delivery
from bot.storage import inbox, leases, make_engine, make_session_factory
from bot.storage.migrate import upgrade
from tests.alerts.test_worker import T0, config, emergency
from tests.channels.test_dispatch import FakeRasa, RecordingSender

PATIENT = "447700900123"


def migrated(tmp_path) -> str:
    url = f"sqlite:///{tmp_path / 'aftercare.db'}"
    engine = make_engine(url)
    upgrade(engine)
    engine.dispose()
    return url


def test_a_replicas_replay_never_runs_a_turn_another_replica_is_running(tmp_path):
    url = migrated(tmp_path)

    async def scenario() -> None:
        rasa_a, rasa_b = FakeRasa(), FakeRasa()
        rasa_a.gate = asyncio.Event()
        replica_a = Dispatcher("whatsapp", database_url=url, sender=RecordingSender())
        replica_b = Dispatcher("whatsapp", database_url=url, sender=RecordingSender())
        await replica_a.accept([Inbound("wamid.1", PATIENT, text="hello")], Assistant(rasa_a))
        while not replica_a._tasks or not any("_drain" in repr(t) for t in replica_a._tasks):
            await asyncio.sleep(0.01)
        await asyncio.sleep(0.2)  # replica A holds the conversation and waits inside Rasa
        await replica_b.replay(Assistant(rasa_b))
        rasa_a.gate.set()
        await replica_a.drain()
        await replica_b.replay(Assistant(rasa_b))
        assert [m.text for m in rasa_a.received] == ["hello"]
        assert rasa_b.received == []

    asyncio.run(scenario())
    factory = make_session_factory(make_engine(url))
    with factory.begin() as session:
        statuses = [e.status for e in session.execute(select(inbox.InboxEntry)).scalars()]
    assert statuses == [inbox.INBOX_DONE]


class SlowSender(RecordingSender):
    """A provider call that takes a while, so the other replica's send pass runs meanwhile."""

    async def deliver(self, request: Mapping[str, Any]) -> Delivery:
        await asyncio.sleep(0.05)
        return await super().deliver(request)


def test_two_replicas_send_each_reply_once_and_in_order(tmp_path):
    url = migrated(tmp_path)
    senders = [SlowSender(), SlowSender()]
    replicas = [Dispatcher("whatsapp", database_url=url, sender=s) for s in senders]
    factory = make_session_factory(make_engine(url))
    with factory.begin() as session:
        requests = [{"recipient": PATIENT, "text": f"reply {n}"} for n in range(6)]
        inbox.enqueue_requests(session=session, channel="whatsapp", key="k", requests=requests)

    async def both() -> None:
        for _ in range(3):
            await asyncio.gather(*(replica.send_due() for replica in replicas))

    asyncio.run(both())
    delivered: List[Dict[str, Any]] = senders[0].delivered + senders[1].delivered
    assert sorted(r["text"] for r in delivered) == [f"reply {n}" for n in range(6)]
    for sender in senders:
        texts = [r["text"] for r in sender.delivered]
        assert texts == sorted(texts)


def test_a_claimed_alert_is_left_alone_by_the_other_replica(session_factory):
    emergency(session_factory)
    calls: List[str] = []
    senders = {"webhook": lambda cfg, message: calls.append("sent")}
    alerts = config(AFTERCARE_ALERT_WEBHOOK_URL="http://127.0.0.1:9/hook")
    # Replica A claims the alert and dies before recording the result: the claim stands ...
    from bot.alerts.worker import RoundReport, _claim

    assert len(_claim(session_factory, alerts, T0, RoundReport())) == 1
    # ... so replica B, a moment later, does not send it too ...
    assert run_once(session_factory, alerts, now=T0 + timedelta(seconds=5), senders=senders).delivered == []
    # ... and once the claim has run out, it is retried (at least once, never lost).
    later = run_once(session_factory, alerts, now=T0 + timedelta(minutes=10), senders=senders)
    assert len(later.delivered) == 1 and calls == ["sent"]


def test_a_lease_has_one_holder_until_it_expires(session_factory):
    def take(holder: str, seconds: int) -> bool:
        at = T0 + timedelta(seconds=seconds)
        return leases.acquire(session=session, name="job", holder=holder, ttl=timedelta(seconds=60), now=at)

    with session_factory.begin() as session:
        assert take("a", 0)
        assert not take("b", 0)
        assert take("a", 30)  # renewed: now until 90
        assert not take("b", 80)
        assert take("b", 91)  # a stopped renewing
        leases.release(session=session, name="job", holder="a")  # no longer a's: nothing happens
        assert not take("a", 92)
        leases.release(session=session, name="job", holder="b")
        assert take("a", 93)


def test_a_turn_longer_than_the_lease_keeps_it(tmp_path, monkeypatch):
    """The holder renews while Rasa works, so a slow turn is never taken over by a replay."""
    import bot.channels.dispatch as dispatch

    monkeypatch.setattr(dispatch, "LEASE_TTL", timedelta(seconds=0.5))
    monkeypatch.setattr(dispatch, "LEASE_RENEW_SECONDS", 0.1)
    url = migrated(tmp_path)

    async def scenario() -> None:
        rasa_a, rasa_b = FakeRasa(), FakeRasa()
        rasa_a.gate = asyncio.Event()
        replica_a = Dispatcher("whatsapp", database_url=url, sender=RecordingSender())
        replica_b = Dispatcher("whatsapp", database_url=url, sender=RecordingSender())
        await replica_a.accept([Inbound("wamid.1", PATIENT, text="hello")], Assistant(rasa_a))
        for _ in range(4):  # four lease lifetimes pass while replica A is inside Rasa
            await asyncio.sleep(0.5)
            await replica_b.replay(Assistant(rasa_b))
        rasa_a.gate.set()
        await replica_a.drain()
        assert [m.text for m in rasa_a.received] == ["hello"]
        assert rasa_b.received == []

    asyncio.run(scenario())


def _take_in_child(url: str, holder: str, results: Any) -> None:
    """What a forked Sanic worker does with a holder name its parent made before the fork."""
    factory = make_session_factory(make_engine(url))
    with factory.begin() as session:
        results.put(
            leases.acquire(session=session, name="send:whatsapp", holder=holder, ttl=timedelta(seconds=30))
        )


def test_a_holder_name_made_before_a_fork_is_not_shared_by_the_forked_worker(tmp_path):
    """Rasa builds its channels (and their lease holders) before Sanic forks its workers."""
    import multiprocessing

    url = migrated(tmp_path)
    holder = leases.holder_id("dispatch-whatsapp")
    factory = make_session_factory(make_engine(url))
    with factory.begin() as session:
        assert leases.acquire(session=session, name="send:whatsapp", holder=holder, ttl=timedelta(seconds=30))
    context = multiprocessing.get_context("fork")
    results = context.Queue()
    child = context.Process(target=_take_in_child, args=(url, holder, results))
    child.start()
    child.join(timeout=60)
    assert results.get(timeout=5) is False  # the parent holds it; the child is another holder
    with factory.begin() as session:
        assert leases.acquire(session=session, name="send:whatsapp", holder=holder, ttl=timedelta(seconds=30))
