"""Rasa's ticket locks on our database: several Sanic workers (or replicas) of one conversation.

Two store objects on one real database (a SQLite file, or PostgreSQL) stand for two worker
processes; each runs its own event loop in a thread.
"""

from __future__ import annotations

import asyncio
import threading
import uuid
from pathlib import Path
from typing import List

import pytest
from rasa.core.lock_store import LockStore
from rasa.utils.endpoints import EndpointConfig
from sqlalchemy import select

from bot.cli.run import runtime_endpoints
from bot.lock_store import (
    DatabaseLockStore,
    conversation_locks,
    lock_database_url,
    lock_key,
    lock_store_endpoint,
)
from bot.settings import Settings
from tests.database_fixtures import database_url, postgres_server  # noqa: F401


def stores(url: str) -> List[DatabaseLockStore]:
    return [DatabaseLockStore(url=url) for _ in range(2)]


def test_a_sqlite_database_keeps_its_locks_in_a_file_beside_it(tmp_path: Path):
    main = f"sqlite:///{tmp_path / 'aftercare.db'}"
    assert lock_database_url(main) == f"sqlite:///{tmp_path / 'aftercare-locks.db'}"
    postgres = "postgresql://aftercare:secret@localhost:5432/aftercare"
    assert lock_database_url(postgres) == postgres
    assert lock_database_url("sqlite://") == "sqlite://"


def test_concurrent_workers_never_share_a_ticket(database_url: str):  # noqa: F811
    conversation = uuid.uuid4().hex
    tickets: List[int] = []
    guard = threading.Lock()

    def issue(store: DatabaseLockStore) -> None:
        for _ in range(50):
            ticket = store.issue_ticket(conversation, 60)
            with guard:
                tickets.append(ticket)

    threads = [threading.Thread(target=issue, args=(store,)) for store in stores(database_url) * 2]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(tickets) == list(range(200))


def test_turns_of_one_conversation_never_overlap_across_workers(database_url: str):  # noqa: F811
    conversation = uuid.uuid4().hex
    inside: List[int] = []
    overlaps: List[int] = []
    order: List[int] = []

    async def turns(store: DatabaseLockStore, name: int) -> None:
        for _ in range(10):
            async with store.lock(conversation, lock_lifetime=60):
                inside.append(name)
                if len(inside) > 1:
                    overlaps.append(name)
                order.append(name)
                await asyncio.sleep(0.005)
                inside.remove(name)

    threads = [
        threading.Thread(target=asyncio.run, args=(turns(store, n),))
        for n, store in enumerate(stores(database_url))
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert overlaps == []
    assert sorted(order) == [0] * 10 + [1] * 10
    assert stores(database_url)[0].get_lock(conversation) is None  # the last one out removed it


def test_the_waiting_worker_is_served_next_and_expired_tickets_are_skipped(database_url: str):  # noqa: F811
    first, second = stores(database_url)
    conversation = uuid.uuid4().hex
    dead = first.issue_ticket(conversation, lock_lifetime=-1)  # a worker that died holding it
    mine = first.issue_ticket(conversation, 60)
    waiting = second.issue_ticket(conversation, 60)
    assert dead == 0
    lock = second.get_lock(conversation)
    assert lock is not None and not lock.is_locked(mine) and lock.is_locked(waiting)
    first.cleanup(conversation, mine)
    lock = second.get_lock(conversation)
    assert lock is not None and not lock.is_locked(waiting)
    second.cleanup(conversation, waiting)
    assert first.get_lock(conversation) is None


def test_the_table_holds_no_conversation_id(database_url: str):  # noqa: F811
    store = DatabaseLockStore(url=database_url)
    conversation = "whatsapp:+447700900123"
    store.issue_ticket(conversation, 60)
    with store.engine.connect() as connection:
        rows = connection.execute(select(conversation_locks)).all()
    assert [row.key for row in rows] == [lock_key(conversation)]
    assert "+4477" not in " ".join(f"{row.key} {row.tickets}" for row in rows)


def test_a_turn_still_runs_when_the_lock_database_is_gone(tmp_path: Path):
    path = tmp_path / "locks.db"
    store = DatabaseLockStore(url=f"sqlite:///{path}")
    store.engine.dispose()
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    path.write_bytes(b"not a database (test)\n" * 64)
    ran: List[str] = []

    async def turn() -> None:
        async with store.lock("patient-1"):
            ran.append("turn")

    asyncio.run(turn())
    assert ran == ["turn"]


def test_it_is_built_from_the_endpoints_file(tmp_path: Path):
    url = f"sqlite:///{tmp_path / 'locks.db'}"
    store = LockStore.create(EndpointConfig(url=url, type="bot.lock_store.DatabaseLockStore"))
    assert isinstance(store, DatabaseLockStore)
    assert store.issue_ticket(uuid.uuid4().hex) == 0


def test_several_workers_get_our_lock_store_unless_one_is_configured():
    assert lock_store_endpoint(None, 1) is None
    assert lock_store_endpoint(None, 2) == {"type": "bot.lock_store.DatabaseLockStore"}
    assert lock_store_endpoint({"type": "in_memory"}, 2) == {"type": "bot.lock_store.DatabaseLockStore"}
    redis = {"type": "bot.lock_store.AtomicRedisLockStore", "url": "redis"}
    assert lock_store_endpoint(redis, 2) == redis


@pytest.mark.parametrize("workers", ["1", "2"])
def test_make_run_writes_the_lock_store_its_workers_need(tmp_path: Path, workers: str):
    import yaml

    settings = Settings.from_env(
        {"AFTERCARE_VAR_DIR": str(tmp_path / "var"), "AFTERCARE_RASA_WORKERS": workers}
    )
    endpoints = yaml.safe_load(runtime_endpoints(settings).read_text())
    if workers == "1":
        assert "lock_store" not in endpoints
    else:
        assert endpoints["lock_store"] == {"type": "bot.lock_store.DatabaseLockStore"}
