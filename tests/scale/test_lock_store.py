"""Rasa's Redis lock store between replicas: the stock race, and our atomic store without it.

Two store objects on one real Redis server stand for two Rasa replicas.
"""

from __future__ import annotations

import asyncio
import threading
import uuid
from typing import List

from rasa.core.lock_store import LockStore, RedisLockStore
from rasa.utils.endpoints import EndpointConfig

from bot.lock_store import AtomicRedisLockStore


def stores(port: int, kind: type = AtomicRedisLockStore) -> List[RedisLockStore]:
    return [kind(host="127.0.0.1", port=port, db=1) for _ in range(2)]


def test_the_stock_store_gives_two_replicas_the_same_ticket(redis_port):
    """Rasa's own steps, interleaved as two replicas can interleave them: both hold ticket 0."""
    first, second = stores(redis_port, RedisLockStore)
    conversation = uuid.uuid4().hex
    lock = first.get_or_create_lock(conversation)  # replica 1 reads ...
    mine = lock.issue_ticket(60)
    theirs = second.issue_ticket(conversation)  # ... replica 2 issues in between ...
    first.save_lock(lock)  # ... and replica 1 writes back what it read
    assert mine == theirs == 0
    assert not first.get_lock(conversation).is_locked(mine)
    assert not second.get_lock(conversation).is_locked(theirs)


def test_concurrent_replicas_never_share_a_ticket(redis_port):
    conversation = uuid.uuid4().hex
    tickets: List[int] = []
    guard = threading.Lock()

    def issue(store: AtomicRedisLockStore) -> None:
        for _ in range(100):
            ticket = store.issue_ticket(conversation, 60)
            with guard:
                tickets.append(ticket)

    threads = [threading.Thread(target=issue, args=(store,)) for store in stores(redis_port) * 2]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(tickets) == list(range(400))


def test_turns_of_one_conversation_never_overlap_across_replicas(redis_port):
    """Each replica runs its own event loop (a thread here); the lock serialises their turns."""
    conversation = uuid.uuid4().hex
    inside: List[int] = []
    overlaps: List[int] = []

    async def turns(store: AtomicRedisLockStore, name: int) -> None:
        for _ in range(15):
            async with store.lock(conversation, lock_lifetime=60, wait_time_in_seconds=0.01):
                inside.append(name)
                if len(inside) > 1:
                    overlaps.append(name)
                await asyncio.sleep(0.005)
                inside.remove(name)

    threads = [
        threading.Thread(target=asyncio.run, args=(turns(store, n),))
        for n, store in enumerate(stores(redis_port))
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert overlaps == []
    assert stores(redis_port)[0].get_lock(conversation) is None  # the last one out removed it


def test_cleanup_keeps_the_lock_while_another_replica_waits(redis_port):
    first, second = stores(redis_port)
    conversation = uuid.uuid4().hex
    mine = first.issue_ticket(conversation, 60)
    waiting = second.issue_ticket(conversation, 60)
    first.cleanup(conversation, mine)
    lock = second.get_lock(conversation)
    assert lock is not None and not lock.is_locked(waiting)


def test_it_is_built_from_the_endpoints_file(redis_port):
    kind = "bot.lock_store.AtomicRedisLockStore"
    config = EndpointConfig(url="127.0.0.1", type=kind, port=redis_port, db=1)

    store = LockStore.create(config)
    assert isinstance(store, AtomicRedisLockStore)
    assert store.issue_ticket(uuid.uuid4().hex) == 0
