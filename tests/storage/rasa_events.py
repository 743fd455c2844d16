"""Rasa's SQL tracker store table, created by Rasa's own model, and rows written like Rasa writes them."""

from __future__ import annotations

import json
from typing import Any, Dict, Optional

from sqlalchemy import text
from sqlalchemy.engine import Engine


def create_rasa_events_table(engine: Engine) -> None:
    """Create ``events`` exactly as ``rasa.core.tracker_store.SQLTrackerStore`` does."""
    from rasa.core.tracker_store import SQLTrackerStore

    SQLTrackerStore.Base.metadata.create_all(engine)


def add_event(
    engine: Engine, sender_id: str, event: Dict[str, Any], *, timestamp: Optional[float] = None
) -> None:
    """Insert one event as ``SQLTrackerStore.save`` would (``data`` is the event's JSON)."""
    data = dict(event)
    if timestamp is not None:
        data["timestamp"] = timestamp
    intent = ((data.get("parse_data") or {}).get("intent") or {}).get("name")
    with engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO events (sender_id, type_name, timestamp, intent_name, action_name, data) "
                "VALUES (:sender_id, :type_name, :timestamp, :intent_name, :action_name, :data)"
            ),
            {
                "sender_id": sender_id,
                "type_name": data["event"],
                "timestamp": data.get("timestamp"),
                "intent_name": intent,
                "action_name": data.get("name") if data["event"] == "action" else None,
                "data": json.dumps(data),
            },
        )


def user(text_: str, intent: str, timestamp: float) -> Dict[str, Any]:
    return {
        "event": "user",
        "timestamp": timestamp,
        "text": text_,
        "parse_data": {"intent": {"name": intent, "confidence": 0.98}, "entities": [], "text": text_},
        "input_channel": "telegram",
    }


def bot(text_: str, timestamp: float) -> Dict[str, Any]:
    return {"event": "bot", "timestamp": timestamp, "text": text_, "data": {}, "metadata": {}}


def slot(name: str, value: Any, timestamp: float) -> Dict[str, Any]:
    return {"event": "slot", "timestamp": timestamp, "name": name, "value": value}


def action(name: str, timestamp: float) -> Dict[str, Any]:
    return {"event": "action", "timestamp": timestamp, "name": name, "policy": None, "confidence": 1.0}
