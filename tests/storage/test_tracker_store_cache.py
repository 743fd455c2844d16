"""The tracker store's in-memory current session: used only while the stored rows are unchanged.

Real SQLite files; two store instances on one database stand for two Rasa workers or replicas.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import List

import pytest
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, BotUttered, UserUttered
from sqlalchemy import text
from sqlalchemy.pool import QueuePool

from bot.settings import PROJECT_ROOT
from bot.tracker_store import AftercareTrackerStore, engine_options


@pytest.fixture(scope="module")
def domain() -> Domain:
    return Domain.load(str(PROJECT_ROOT / "domain.yml"))


def _url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'conversations.db'}"


async def _turn(store: AftercareTrackerStore, sender: str, message: str) -> None:
    tracker = await store.get_or_create_tracker(sender)
    tracker.update(UserUttered(message, {"name": "greet", "confidence": 1.0}))
    tracker.update(BotUttered(f"reply to {message}"))
    tracker.update(ActionExecuted("action_listen"))
    await store.save(tracker)


def _stored_texts(store: AftercareTrackerStore, sender: str) -> List[str]:
    with store.engine.connect() as connection:
        rows = connection.execute(
            text("SELECT type_name, data FROM events WHERE sender_id = :s ORDER BY id"), {"s": sender}
        )
        return [data for type_name, data in rows if type_name == "user"]


def test_a_long_conversation_stores_every_event_once(tmp_path: Path, domain: Domain) -> None:
    store = AftercareTrackerStore(domain=domain, host=_url(tmp_path))

    async def run() -> None:
        for n in range(30):
            await _turn(store, "widget:long", f"message {n}")

    asyncio.run(run())
    tracker = asyncio.run(store.retrieve("widget:long"))
    assert tracker is not None
    with store.engine.connect() as connection:
        stored = connection.execute(
            text("SELECT count(*) FROM events WHERE sender_id = 'widget:long'")
        ).scalar()
    assert stored == len(tracker.events)
    assert [e.text for e in tracker.events if isinstance(e, UserUttered)] == [
        f"message {n}" for n in range(30)
    ]
    assert len(_stored_texts(store, "widget:long")) == 30


def test_a_turn_written_by_another_worker_is_read_not_hidden_by_memory(
    tmp_path: Path, domain: Domain
) -> None:
    first = AftercareTrackerStore(domain=domain, host=_url(tmp_path))
    second = AftercareTrackerStore(domain=domain, host=_url(tmp_path))

    async def run() -> None:
        await _turn(first, "widget:shared", "one")
        await _turn(second, "widget:shared", "two")  # the other worker takes the next message
        await _turn(first, "widget:shared", "three")

    asyncio.run(run())
    for store in (first, second):
        tracker = asyncio.run(store.retrieve("widget:shared"))
        assert tracker is not None
        assert [e.text for e in tracker.events if isinstance(e, UserUttered)] == ["one", "two", "three"]
    assert len(_stored_texts(first, "widget:shared")) == 3


def test_a_deleted_row_makes_the_store_read_the_conversation_again(tmp_path: Path, domain: Domain) -> None:
    store = AftercareTrackerStore(domain=domain, host=_url(tmp_path))
    asyncio.run(_turn(store, "widget:purged", "hello"))
    asyncio.run(_turn(store, "widget:purged", "again"))
    with store.engine.begin() as connection:
        connection.execute(
            text("DELETE FROM events WHERE sender_id = 'widget:purged' AND data LIKE '%\"hello\"%'")
        )
    tracker = asyncio.run(store.retrieve("widget:purged"))
    assert tracker is not None
    assert [e.text for e in tracker.events if isinstance(e, UserUttered)] == ["again"]


def test_sqlite_files_get_a_connection_pool_and_memory_databases_do_not() -> None:
    assert engine_options("sqlite:////tmp/x.db")["poolclass"] is QueuePool
    assert "poolclass" not in engine_options("sqlite://")
    assert "poolclass" not in engine_options("sqlite:///:memory:")
