"""Read what the ``bot`` layer needs from a Rasa SDK tracker."""

from __future__ import annotations

from typing import Any, Dict

from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from bot.conversation import Outcome, Turn
from bot.slots import DAYS_SINCE_PROCEDURE, LAST_TOPIC, PROCEDURE


def turn_from_tracker(tracker: Tracker) -> Turn:
    """Build a :class:`Turn` from the latest user message and the slots."""
    latest: Dict[str, Any] = tracker.latest_message or {}
    days = tracker.get_slot(DAYS_SINCE_PROCEDURE)
    return Turn(
        conversation_id=tracker.sender_id,
        channel=tracker.get_latest_input_channel() or "unknown",
        text=str(latest.get("text") or ""),
        intent=(latest.get("intent") or {}).get("name"),
        triage=latest.get("triage") or {},
        days_since=int(days) if days is not None else None,
        procedure=tracker.get_slot(PROCEDURE),
        last_topic=tracker.get_slot(LAST_TOPIC),
    )


def send(dispatcher: CollectingDispatcher, outcome: Outcome) -> None:
    """Dispatch each reply by response name with its values."""
    for reply in outcome.replies:
        dispatcher.utter_message(response=reply.response, **reply.values)
