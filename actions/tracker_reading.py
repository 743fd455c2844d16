"""Read what the ``bot`` layer needs from a Rasa SDK tracker."""

from __future__ import annotations

import abc
from typing import Any, ClassVar, Dict, List, Mapping, Optional

from rasa_sdk import Action, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from bot.conversation import Outcome, Turn
from bot.names import DAYS_SINCE_PROCEDURE, LAST_TOPIC, PROCEDURE, TRIAGE_VERDICT
from bot.verdict import turn_key, verdict_for


def latest_turn_key(tracker: Tracker) -> str:
    """Return the key of the latest user message, computed as the safety policy computes it."""
    for event in reversed(tracker.events or []):
        if event.get("event") == "user":
            return turn_key(event.get("message_id"), event.get("timestamp"))
    return turn_key(None, None)


def _verdict(tracker: Tracker, key: str) -> Mapping[str, Any]:
    """Return the safety policy's verdict for this message.

    Without one (a model older than the verdict slot), an empty verdict: the action then
    records no triage flag of its own judging, because the policy is the only judge.
    """
    stored: Optional[Mapping[str, Any]] = verdict_for(tracker.get_slot(TRIAGE_VERDICT), key)
    return stored or {}


def turn_from_tracker(tracker: Tracker) -> Turn:
    """Build a :class:`Turn` from the latest user message, the policy's verdict and the slots."""
    latest: Dict[str, Any] = tracker.latest_message or {}
    days = tracker.get_slot(DAYS_SINCE_PROCEDURE)
    key = latest_turn_key(tracker)
    return Turn(
        conversation_id=tracker.sender_id,
        channel=tracker.get_latest_input_channel() or "unknown",
        text=str(latest.get("text") or ""),
        intent=(latest.get("intent") or {}).get("name"),
        triage=_verdict(tracker, key),
        days_since=int(days) if days is not None else None,
        procedure=tracker.get_slot(PROCEDURE),
        last_topic=tracker.get_slot(LAST_TOPIC),
        turn_key=key,
    )


def send(dispatcher: CollectingDispatcher, outcome: Outcome) -> None:
    """Dispatch each reply by response name with its values."""
    for reply in outcome.replies:
        dispatcher.utter_message(response=reply.response, **reply.values)


class TurnAction(Action, metaclass=abc.ABCMeta):
    """An adapter: hand the latest turn to one ``bot`` function, send its outcome, remember its topic.

    Abstract, so the SDK skips it; each action names itself with ``NAME`` and implements ``outcome``.
    """

    NAME: ClassVar[str] = ""

    def name(self) -> str:
        """Name the action (the domain's name for it)."""
        return self.NAME

    @abc.abstractmethod
    def outcome(self, turn: Turn) -> Outcome:
        """Decide the replies for ``turn`` (one call into ``bot``)."""

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[str, Any]
    ) -> List[Dict[str, Any]]:
        """Send the outcome's replies; remember the topic answered, for follow-up details."""
        outcome = self.outcome(turn_from_tracker(tracker))
        send(dispatcher, outcome)
        return [SlotSet(LAST_TOPIC, outcome.topic)] if outcome.topic else []
