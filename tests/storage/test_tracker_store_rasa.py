"""Rasa's own message processor on our tracker store: outages and hostile sender ids (trained model)."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from typing import List

import pytest
import yaml
from rasa.core.agent import Agent
from sqlalchemy import text

from bot.settings import PROJECT_ROOT
from bot.tracker_store import AftercareTrackerStore

pytestmark = pytest.mark.slow

RESPONSES = yaml.safe_load((PROJECT_ROOT / "domain.yml").read_text())["responses"]
DISCLAIMER_START = RESPONSES["utter_disclaimer"][0]["text"].split("{")[0]
MESSAGES = [
    "hello",
    "my skin is peeling, can I peel it off?",
    "can I wear makeup?",
    "when can I go in the sun?",
    "I broke out in pimples",
    "can I exercise?",
    "thank you",
]


def _stored_texts(store: AftercareTrackerStore, sender: str, type_name: str) -> List[str]:
    import json

    with store.engine.connect() as connection:
        rows = connection.execute(
            text("SELECT data FROM events WHERE sender_id = :s AND type_name = :t ORDER BY id"),
            {"s": sender, "t": type_name},
        )
        return [json.loads(data).get("text") for (data,) in rows]


def test_an_outage_in_the_middle_loses_no_turn_and_repeats_no_disclaimer(trained_model: Path, tmp_path):
    folder = tmp_path / "db"
    store = AftercareTrackerStore(host=f"sqlite:///{folder / 'aftercare.db'}")
    agent = Agent.load(str(trained_model), tracker_store=store)
    sender = "telegram:777"

    async def conversation() -> List[List[dict]]:
        replies = []
        for message in MESSAGES[:3]:
            replies.append(await agent.handle_text(message, sender_id=sender))
        store.engine.dispose()
        os.rename(folder, folder.with_name("db-away"))
        try:
            for message in MESSAGES[3:5]:
                replies.append(await agent.handle_text(message, sender_id=sender))
            assert store.has_unsaved(sender)
        finally:
            os.rename(folder.with_name("db-away"), folder)
        for message in MESSAGES[5:]:
            replies.append(await agent.handle_text(message, sender_id=sender))
        return replies

    replies = asyncio.run(conversation())
    assert replies[0], "the first message is answered (no action server here: knowledge answers are silent)"
    assert _stored_texts(store, sender, "user") == MESSAGES
    bot_texts = _stored_texts(store, sender, "bot")
    assert len([text_ for text_ in bot_texts if (text_ or "").startswith(DISCLAIMER_START)]) == 1


def test_an_unencodable_sender_id_gets_an_answer_and_the_process_lives(trained_model: Path, tmp_path):
    store = AftercareTrackerStore(host=f"sqlite:///{tmp_path / 'aftercare.db'}")
    agent = Agent.load(str(trained_model), tracker_store=store)
    replies = asyncio.run(agent.handle_text("my throat is swelling and I can't swallow", sender_id="\ud800"))
    assert replies  # the escalation reply; before, Rasa's session_scope called sys.exit(1)
